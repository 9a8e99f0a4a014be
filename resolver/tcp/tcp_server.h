#pragma once

// The Handle protocol over TCP (the same port as UDP, 2641 by default): each message is the
// 20-byte envelope and the whole message, no pieces. A connection carries one request and is
// closed after the reply unless the request sets KC (keep connection), in which case the client
// may send more, including several at once (they are answered in order, written together).
//
// Built on Boost.Asio: `workers` threads, each running its own io_context with its own read
// transaction (renewed per burst of requests, reset while waiting), scratch space and counters;
// accepted connections are dealt to the workers in turn and stay on theirs.
//
// Limits: at most `max_connections` open at once (more are accepted and closed at once, and
// counted); a request whose envelope announces more than `max_message_bytes` is not read, the
// connection is closed and the request counted as dropped; a connection with no complete read or
// write for `idle_timeout` is closed (checked every quarter of the timeout, so it may live up to
// 1.25 x the timeout). A request that cannot be framed or decoded as far as its header closes
// the connection, as its byte stream can no longer be trusted.
//
// Thread-safe: Bind/Start/Stop from one thread; counters() and stats() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "resolver/net/endpoint.h"
#include "resolver/query/query.h"
#include "resolver/query/tally.h"

namespace idnode::resolver {

struct TcpOptions {
  net::Ipv4Endpoint listen{0x7f000001, 2641};  // port 0 picks one
  int workers = 2;
  size_t max_connections = 1024;
  size_t max_message_bytes = 64 * 1024;  // the largest request read
  std::chrono::milliseconds idle_timeout{30'000};
  int realtime_priority = 0;  // SCHED_FIFO priority of the workers; 0: off
};

struct TcpStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;  // over max_connections
  uint64_t idle_closed = 0;
  uint64_t open = 0;
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
  absl::Status Start(store::Store& store, const QueryProcessor& processor);
  uint16_t port() const;
  // Stops accepting, closes every connection and joins the workers. Idempotent.
  void Stop();
  // The sum of every worker's counters, as last published (after each burst of requests).
  QueryCounters counters() const;
  // Calls fn(prefix, counts) with per enterprise prefix totals, once per worker that counted
  // the prefix: add them up. Any thread.
  void ForEachPrefix(const std::function<void(std::string_view, const QueryCounters&)>& fn) const;
  TcpStats stats() const;

  struct Impl;  // defined in the .cc only, so Asio stays out of this header

 private:
  explicit TcpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idnode::resolver
