// idbench's histograms, percentiles and server CPU reading.

#include "tools/idbench/measure.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace idnode::idbench {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(MeasureTest, MicrosAreWholeAndClamped) {
  const Clock::time_point start = Clock::now();
  EXPECT_EQ(Micros(start, start + nanoseconds(1999)), 1u);
  EXPECT_EQ(Micros(start, start + microseconds(250)), 250u);
  EXPECT_EQ(Micros(start + microseconds(5), start), 0u);  // a clock that went back counts 0
  EXPECT_EQ(Micros(start, start + std::chrono::seconds(3)), kMaxLatencyMicros);
}

TEST(MeasureTest, PercentileCountsFromTheFastestBucket) {
  std::vector<uint64_t> histogram(kMaxLatencyMicros + 1);
  histogram[10] = 90;
  histogram[100] = 9;
  histogram[1000] = 1;
  EXPECT_EQ(Percentile(histogram, 100, 0.5), 10);
  EXPECT_EQ(Percentile(histogram, 100, 0.89), 10);
  EXPECT_EQ(Percentile(histogram, 100, 0.9), 100);    // the 91st is in bucket 100
  EXPECT_EQ(Percentile(histogram, 100, 0.99), 1000);  // the 100th
  EXPECT_EQ(Percentile(histogram, 100, 0.999), 1000);
}

TEST(MeasureTest, PercentileOfTooFewCountsIsTheOpenBucket) {
  std::vector<uint64_t> histogram(kMaxLatencyMicros + 1);
  EXPECT_EQ(Percentile(histogram, 0, 0.5), static_cast<double>(kMaxLatencyMicros));
  histogram[7] = 1;
  EXPECT_EQ(Percentile(histogram, 1, 0.5), 7);
  EXPECT_EQ(Percentile(histogram, 2, 0.99), static_cast<double>(kMaxLatencyMicros));
}

TEST(MeasureTest, ResultsAddUp) {
  const Clock::time_point start = Clock::now();
  Result a, b;
  a.sent = 3;
  a.Record(start, start + microseconds(4), /*hit=*/true);
  a.Record(start, start + microseconds(4), /*hit=*/false);
  b.sent = 2;
  b.stalls = 1;
  b.Record(start, start + microseconds(9), /*hit=*/true);
  ++b.send_lag[2];
  ++b.since_send[3];
  a.Add(b);
  EXPECT_EQ(a.sent, 5u);
  EXPECT_EQ(a.answered, 3u);
  EXPECT_EQ(a.found, 2u);
  EXPECT_EQ(a.stalls, 1u);
  EXPECT_EQ(a.latency[4], 2u);
  EXPECT_EQ(a.latency[9], 1u);
  EXPECT_EQ(a.send_lag[2], 1u);
  EXPECT_EQ(a.since_send[3], 1u);
}

TEST(MeasureTest, CpuSecondsGrowWithWork) {
  const double before = CpuSeconds(getpid());
  // The kernel counts in clock ticks: work until at least one more has been counted.
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  volatile uint64_t spin = 0;
  double after = before;
  while (after <= before && Clock::now() < deadline) {
    for (int i = 0; i < 1'000'000; ++i) spin = spin + 1;
    after = CpuSeconds(getpid());
  }
  EXPECT_GT(after, before);
  EXPECT_LT(after - before, 30.0);
}

TEST(MeasureTest, CpuSecondsOfAMissingProcessAreZero) { EXPECT_EQ(CpuSeconds(-1), 0.0); }

}  // namespace
}  // namespace idnode::idbench
