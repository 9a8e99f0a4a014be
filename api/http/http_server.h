#pragma once

// A small HTTP/1.1 server for the node's operator endpoints (/metrics, /api/stats, /healthz,
// /dashboard), built on Boost.Beast. One thread runs one io_context; the handler runs on it, so
// it must be quick (each endpoint reads the store in one read transaction). Nothing here is on
// the resolution path.
//
// Only GET and HEAD are served (others get 405); a request has at most `max_header_bytes` of
// header and no body; a path or parameter that is not printable UTF-8 gets 400. A connection
// that does not deliver a whole request within `timeout` of its first byte (however it trickles),
// or stays idle that long between keep-alive requests, is closed. At most `max_connections` are
// open at once and at most `max_per_source` from one source (an IPv4 address, an IPv6 /64): a
// newcomer from a source at its share takes the place of that source's least recently active
// connection; at the cap, of the least recently active connection of a source holding more than
// the newcomer's would, else of one holding as many; with none, the newcomer is closed. So clients
// that open connections and trickle cannot keep a monitor out of /healthz. A handler that throws
// answers 500; nothing a client sent reaches the log unescaped.
//
// Thread-safe: Bind/Start/Stop from one thread; port() and stats() from any.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/base/exception_guard.h"
#include "registry/base/stats_table.h"
#include "resolver/net/endpoint.h"

namespace idnode::http {

struct Request {
  std::string method;  // "GET" or "HEAD" (others never reach the handler)
  std::string path;    // the target up to '?', percent-decoded
  std::map<std::string, std::string, std::less<>> query;  // decoded; the last of repeated keys

  // The value of query parameter `name`, or nullptr.
  const std::string* Param(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;

  static Response Text(unsigned status, std::string body);
  static Response Json(unsigned status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

struct HttpOptions {
  net::Endpoint listen{0x7f000001, 2643};  // port 0 picks one
  size_t max_connections = 64;
  size_t max_per_source = 16;
  size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds timeout{10'000};
};

struct HttpStats {
  uint64_t requests = 0;  // answered by the handler
  uint64_t refused = 0;   // malformed or oversized requests, methods other than GET/HEAD
  uint64_t rejected = 0;  // connections closed at accept: at the cap, none could give way
  uint64_t evicted = 0;   // connections closed to make room for a newcomer
  uint64_t timeouts = 0;  // connections closed because a request did not arrive whole in time
  uint64_t open = 0;      // connections holding a place now
};

inline constexpr MetricFamily kHttpRequests{"idnode_http_requests_total", MetricType::kCounter,
                                            "Requests answered on this HTTP port."};
inline constexpr MetricFamily kHttpClosed{
    "idnode_http_connections_closed_total", MetricType::kCounter,
    "HTTP connections the node closed to keep its bounds, by reason: evicted (gave way to a "
    "newcomer), rejected (a newcomer at the cap for which none could give way), request_timeout "
    "(a request did not arrive whole in time)."};
inline constexpr StatRow<HttpStats> kHttpStatRows[] = {
    Stat<&HttpStats::requests>(kHttpRequests),
    Stat<&HttpStats::evicted>(kHttpClosed, {"reason", "evicted"}),
    Stat<&HttpStats::rejected>(kHttpClosed, {"reason", "rejected"}),
    Stat<&HttpStats::timeouts>(kHttpClosed, {"reason", "request_timeout"}),
};

// Splits "/a%20b?x=1&y=%2F" into path and decoded parameters ('+' is a space in the query).
// INVALID_ARGUMENT for a malformed percent escape, or a decoded path, name or value that is not
// printable UTF-8.
absl::StatusOr<Request> ParseTarget(std::string_view method, std::string_view target);

class HttpServer {
 public:
  // Binds and listens (UNAVAILABLE naming the address when it cannot); no thread runs until
  // Start.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Bind(const HttpOptions& options,
                                                          Handler handler);
  ~HttpServer();  // Stop()

  void Start();
  // Closes the listener and every connection and joins the thread. Idempotent.
  void Stop();

  int port() const;
  HttpStats stats() const;
  // The server thread's catch-all: a handler that throws gets 500 and is counted here.
  const ExceptionGuard& guard() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idnode::http
