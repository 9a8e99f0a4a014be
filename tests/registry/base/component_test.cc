// The component list: start in order, stop phase by phase in reverse, a failed start stops
// everything; statistics tables and health checks gathered from every part.

#include "registry/base/component.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/recording_sink.h"

namespace idnode {
namespace {

using Log = std::vector<std::string>;

class Recorded : public Component {
 public:
  Recorded(std::string name, Log& log, absl::Status start = absl::OkStatus())
      : name_(std::move(name)), log_(log), start_(std::move(start)) {}

  std::string_view name() const override { return name_; }
  absl::Status Start() override {
    log_.push_back("start " + name_);
    return start_;
  }
  void StopAccepting() override { log_.push_back("stop-accepting " + name_); }
  void Drain(std::chrono::steady_clock::time_point) override { log_.push_back("drain " + name_); }
  void Close() override { log_.push_back("close " + name_); }

 private:
  const std::string name_;
  Log& log_;
  const absl::Status start_;
};

TEST(ComponentListTest, StartsInOrderAndStopsPhaseByPhaseInReverse) {
  Log log;
  ComponentList parts;
  parts.Add(std::make_unique<Recorded>("a", log));
  parts.Add(std::make_unique<Recorded>("b", log));
  parts.Add(std::make_unique<Recorded>("c", log));
  ASSERT_TRUE(parts.Start().ok());
  parts.Stop(std::chrono::steady_clock::now());
  parts.Stop(std::chrono::steady_clock::now());  // idempotent
  EXPECT_EQ(log, (Log{"start a", "start b", "start c", "stop-accepting c", "stop-accepting b",
                      "stop-accepting a", "drain c", "drain b", "drain a", "close c", "close b",
                      "close a"}));
}

TEST(ComponentListTest, AFailedStartStopsEveryPartAndNamesTheOneThatFailed) {
  Log log;
  ComponentList parts;
  parts.Add(std::make_unique<Recorded>("a", log));
  parts.Add(std::make_unique<Recorded>("b", log, absl::UnavailableError("port taken")));
  parts.Add(std::make_unique<Recorded>("c", log));
  absl::Status started = parts.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(started.message(), "b: port taken");
  // c never started, and is stopped like the others (each phase is safe on a part not started).
  EXPECT_EQ(log,
            (Log{"start a", "start b", "stop-accepting c", "stop-accepting b", "stop-accepting a",
                 "drain c", "drain b", "drain a", "close c", "close b", "close a"}));
}

TEST(ComponentListTest, DestroyingARunningListStopsIt) {
  Log log;
  {
    ComponentList parts;
    parts.Add(std::make_unique<Recorded>("a", log));
    ASSERT_TRUE(parts.Start().ok());
  }
  EXPECT_EQ(log, (Log{"start a", "stop-accepting a", "drain a", "close a"}));
}

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  bool full = false;
  double ratio = 0;
};
constexpr MetricFamily kLookups{"test_lookups_total", MetricType::kCounter, "Lookups."};
constexpr MetricFamily kFull{"test_full", MetricType::kGauge, "Full."};
constexpr MetricFamily kRatio{"test_ratio", MetricType::kGauge, "Ratio."};
constexpr StatRow<CacheStats> kCacheRows[] = {
    Stat<&CacheStats::hits>(kLookups, {"result", "hit"}),
    Stat<&CacheStats::misses>(kLookups, {"result", "miss"}),
    Stat<&CacheStats::full>(kFull),
    Stat<&CacheStats::ratio>(kRatio),
};

class Cache : public Component {
 public:
  std::string_view name() const override { return "cache"; }
  void DescribeStats(MetricSink& sink) const override {
    const Label scope[] = {{"shard", "0"}};
    DescribeRows(sink, kCacheRows, stats, scope);
  }
  void CheckHealth(HealthReport& report) const override {
    if (stats.full) {
      report.Fail("cache", "full");
    } else {
      report.Ok("cache");
    }
  }
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&guard);
  }
  CacheStats stats;
  ExceptionGuard guard{"cache-evict"};
};

TEST(ComponentListTest, StatisticsComeFromEachPartsTableThenItsThreads) {
  ComponentList parts;
  Cache& cache = parts.Add(std::make_unique<Cache>());
  cache.stats = {7, 3, true, 0.7};
  testing::RecordingSink sink;
  parts.DescribeStats(sink);
  EXPECT_EQ(sink.size(), 5u);
  EXPECT_EQ(sink.Count(kLookups, {{"shard", "0"}, {"result", "hit"}}), 7);
  EXPECT_EQ(sink.Count(kLookups, {{"shard", "0"}, {"result", "miss"}}), 3);
  EXPECT_EQ(sink.Count(kFull, {{"shard", "0"}}), 1);
  EXPECT_EQ(sink.Get(kRatio, {{"shard", "0"}}), MetricValue(0.7));
  EXPECT_EQ(sink.Count(kThreadExceptions, {{"thread", "cache-evict"}}), 0);
  EXPECT_FALSE(sink.Get(kLookups, {{"result", "hit"}}).has_value());  // the scope comes first
  // The thread samples come after every part's own.
  EXPECT_EQ(sink.order().back(), &kThreadExceptions);
  EXPECT_EQ(parts.Find<Cache>(), &cache);
  EXPECT_EQ(parts.Find<Recorded>(), nullptr);
  EXPECT_EQ(parts.All<Cache>().size(), 1u);
}

TEST(ComponentListTest, HealthIsEveryPartsChecksAndARecentExceptionFailsThreads) {
  ComponentList parts;
  Cache& cache = parts.Add(std::make_unique<Cache>());
  const auto now = std::chrono::steady_clock::now();
  {
    HealthReport report;
    parts.CheckHealth(report, now);
    EXPECT_TRUE(report.healthy());
    ASSERT_EQ(report.checks().size(), 2u);
    EXPECT_EQ(report.checks()[0].name, "cache");
    EXPECT_EQ(report.checks()[1].name, "threads");
  }
  cache.guard.Record("evicting", "boom");
  {
    HealthReport report;
    parts.CheckHealth(report, std::chrono::steady_clock::now());
    EXPECT_FALSE(report.healthy());
    EXPECT_EQ(report.checks()[0].problem, "");
    EXPECT_NE(report.checks()[1].problem.find("cache-evict: 1 exception(s)"), std::string::npos)
        << report.checks()[1].problem;
    EXPECT_NE(report.checks()[1].problem.find("evicting: boom"), std::string::npos);
  }
  {
    // A minute later the thread check passes again; the part's own check still fails.
    cache.stats.full = true;
    HealthReport report;
    parts.CheckHealth(
        report, std::chrono::steady_clock::now() + kRecentException + std::chrono::seconds(1));
    EXPECT_FALSE(report.healthy());
    EXPECT_EQ(report.checks()[0].problem, "full");
    EXPECT_EQ(report.checks()[1].problem, "");
  }
}

}  // namespace
}  // namespace idnode
