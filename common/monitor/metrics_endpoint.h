// An HTTP endpoint that serves the latest metrics text at GET /metrics, for
// Prometheus to scrape (the coordinator publishes after every step).
//
// One Boost.Asio thread serves every connection: a request must arrive whole
// within 5 s and within 8 KiB, or the connection is closed; each answer closes
// its connection (HTTP/1.1 "Connection: close"). GET /metrics -> 200 with the
// published text; GET / -> a pointer to /metrics; other paths -> 404; other
// methods -> 405. Scrapes are rare and small, so one thread is plenty and a
// slow client cannot hold it (reads and writes are asynchronous).
//
// Thread-safety: Publish() and port() from any thread. The destructor stops
// the thread and closes every connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace prlm::monitor {

class MetricsEndpoint {
 public:
  // Binds host:port (port 0: a free one) and starts serving. Throws
  // util::Error naming the address when it cannot bind.
  MetricsEndpoint(const std::string& host, uint16_t port);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Replaces the text later scrapes get.
  void Publish(std::string text);
  uint16_t port() const;
  // Scrapes answered so far (GET /metrics with 200).
  uint64_t scrapes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::monitor
