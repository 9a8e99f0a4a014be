#pragma once

// The time seam: components take a Clock& so tests can inject time.

#include <chrono>
#include <cstdint>

namespace idnode {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

inline constexpr int64_t kDayMs = 86'400'000;

// Reporting day: days since 1970-01-01 in a fixed UTC offset (docs/architecture.md §7; default
// UTC+08:00).
inline uint32_t ReportingDay(int64_t unix_millis, int32_t utc_offset_minutes) {
  int64_t local_ms = unix_millis + int64_t{utc_offset_minutes} * 60'000;
  int64_t day = local_ms >= 0 ? local_ms / kDayMs : (local_ms - (kDayMs - 1)) / kDayMs;
  return static_cast<uint32_t>(day);
}

// Milliseconds from `unix_millis` until the next reporting day begins (at least 1).
inline int64_t MillisToNextReportingDay(int64_t unix_millis, int32_t utc_offset_minutes) {
  const int64_t next_day_ms =
      (int64_t{ReportingDay(unix_millis, utc_offset_minutes)} + 1) * kDayMs -
      int64_t{utc_offset_minutes} * 60'000;
  return next_day_ms - unix_millis > 1 ? next_day_ms - unix_millis : 1;
}

}  // namespace idnode
