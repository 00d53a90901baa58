#include "common/monitor/metrics_endpoint.h"

#include <utility>  // before Asio's coroutine headers (Boost 1.74 + g++ 12)

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/util/check.h"

namespace prlm::monitor {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr auto kRequestTimeout = std::chrono::seconds(5);

std::string HttpResponse(const char* status, const char* content_type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct MetricsEndpoint::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mu;
  std::string text;  // guarded by mu
  std::atomic<uint64_t> scrapes{0};

  std::string Answer(const std::string& request) {
    // The request line: METHOD SP PATH SP VERSION.
    const size_t eol = request.find("\r\n");
    const std::string line = request.substr(0, eol);
    const size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos)
      return HttpResponse("400 Bad Request", "text/plain", "malformed request line\n");
    const std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    if (method != "GET" && method != "HEAD") return HttpResponse("405 Method Not Allowed", "text/plain", "GET only\n");
    if (path == "/metrics") {
      std::string body;
      {
        std::lock_guard<std::mutex> lock(mu);
        body = text;
      }
      ++scrapes;
      return HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", method == "HEAD" ? "" : body);
    }
    if (path == "/") return HttpResponse("200 OK", "text/plain", "prlm training job: metrics at /metrics\n");
    return HttpResponse("404 Not Found", "text/plain", "no such path: " + path + " (metrics are at /metrics)\n");
  }

  asio::awaitable<void> Serve(std::shared_ptr<tcp::socket> socket) {
    // A slow client is cut off: the timer closes its socket, which ends the read.
    auto deadline = std::make_shared<asio::steady_timer>(io, kRequestTimeout);
    deadline->async_wait([socket](boost::system::error_code ec) {
      if (!ec) socket->close(ec);
    });
    boost::system::error_code ec;
    std::string request;
    co_await asio::async_read_until(*socket, asio::dynamic_buffer(request, kMaxRequestBytes), "\r\n\r\n",
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {  // otherwise: closed early, too slow, or over kMaxRequestBytes
      const std::string response = Answer(request);
      co_await asio::async_write(*socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
      socket->shutdown(tcp::socket::shutdown_both, ec);
    }
    deadline->cancel();
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;  // e.g. too many open files: keep serving the next
      asio::co_spawn(io, Serve(std::make_shared<tcp::socket>(std::move(socket))), asio::detached);
    }
  }
};

MetricsEndpoint::MetricsEndpoint(const std::string& host, uint16_t port) : impl_(std::make_unique<Impl>()) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  PRLM_REQUIRE(!ec, "metrics endpoint: '" << host << "' is not an IP address");
  const tcp::endpoint where(address, port);
  impl_->acceptor.open(where.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(where, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  PRLM_REQUIRE(!ec, "metrics endpoint: cannot listen on " << host << ":" << port << ": " << ec.message());
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

MetricsEndpoint::~MetricsEndpoint() {
  impl_->io.stop();
  impl_->thread.join();
}

void MetricsEndpoint::Publish(std::string text) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->text = std::move(text);
}

uint16_t MetricsEndpoint::port() const { return impl_->acceptor.local_endpoint().port(); }
uint64_t MetricsEndpoint::scrapes() const { return impl_->scrapes.load(); }

}  // namespace prlm::monitor
