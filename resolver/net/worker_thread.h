#pragma once

// The front ends' worker threads: a name that `top -H` and `ps -T` show ("handle-udp-0"), and,
// when the operator asks for it (handle.realtime_priority), the SCHED_FIFO real-time policy, so
// that ordinary threads (the node's own, and kernel threads such as kcompactd or kdamond) cannot
// hold a worker off its core for milliseconds while requests wait. The kernel still keeps a share
// of each core for ordinary threads (RT throttling, or the fair server), so a saturated worker
// does not starve them outright.
//
// Thread-safe: call from the thread that created `thread`, before it is joined.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "registry/base/exception_guard.h"
#include "registry/base/stats_table.h"

namespace idnode::net {

// Names `thread` (at most 15 bytes are kept) and, when realtime_priority is 1..99, sets
// SCHED_FIFO at that priority. PERMISSION_DENIED naming handle.realtime_priority when the process
// may not (it needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least that high); INVALID_ARGUMENT for a
// priority outside 0..99.
absl::Status SetUpWorkerThread(std::thread& thread, std::string_view name, int realtime_priority);

// What a front end's workers report about their own failures, so that none fails silently: a
// worker that cannot open or renew its read transaction (after the store's own recovery) drops
// what it was answering and tries again with the next request (or, for the open, after a pause),
// counted and failing until it succeeds; a worker loop that throws is counted by the guard and
// starts again, failing until its next renewal succeeds; sends the kernel refused are counted.
struct WorkerHealthStats {
  uint64_t open_failures = 0;
  uint64_t renew_failures = 0;
  uint64_t send_failures = 0;
  uint64_t failing = 0;    // workers whose last attempt failed
  std::string last_error;  // the last failure, with the worker's name
};

// What /metrics shows of WorkerHealthStats, with the front end's transport label first.
inline constexpr MetricFamily kWorkerErrors{
    "idnode_handle_worker_errors_total", MetricType::kCounter,
    "Failures of the Handle front ends' workers, by transport and kind: open (a worker could "
    "not open its read transaction; it tries again), renew (a read transaction could not be "
    "renewed; the requests of that batch or connection were not answered) and send (the kernel "
    "refused a reply). Exceptions: idnode_thread_exceptions_total."};
inline constexpr MetricFamily kWorkersFailing{
    "idnode_handle_workers_failing", MetricType::kGauge,
    "Handle front-end workers whose last attempt failed (0 when healthy)."};
inline constexpr StatRow<WorkerHealthStats> kWorkerHealthRows[] = {
    Stat<&WorkerHealthStats::open_failures>(kWorkerErrors, {"kind", "open"}),
    Stat<&WorkerHealthStats::renew_failures>(kWorkerErrors, {"kind", "renew"}),
    Stat<&WorkerHealthStats::send_failures>(kWorkerErrors, {"kind", "send"}),
    Stat<&WorkerHealthStats::failing>(kWorkersFailing),
};

class WorkerHealth {
 public:
  enum class Failure { kOpen, kRenew, kException };

  // `thread`: the workers' common name ("handle-udp"), for the catch-all.
  WorkerHealth(std::string thread, size_t workers) : guard_(std::move(thread)), failing_(workers) {}

  // From worker `index` (its own thread). Logged when the worker starts failing (an exception
  // was logged by the guard), not again while it goes on failing.
  void Failed(size_t index, std::string_view worker, Failure kind, std::string_view what) {
    if (kind == Failure::kOpen) open_failures_.fetch_add(1, std::memory_order_relaxed);
    if (kind == Failure::kRenew) renew_failures_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_[index].exchange(true, std::memory_order_relaxed)) {
      if (kind != Failure::kException) spdlog::error("{}: {}", worker, what);
      std::lock_guard lock(mutex_);
      last_error_ = std::string(worker) + ": " + std::string(what);
    }
  }
  void Succeeded(size_t index) {
    if (failing_[index].load(std::memory_order_relaxed)) {
      failing_[index].store(false, std::memory_order_relaxed);
    }
  }
  // Runs worker `index`'s loop under the catch-all; false (counted, and the worker failing) when
  // it threw.
  template <typename Loop>
  bool Run(size_t index, std::string_view worker, Loop&& loop) {
    if (guard_.Run(std::string("serving on ") + std::string(worker), std::forward<Loop>(loop))) {
      return true;
    }
    Failed(index, worker, Failure::kException, guard_.stats().last_error);
    return false;
  }
  void SendFailed(uint64_t count = 1) {
    send_failures_.fetch_add(count, std::memory_order_relaxed);
  }
  WorkerHealthStats stats() const {
    WorkerHealthStats out;
    out.open_failures = open_failures_.load(std::memory_order_relaxed);
    out.renew_failures = renew_failures_.load(std::memory_order_relaxed);
    out.send_failures = send_failures_.load(std::memory_order_relaxed);
    for (const auto& failing : failing_) out.failing += failing.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    out.last_error = last_error_;
    return out;
  }
  const ExceptionGuard& guard() const { return guard_; }

 private:
  ExceptionGuard guard_;
  std::atomic<uint64_t> open_failures_{0};
  std::atomic<uint64_t> renew_failures_{0};
  std::atomic<uint64_t> send_failures_{0};
  std::vector<std::atomic<bool>> failing_;
  mutable std::mutex mutex_;
  std::string last_error_;
};

// How long a worker whose loop ended by a failure (no read transaction, an exception) waits
// before it starts again, so that a failure that repeats does not spin.
inline constexpr std::chrono::milliseconds kWorkerRestartPause{100};

}  // namespace idnode::net
