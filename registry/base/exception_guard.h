#pragma once

// The counted catch-all of a long-lived thread (or of a pool of them: the recursor's workers, the
// Handle front ends' workers). A thread runs each round of its work through Run(): an exception
// that would otherwise end the process (std::terminate) is logged with the thread's name, counted
// and swallowed, and the thread goes on as after a failed round (its own back-off, or a fresh
// start of its loop). /metrics shows the counts (idnode_thread_exceptions_total{thread}) and
// /healthz fails for a minute after each one, naming the thread and what was caught.
//
// Thread-safe.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "registry/base/utf8.h"

namespace idnode {

struct CaughtStats {
  uint64_t exceptions = 0;
  std::chrono::steady_clock::time_point last;  // of the latest; meaningful when exceptions > 0
  std::string last_error;                      // what it was caught doing, and its message
};

class ExceptionGuard {
 public:
  explicit ExceptionGuard(std::string thread) : thread_(std::move(thread)) {}

  // Calls `work`; true when it returned, false when it threw (logged and counted). `doing` says
  // what the thread was doing, for the log line ("delivering a report").
  template <typename Work>
  bool Run(std::string_view doing, Work&& work) noexcept {
    try {
      std::forward<Work>(work)();
      return true;
    } catch (const std::exception& e) {
      Record(doing, e.what());
    } catch (...) {
      Record(doing, kNotStd);
    }
    return false;
  }

  // Logs and counts an exception caught elsewhere (a catch that must answer a request itself).
  void Record(std::string_view doing, std::string_view what) noexcept {
    try {
      const std::string error = EscapeForLog(what, 512);
      spdlog::error("{}: exception {}: {}", thread_, EscapeForLog(doing, 512), error);
      std::lock_guard lock(mutex_);
      ++stats_.exceptions;
      stats_.last = std::chrono::steady_clock::now();
      stats_.last_error = std::string(doing) + ": " + error;
    } catch (...) {
      // Out of memory while reporting: nothing more can be said; the thread still goes on.
    }
  }
  static constexpr std::string_view kNotStd = "an exception that is not a std::exception";

  const std::string& thread() const { return thread_; }

  CaughtStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  const std::string thread_;
  mutable std::mutex mutex_;
  CaughtStats stats_;
};

}  // namespace idnode
