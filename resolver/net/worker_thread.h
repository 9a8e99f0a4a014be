#pragma once

// The front ends' worker threads: a name that `top -H` and `ps -T` show ("handle-udp-0"), and,
// when the operator asks for it (handle.realtime_priority), the SCHED_FIFO real-time policy, so
// that ordinary threads (the node's own, and kernel threads such as kcompactd or kdamond) cannot
// hold a worker off its core for milliseconds while requests wait. The kernel still keeps a share
// of each core for ordinary threads (RT throttling, or the fair server), so a saturated worker
// does not starve them outright.
//
// Thread-safe: call from the thread that created `thread`, before it is joined.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace idnode::net {

// Names `thread` (at most 15 bytes are kept) and, when realtime_priority is 1..99, sets
// SCHED_FIFO at that priority. PERMISSION_DENIED naming handle.realtime_priority when the process
// may not (it needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least that high); INVALID_ARGUMENT for a
// priority outside 0..99.
absl::Status SetUpWorkerThread(std::thread& thread, std::string_view name, int realtime_priority);

// What a front end's workers report about their own failures, so that none fails silently: a
// worker whose read transaction cannot be renewed (after the store's own recovery) drops what it
// was answering and tries again with the next request, counted and failing until it succeeds;
// sends the kernel refused are counted.
struct WorkerHealthStats {
  uint64_t renew_failures = 0;
  uint64_t send_failures = 0;
  uint64_t failing = 0;    // workers whose last attempt failed, or that have ended
  std::string last_error;  // the last failure, with the worker's name
};

class WorkerHealth {
 public:
  explicit WorkerHealth(size_t workers) : failing_(workers) {}
  // From worker `index` (its own thread).
  void Failed(size_t index, std::string_view worker, std::string_view what) {
    renew_failures_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_[index].exchange(true, std::memory_order_relaxed)) {
      std::lock_guard lock(mutex_);
      last_error_ = std::string(worker) + ": " + std::string(what);
    }
  }
  void Succeeded(size_t index) {
    if (failing_[index].load(std::memory_order_relaxed)) {
      failing_[index].store(false, std::memory_order_relaxed);
    }
  }
  void SendFailed(uint64_t count = 1) {
    send_failures_.fetch_add(count, std::memory_order_relaxed);
  }
  WorkerHealthStats stats() const {
    WorkerHealthStats out;
    out.renew_failures = renew_failures_.load(std::memory_order_relaxed);
    out.send_failures = send_failures_.load(std::memory_order_relaxed);
    for (const auto& failing : failing_) out.failing += failing.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    out.last_error = last_error_;
    return out;
  }

 private:
  std::atomic<uint64_t> renew_failures_{0};
  std::atomic<uint64_t> send_failures_{0};
  std::vector<std::atomic<bool>> failing_;
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace idnode::net
