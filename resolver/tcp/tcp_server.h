#pragma once

// The Handle protocol over TCP (the same port as UDP, 2641 by default): each message is the
// 20-byte envelope and the whole message, no pieces. A connection stays open after each reply,
// whatever the request's KC (keep connection) flag says, until the client closes it, an error, or
// a timeout: the national SDKs open one connection and send every request on it without KC, and
// their connection pools keep idle connections for 600 s. A client may send several requests at
// once; they are answered in order.
//
// Built on Boost.Asio: `workers` threads, each running its own io_context with its own read
// transaction (renewed per burst of requests, reset while waiting), scratch space and counters;
// accepted connections are dealt to the least loaded worker and stay on it.
//
// Bounds, so that open connections cannot be used to exhaust the node (each refusal is counted
// in TcpStats):
//   - replies: a connection's unsent replies are bounded by `max_pending_reply_bytes` (beyond the
//     kernel's socket buffer): the node stops answering, and so reading, that connection's
//     requests until the client has taken them (`read_pauses`); replies the client does not take
//     within `write_timeout` close it (`write_timeouts`);
//   - requests: a request must arrive whole within `request_timeout` of its first byte
//     (`request_timeouts`); one whose envelope announces more than `max_message_bytes` is not
//     read and closes the connection (counted as dropped);
//   - idle: a connection with no complete request for `idle_timeout` is closed (`idle_closed`);
//     bytes that do not complete a request do not count as activity. Timeouts are checked every
//     quarter of the shortest, so a connection may live up to 1.25 x its timeout;
//   - connections: at most `max_connections` open at once (one more for a moment while the
//     connection giving way closes). A newcomer beyond that makes another give way (`evicted`),
//     from a source address holding at least as many connections as the newcomer's (so a flood
//     from a few addresses displaces itself, not the clients of others): the oldest that has not
//     completed a request yet, else the one idle longest (the oldest last complete request); with
//     none, the newcomer is closed (`rejected`). So a client that keeps asking keeps its
//     connection, and a new one from a light source is served, however many others are opened;
//     one source address holds at most `max_per_source_percent` of `max_connections` and further
//     connections from it are closed at once (`source_rejected`).
// A request that cannot be framed or decoded as far as its header closes the connection, as its
// byte stream can no longer be trusted.
//
// Thread-safe: Bind/Start/Stop from one thread; counters() and stats() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/base/stats_table.h"
#include "registry/store/store.h"
#include "resolver/net/endpoint.h"
#include "resolver/net/worker_thread.h"
#include "resolver/query/query.h"
#include "resolver/query/tally.h"

namespace idnode::tcp {

struct TcpOptions {
  net::Endpoint listen{0x7f000001, 2641};  // port 0 picks one
  int workers = 2;
  size_t max_connections = 1024;
  size_t max_per_source_percent = 25;    // of max_connections, at least 1 connection
  size_t max_message_bytes = 64 * 1024;  // the largest request read
  size_t max_pending_reply_bytes = 64 * 1024;
  std::chrono::milliseconds idle_timeout{600'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};
  int realtime_priority = 0;  // SCHED_FIFO priority of the workers; 0: off
};

struct TcpStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;         // closed at accept: the worker had no connection to give way
  uint64_t source_rejected = 0;  // closed at accept: its source address held its share
  uint64_t evicted = 0;          // gave way to a newcomer at max_connections
  uint64_t idle_closed = 0;
  uint64_t request_timeouts = 0;
  uint64_t write_timeouts = 0;
  uint64_t read_pauses = 0;  // times a connection's reading stopped for its unsent replies
  uint64_t open = 0;
};

inline constexpr MetricFamily kTcpAccepted{"idnode_tcp_connections_accepted_total",
                                           MetricType::kCounter,
                                           "Handle TCP connections accepted."};
inline constexpr MetricFamily kTcpRejected{
    "idnode_tcp_connections_rejected_total", MetricType::kCounter,
    "Handle TCP connections closed at once: over the cap with none to give way."};
inline constexpr MetricFamily kTcpIdleClosed{
    "idnode_tcp_connections_idle_closed_total", MetricType::kCounter,
    "Handle TCP connections closed after the idle timeout."};
inline constexpr MetricFamily kTcpClosed{
    "idnode_tcp_connections_closed_total", MetricType::kCounter,
    "Handle TCP connections the node closed to keep its bounds, by reason: evicted (gave way to "
    "a newcomer at the cap), source_share (its source address held its share), request_timeout "
    "(a request did not arrive whole in time), write_timeout (the client did not take its "
    "replies in time)."};
inline constexpr MetricFamily kTcpReadPauses{
    "idnode_tcp_read_pauses_total", MetricType::kCounter,
    "Times the node stopped reading a Handle TCP connection until the client took its replies."};
inline constexpr MetricFamily kTcpOpen{"idnode_tcp_connections_open", MetricType::kGauge,
                                       "Handle TCP connections open now."};
inline constexpr StatRow<TcpStats> kTcpStatRows[] = {
    Stat<&TcpStats::accepted>(kTcpAccepted),
    Stat<&TcpStats::rejected>(kTcpRejected),
    Stat<&TcpStats::idle_closed>(kTcpIdleClosed),
    Stat<&TcpStats::evicted>(kTcpClosed, {"reason", "evicted"}),
    Stat<&TcpStats::source_rejected>(kTcpClosed, {"reason", "source_share"}),
    Stat<&TcpStats::request_timeouts>(kTcpClosed, {"reason", "request_timeout"}),
    Stat<&TcpStats::write_timeouts>(kTcpClosed, {"reason", "write_timeout"}),
    Stat<&TcpStats::read_pauses>(kTcpReadPauses),
    Stat<&TcpStats::open>(kTcpOpen),
};

class TcpServer {
 public:
  // Binds and listens (UNAVAILABLE naming the address when it cannot). No thread runs until
  // Start.
  static absl::StatusOr<std::unique_ptr<TcpServer>> Bind(const TcpOptions& options);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Starts accepting and the workers, named handle-tcp-N. `store` and `processor` must outlive
  // the server. PERMISSION_DENIED when realtime_priority is set and the process may not use it
  // (the workers already started keep running until Stop).
  absl::Status Start(store::Store& store, const query::QueryProcessor& processor);
  uint16_t port() const;
  // Closes the listener: no new connections; those open are still served. Idempotent.
  void StopAccepting();
  // Stops accepting, closes every connection and joins the workers. Idempotent.
  void Stop();
  // The sum of every worker's counters, as last published (after each burst of requests).
  query::QueryCounters counters() const;
  // Calls fn(prefix, counts) with per enterprise prefix totals, once per worker that counted
  // the prefix: add them up. Any thread.
  void ForEachPrefix(
      const std::function<void(std::string_view, const query::QueryCounters&)>& fn) const;
  TcpStats stats() const;
  // The workers' own failures (net/worker_thread.h). Any thread.
  net::WorkerHealthStats health() const;
  const ExceptionGuard& guard() const;

  struct Impl;  // defined in the .cc only, so Asio stays out of this header

 private:
  explicit TcpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idnode::tcp
