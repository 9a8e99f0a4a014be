#pragma once

// A clock that stands still until the test moves it.

#include <atomic>
#include <cstdint>

#include "registry/base/clock.h"

namespace idnode::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t ms) : ms_(ms) {}
  int64_t NowMillis() const override { return ms_; }
  void Set(int64_t ms) { ms_ = ms; }

 private:
  std::atomic<int64_t> ms_;
};

// Unix milliseconds of `hour`:`minute` on reporting `day` in a UTC offset of `offset_minutes`.
constexpr int64_t LocalMillis(uint32_t day, int hour, int minute = 0,
                              int32_t offset_minutes = 480) {
  return int64_t{day} * 86'400'000 + (int64_t{hour} * 60 + minute - offset_minutes) * 60'000;
}

}  // namespace idnode::testing
