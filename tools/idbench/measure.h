#pragma once

// What idbench measures: latency histograms in whole microseconds, their percentiles, and the CPU
// time a server process has used.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace idnode::idbench {

using Clock = std::chrono::steady_clock;

// The last histogram bucket, open: every latency of this many microseconds or more.
constexpr size_t kMaxLatencyMicros = 1'000'000;

// Histogram bucket of the time from `since` to `now`: whole microseconds, the last bucket open.
size_t Micros(Clock::time_point since, Clock::time_point now);

// One generator thread's tally; the threads' tallies are added up at the end.
struct Result {
  uint64_t sent = 0, answered = 0, found = 0, stalls = 0;
  std::vector<uint64_t> latency = std::vector<uint64_t>(kMaxLatencyMicros + 1);
  // Open loop: how late the generator itself sent each request (its own stalls, not the server's).
  std::vector<uint64_t> send_lag = std::vector<uint64_t>(kMaxLatencyMicros + 1);
  // Open loop: latency counted from when each request actually left, without the generator's lag.
  std::vector<uint64_t> since_send = std::vector<uint64_t>(kMaxLatencyMicros + 1);

  void Record(Clock::time_point since, Clock::time_point now, bool hit);
  void Add(const Result& other);
};

// The bucket (microseconds) of the (floor(q * total) + 1)-th smallest count, which errs by one
// rank towards the slower side; kMaxLatencyMicros when the histogram holds no more than that.
double Percentile(const std::vector<uint64_t>& histogram, uint64_t total, double q);

// CPU seconds (user + system) of process `pid`, from /proc/<pid>/stat; 0 when it cannot be read.
double CpuSeconds(int pid);

}  // namespace idnode::idbench
