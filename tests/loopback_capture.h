// What crossed the loopback interface while a test ran: a packet capture
// (an AF_PACKET socket on "lo", as tcpdump opens) that keeps the TCP
// payloads, so a test can ask whether a job's services showed personal text
// to anyone who can capture traffic. Local addresses other than 127.0.0.1
// route through "lo" too, so a job's services are seen whatever address
// they bind.
//
// Needs CAP_NET_RAW (root): Start() returns false with the reason otherwise.
// Packets of every process on the machine are captured; a test picks its
// own by port (Payload). Thread-safety: Start/Stop/Payload from one thread.
#pragma once

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace prlm::testing {

class LoopbackCapture {
 public:
  ~LoopbackCapture() { Stop(); }

  // Starts capturing; false (with *why) when the socket cannot be had.
  bool Start(std::string* why) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd_ < 0) {
      *why = std::string("no packet socket (needs root / CAP_NET_RAW): ") + std::strerror(errno);
      return false;
    }
    int buffer = 64 << 20;  // a burst must not overflow it: drops are counted and reported
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
      *why = std::string("cannot bind the packet socket to lo: ") + std::strerror(errno);
      return false;
    }
    thread_ = std::thread([this] { Loop(); });
    return true;
  }

  // Stops; returns how many packets the kernel dropped (0: nothing missed).
  unsigned Stop() {
    if (!thread_.joinable()) return drops_;
    stop_ = true;
    thread_.join();
    tpacket_stats stats{};
    socklen_t len = sizeof stats;
    if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) drops_ += stats.tp_drops;
    ::close(fd_);
    return drops_;
  }

  // The TCP payload bytes of every packet from or to one of `ports`, in order.
  std::string Payload(const std::set<uint16_t>& ports) const {
    std::string out;
    for (const auto& s : segments_)
      if (ports.count(s.source_port) || ports.count(s.destination_port)) out += s.bytes;
    return out;
  }

 private:
  struct Segment {
    uint16_t source_port, destination_port;
    std::string bytes;
  };

  void Loop() {
    std::vector<unsigned char> packet(1 << 17);
    pollfd p{fd_, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_ll from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      // On lo each packet shows twice, leaving and arriving: keep one.
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      Keep(packet.data(), static_cast<size_t>(n));
    }
  }

  // Ethernet (lo's zero addresses), IPv4 or IPv6, TCP: the payload.
  void Keep(const unsigned char* p, size_t n) {
    if (n < sizeof(ether_header)) return;
    const uint16_t type = ntohs(reinterpret_cast<const ether_header*>(p)->ether_type);
    p += sizeof(ether_header);
    n -= sizeof(ether_header);
    size_t ip_bytes = 0;
    if (type == ETHERTYPE_IP && n >= 20 && (p[0] >> 4) == 4 && p[9] == IPPROTO_TCP)
      ip_bytes = (p[0] & 15u) * 4;
    else if (type == ETHERTYPE_IPV6 && n >= 40 && p[6] == IPPROTO_TCP)
      ip_bytes = 40;  // the services add no IPv6 extension headers
    if (ip_bytes == 0 || n < ip_bytes + 20) return;
    p += ip_bytes;
    n -= ip_bytes;
    const size_t tcp_bytes = (p[12] >> 4) * 4u;
    if (n <= tcp_bytes) return;
    segments_.push_back({static_cast<uint16_t>(p[0] << 8 | p[1]), static_cast<uint16_t>(p[2] << 8 | p[3]),
                         std::string(reinterpret_cast<const char*>(p + tcp_bytes), n - tcp_bytes)});
  }

  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<Segment> segments_;  // written by the loop, read after Stop
  unsigned drops_ = 0;
};

}  // namespace prlm::testing
