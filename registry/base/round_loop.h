#pragma once

// A thread that works in rounds, for the parts that drain a spool to another party (the uploader
// to the authority, the federation client to the top node). A round either finishes (the spool
// is empty: the next round comes after the wait the round returns) or fails (the next comes
// after a back-off: retry_initial, doubling up to retry_max, jittered; registry/base/backoff.h).
// Wake() starts the next round at once; Stop() ends the thread after the round in progress. The
// round runs under the thread's catch-all (registry/base/exception_guard.h): an exception is a
// failed round.
//
// Thread-safe: Start and Stop from one thread; Wake, stopping, rounds and guard from any;
// ResetBackoff from the round only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "registry/base/backoff.h"
#include "registry/base/exception_guard.h"
#include "registry/base/mutex.h"
#include "registry/base/thread_name.h"

namespace idnode {

class RoundLoop {
 public:
  // What a round returns: the wait before the next round when it finished, nullopt when it failed.
  using Round = std::function<std::optional<std::chrono::milliseconds>()>;

  // `thread`: the thread's name; `doing`: what a round does, for the log line of an exception.
  RoundLoop(std::string thread, std::string doing, std::chrono::milliseconds retry_initial,
            std::chrono::milliseconds retry_max)
      : doing_(std::move(doing)), backoff_(retry_initial, retry_max), guard_(std::move(thread)) {}
  ~RoundLoop() { Stop(); }
  RoundLoop(const RoundLoop&) = delete;
  RoundLoop& operator=(const RoundLoop&) = delete;

  // Starts the thread; `round` runs on it, the first time at once.
  void Start(Round round) {
    round_ = std::move(round);
    thread_ = std::thread([this] { Run(); });
    NameThread(thread_, guard_.thread());
  }
  // Idempotent.
  void Stop() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }
  void Wake() {
    MutexLock lock(&mu_);
    woken_ = true;
  }
  // For a round that goes through many items: true once Stop() was called.
  bool stopping() const {
    MutexLock lock(&mu_);
    return stopping_;
  }
  // From the round: one of its attempts succeeded, so the next failure waits retry_initial again.
  void ResetBackoff() { backoff_.Reset(); }
  // Rounds completed (finished or failed).
  uint64_t rounds() const {
    MutexLock lock(&mu_);
    return rounds_;
  }
  const ExceptionGuard& guard() const { return guard_; }

 private:
  void Run() {
    for (;;) {
      {
        MutexLock lock(&mu_);
        if (stopping_) return;
        woken_ = false;
      }
      std::optional<std::chrono::milliseconds> wait;
      guard_.Run(doing_, [this, &wait] { wait = round_(); });
      std::chrono::milliseconds next;
      if (wait.has_value()) {
        backoff_.Reset();
        next = *wait;
      } else {
        next = backoff_.Next();
      }
      MutexLock lock(&mu_);
      ++rounds_;
      mu_.AwaitWithTimeout(this, &RoundLoop::StoppingOrWoken, next);
    }
  }
  bool StoppingOrWoken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; }

  const std::string doing_;
  Round round_;
  Backoff backoff_;  // the thread only
  ExceptionGuard guard_;
  mutable Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t rounds_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace idnode
