#pragma once

// Retry delays for work that waits on another party (a receiver, an upstream node): the first
// retry after `initial`, doubling after each further failure up to `max`, each delay scaled by a
// random factor in [0.8, 1.2] so that many nodes that failed together do not retry together.
//
// Thread-compatible: one owner.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace idnode {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), random_(std::random_device{}()) {}

  // The delay before the next attempt, after one more failure.
  std::chrono::milliseconds Next() {
    const uint32_t doublings = std::min<uint32_t>(failures_, 30);
    ++failures_;
    const double base = std::min<double>(static_cast<double>(initial_.count()) * (1u << doublings),
                                         static_cast<double>(max_.count()));
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<int64_t>(base * jitter(random_)));
  }
  // After a success: the next failure waits `initial` again.
  void Reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds max_;
  uint32_t failures_ = 0;
  std::mt19937 random_;
};

}  // namespace idnode
