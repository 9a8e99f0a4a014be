// RoundLoop: failed rounds are retried after the back-off, finished ones wait their own time or a
// Wake(), an exception is a failed round, and Stop() ends the thread during a long wait.

#include "registry/base/round_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace idnode {
namespace {

using namespace std::chrono_literals;

template <typename Predicate>
bool WaitFor(Predicate holds) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!holds()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);  // polling the condition
  }
  return true;
}

TEST(RoundLoopTest, RetriesFailedRoundsAndWaitsAfterFinishedOnesUntilWoken) {
  std::atomic<int> calls{0};
  RoundLoop loop("test-loop", "testing", 1ms, 5ms);
  loop.Start([&calls]() -> std::optional<std::chrono::milliseconds> {
    const int call = ++calls;
    if (call == 1) return std::nullopt;                      // failed: retried after ~1 ms
    if (call == 2) throw std::runtime_error("round broke");  // an exception is a failed round
    return std::chrono::hours(1);                            // finished: next round in an hour
  });
  ASSERT_TRUE(WaitFor([&] { return loop.rounds() == 3; }));
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(loop.guard().stats().exceptions, 1u);
  EXPECT_EQ(loop.guard().stats().last_error, "testing: round broke");
  loop.Wake();  // the hour is cut short
  ASSERT_TRUE(WaitFor([&] { return loop.rounds() == 4; }));
  EXPECT_EQ(calls.load(), 4);
  EXPECT_FALSE(loop.stopping());
  const auto before = std::chrono::steady_clock::now();
  loop.Stop();  // during the hour's wait
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_TRUE(loop.stopping());
}

}  // namespace
}  // namespace idnode
