#pragma once

// The Handle protocol over UDP (port 2641 by default): one socket per worker thread bound with
// SO_REUSEPORT, requests taken in batches with recvmmsg and replies sent with sendmmsg. Each
// worker owns its read transaction (renewed once per batch, reset while it waits), its buffers,
// its rate table and its counters, so workers share nothing on the hot path.
//
// Replies above 512 bytes go out as 492-byte pieces with the truncated flag (wire::SplitForUdp).
// A reply larger than max_reply_bytes is not sent; the client gets an error naming the limit
// instead (amplification bound: a small request cannot make the node send much). Multi-packet
// requests are reassembled within fixed bounds (RequestReassembler: up to 16 KiB, 32 pending
// per worker, 2 s); pieces that cannot be used, and requests whose pieces do not all arrive in
// time, are dropped and counted.
//
// Per-source rate limit (rate_limit > 0): a token bucket per source IPv4 address (per /64 for
// IPv6), `rate_limit` requests a second with bursts of `rate_burst`, kept in a fixed table per
// worker (no allocation, a new source may evict an old one, which only makes the limit more
// lenient). Requests over the limit are dropped without a reply, so a spoofed flood is not
// reflected, and counted. The kernel
// spreads one source's ports over the workers, so a source using many ports can get up to
// workers x rate_limit.
//
// Thread-safe: Bind/Start/Stop from one thread; counters() from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "resolver/net/endpoint.h"
#include "resolver/net/worker_thread.h"
#include "resolver/query/query.h"
#include "resolver/query/tally.h"

namespace idnode::udp {

struct UdpOptions {
  net::Endpoint listen{0x7f000001, 2641};  // port 0 picks one
  int workers = 2;
  int batch = 32;                      // datagrams per recvmmsg
  size_t max_reply_bytes = 16 * 1024;  // larger replies are refused with an error
  uint32_t rate_limit = 0;             // requests per second per source address; 0: off
  uint32_t rate_burst = 0;             // bucket size; 0: 2 x rate_limit
  int realtime_priority = 0;           // SCHED_FIFO priority of the workers; 0: off
};

class UdpServer {
 public:
  // Binds every worker's socket (UNAVAILABLE naming the address when it cannot). No thread
  // runs until Start.
  static absl::StatusOr<std::unique_ptr<UdpServer>> Bind(const UdpOptions& options);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Starts the workers, named handle-udp-N. `store` and `processor` must outlive the server.
  // PERMISSION_DENIED when realtime_priority is set and the process may not use it (the
  // workers already started keep running until Stop).
  absl::Status Start(store::Store& store, const query::QueryProcessor& processor);
  uint16_t port() const { return port_; }
  // Stops the workers and keeps the sockets open, so that replies still owed (recursion) can be
  // sent. Idempotent.
  void StopReading();
  // StopReading, then closes the sockets (a recursion reply still holding one closes it when it
  // is done). Idempotent.
  void Stop();
  // The sum of every worker's counters, as last published (after each batch).
  query::QueryCounters counters() const;
  // Calls fn(prefix, counts) with per enterprise prefix totals, once per worker that counted
  // the prefix: add them up. Any thread.
  void ForEachPrefix(
      const std::function<void(std::string_view, const query::QueryCounters&)>& fn) const;
  // The workers' own failures (net/worker_thread.h). Any thread, after Bind.
  net::WorkerHealthStats health() const { return health_->stats(); }
  const ExceptionGuard& guard() const { return health_->guard(); }

 private:
  struct Worker;
  struct Loop;
  UdpServer() = default;
  void Run(Worker& worker, size_t index);
  void RunLoop(Worker& worker, size_t index);
  void HandleDatagram(Worker& worker, Loop& loop, const store::ReadTxn& txn, size_t i,
                      uint64_t now_ms);

  UdpOptions options_;
  store::Store* store_ = nullptr;
  const query::QueryProcessor* processor_ = nullptr;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  // Shared with the recursion replies in flight, which count their failed sends here.
  std::shared_ptr<net::WorkerHealth> health_;
};

}  // namespace idnode::udp
