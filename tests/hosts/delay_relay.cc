// Latency for the simulated hosts (hosts.sh delay): this machine's kernel
// has no netem, so a host's outgoing TCP connections are redirected
// (nftables `redirect` in the host's nat output chain) to this relay, which
// opens the connection the program asked for and holds every chunk it
// forwards, in each direction, for DELAY_MS before writing it on.
//
//   prlm_delay_relay PORT DELAY_MS MARK
//
// The original destination comes from conntrack (SO_ORIGINAL_DST); the
// relay's own connections carry fwmark MARK, which the nftables rule skips.
// Order and bytes are kept; an end of stream is passed on (half-close) after
// the same delay. One line per connection on stderr; SIGTERM ends it.
// A test tool: not part of prlm.
#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

// One direction of a connection: chunks read from `from`, written to `to`
// DELAY after they were read. An empty chunk is the end of stream.
class DelayedPipe {
 public:
  DelayedPipe(int from, int to, std::chrono::milliseconds delay) : from_(from), to_(to), delay_(delay) {}

  void Run() {
    std::thread writer([this] { Write(); });
    Read();
    writer.join();
  }

 private:
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };

  void Read() {
    char buffer[65536];
    while (true) {
      const ssize_t n = read(from_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      Push(n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string());
      if (n <= 0) return;  // end of stream or error: the writer passes it on
    }
  }

  void Push(std::string bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({Clock::now() + delay_, std::move(bytes)});
    ready_.notify_one();
  }

  void Write() {
    while (true) {
      Chunk chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      std::this_thread::sleep_until(chunk.due);
      if (chunk.bytes.empty()) {
        shutdown(to_, SHUT_WR);
        return;
      }
      for (size_t done = 0; done < chunk.bytes.size();) {
        const ssize_t n = write(to_, chunk.bytes.data() + done, chunk.bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {  // the other side is gone: stop reading from this one too
          shutdown(from_, SHUT_RD);
          Drain();
          return;
        }
        done += static_cast<size_t>(n);
      }
    }
  }

  // After a failed write: consume what the reader still queues, up to its end.
  void Drain() {
    while (true) {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return !queue_.empty(); });
      const bool end = queue_.front().bytes.empty();
      queue_.pop_front();
      if (end) return;
    }
  }

  const int from_, to_;
  const std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Chunk> queue_;
};

void Relay(int client, std::chrono::milliseconds delay, int mark) {
  sockaddr_in original{};
  socklen_t length = sizeof original;
  if (getsockopt(client, SOL_IP, SO_ORIGINAL_DST, &original, &length) != 0) {
    std::fprintf(stderr, "delay_relay: no original destination: %s\n", std::strerror(errno));
    close(client);
    return;
  }
  char address[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &original.sin_addr, address, sizeof address);
  const int server = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(server, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
  setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The connection itself takes the delay too (a SYN's round trip).
  std::this_thread::sleep_for(delay);
  if (connect(server, reinterpret_cast<sockaddr*>(&original), sizeof original) != 0) {
    std::fprintf(stderr, "delay_relay: %s:%d: %s\n", address, ntohs(original.sin_port), std::strerror(errno));
    close(server);
    close(client);
    return;
  }
  std::fprintf(stderr, "delay_relay: %s:%d relayed, %lld ms each way\n", address, ntohs(original.sin_port),
               static_cast<long long>(delay.count()));
  DelayedPipe up(client, server, delay), down(server, client, delay);
  std::thread back([&down] { down.Run(); });
  up.Run();
  back.join();
  close(server);
  close(client);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: prlm_delay_relay PORT DELAY_MS MARK\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::chrono::milliseconds delay(std::atoll(argv[2]));
  const int mark = std::atoi(argv[3]);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(static_cast<uint16_t>(port));
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(listener, 128) != 0) {
    std::fprintf(stderr, "delay_relay: port %d: %s\n", port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "delay_relay: on port %d, %lld ms each way\n", port, static_cast<long long>(delay.count()));
  while (true) {
    const int client = accept(listener, nullptr, nullptr);
    if (client < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "delay_relay: accept: %s\n", std::strerror(errno));
      return 1;
    }
    std::thread(Relay, client, delay, mark).detach();
  }
}
