#pragma once

// Recursion on a secondary node (federation.recursion): a Handle request with REC for a handle
// this node does not host is resolved on the client's behalf. The query processor defers such a
// request (resolver/query) and the front end hands it here with where its reply goes; a small
// pool of threads walks from the top node as a Handle client does (resolver/client/walk.h),
// sending the request's recursion count + 1 so that a loop between misconfigured nodes reaches
// the limit (RC 6) instead of going round, keeps the answer in the cache for its TTL, and
// builds the reply through the processor.
//
// What is cached: a value list (all public values of the handle, whatever the client filtered:
// the filters apply when answering) until the smallest TTL of its values, at most a day; "not
// found" and "no values" for negative_ttl. Errors are not cached.
//
// Thread-safe: Submit and stats from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "registry/base/exception_guard.h"
#include "registry/base/stats_table.h"
#include "resolver/net/endpoint.h"
#include "resolver/query/query.h"

namespace idnode::recursion {

struct RecursorOptions {
  net::Endpoint top;  // the top node's Handle endpoint (UDP)
  int workers = 4;    // walks run at once; each blocks on the network
  size_t max_pending = 1024;
  int max_hops = 8;                                // queries per walk
  std::chrono::milliseconds timeout{2000};         // per query
  std::chrono::milliseconds negative_ttl{10'000};  // how long "not found" is kept
};

struct RecursorStats {
  uint64_t walks = 0;      // answers fetched through the top node (cache misses)
  uint64_t found = 0;      // ... that were values
  uint64_t not_found = 0;  // ... handle not found or no values
  uint64_t limit = 0;      // ... that ended at a recursion limit (here or at another node)
  uint64_t failed = 0;     // ... that failed: unreachable, timed out, malformed, other errors
  uint64_t refused = 0;    // requests turned away because max_pending were waiting
  uint64_t pending = 0;
};

inline constexpr MetricFamily kRecursionWalks{
    "idnode_recursion_walks_total", MetricType::kCounter,
    "Recursive requests resolved through the top node (cache misses), by how the walk ended."};
inline constexpr MetricFamily kRecursionRefused{
    "idnode_recursion_refused_total", MetricType::kCounter,
    "Recursive requests answered 'server too busy' because too many were waiting."};
inline constexpr MetricFamily kRecursionPending{"idnode_recursion_pending", MetricType::kGauge,
                                                "Recursive requests waiting for a walk."};
inline constexpr StatRow<RecursorStats> kRecursorStatRows[] = {
    Stat<&RecursorStats::found>(kRecursionWalks, {"result", "found"}),
    Stat<&RecursorStats::not_found>(kRecursionWalks, {"result", "not_found"}),
    Stat<&RecursorStats::limit>(kRecursionWalks, {"result", "recursion_limit"}),
    Stat<&RecursorStats::failed>(kRecursionWalks, {"result", "failed"}),
    Stat<&RecursorStats::refused>(kRecursionRefused),
    Stat<&RecursorStats::pending>(kRecursionPending),
};

class Recursor : public query::RequestDeferrer {
 public:
  Recursor(RecursorOptions options, query::RecursionCache* cache);
  ~Recursor() override;
  Recursor(const Recursor&) = delete;
  Recursor& operator=(const Recursor&) = delete;

  // Starts the workers; `processor` builds the replies and must outlive the recursor.
  void Start(const query::QueryProcessor& processor);
  // Stops taking requests, answers those still waiting "server too busy" (RC 3) and joins the
  // workers once their walks end (each within max_hops x timeout). Call it before stopping the
  // front ends whose replies it sends. Idempotent.
  void Stop();

  bool Submit(query::DeferredRequest request) override;
  RecursorStats stats() const;
  // What the workers' catch-all caught: a request whose walk or reply threw gets SERVER_ERROR
  // (RC 2) when its reply was not sent yet, and the worker goes on.
  const ExceptionGuard& guard() const { return guard_; }

  // What the walk from `options.top` finds for `question` (the caller's thread). Public for tests.
  query::RecursionAnswer Resolve(const query::RecursionQuestion& question, uint64_t& expires_ms);

 private:
  void Run();

  const RecursorOptions options_;
  query::RecursionCache* const cache_;
  const query::QueryProcessor* processor_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<query::DeferredRequest> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  ExceptionGuard guard_{"recursor"};
  std::atomic<uint64_t> walks_{0}, found_{0}, not_found_{0}, limit_{0}, failed_{0}, refused_{0};
};

}  // namespace idnode::recursion
