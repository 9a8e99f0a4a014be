// The durable statistics over a real LMDB store and the real writer, with the clock injected:
// resolution counts flushed across the midnight of UTC+08:00, registrations across a year
// boundary, the 30-day window, projections, ranges and the per-prefix breakdown, each with exact
// expected numbers.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "registry/stats/flush.h"
#include "registry/stats/report.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/registry_ops.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"
#include "tests/support/write_access.h"

namespace idnode::stats {
namespace {

using idnode::testing::FakeClock;
using idnode::testing::LocalMillis;

constexpr int32_t kUtc8 = 480;

uint32_t Day(std::string_view text) {
  auto day = ParseDay(text, "test");
  EXPECT_TRUE(day.ok()) << day.status();
  return day.ok() ? *day : 0;
}

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path(), size_t{16} << 20});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto writer = writer::Writer::Start(*store_, clock_, writer::WriterOptions{});
    ASSERT_TRUE(writer.ok());
    writer_ = *std::move(writer);
    ASSERT_TRUE(Apply([](auto done) {
                  return writer::MakeCreateAccountOp("test", "acme", accounts::Role::kRegistrant,
                                                     {}, done);
                }).ok());
    for (const char* prefix : {"88.123.45", "88.123.46"}) {
      ASSERT_TRUE(Apply([prefix](auto done) {
                    return writer::MakeAllocatePrefixOp("test", "88.123", prefix, "acme", 0, {},
                                                        done);
                  }).ok());
    }
    flusher_ = std::make_unique<ResolutionFlusher>(*writer_, clock_, FlushOptions{},
                                                   [this] { return Totals(); });
  }

  // Submits the op `make(done)` builds and waits for its durable result.
  template <typename Make>
  absl::Status Apply(Make make) {
    std::promise<absl::StatusOr<bool>> promise;
    auto future = promise.get_future();
    absl::Status submitted = writer_->Submit(
        make([&promise](absl::StatusOr<bool> result) { promise.set_value(std::move(result)); }));
    if (!submitted.ok()) return submitted;
    return future.get().status();
  }

  // Registers `count` identifiers under `prefix` at `when_ms`.
  void Register(const std::string& prefix, int count, int64_t when_ms) {
    clock_.Set(when_ms);
    std::vector<absl::StatusOr<writer::PreparedRecord>> items;
    for (int i = 0; i < count; ++i) {
      items.push_back(writer::PrepareRecord(prefix + "/P-" + std::to_string(next_id_++),
                                            {idnode::testing::MakeValue(1, "URL", "https://x")},
                                            {}));
    }
    std::promise<void> done;
    ASSERT_TRUE(
        writer_
            ->Submit(std::make_unique<writer::CreateOp>(
                accounts::Principal{"acme", accounts::Role::kRegistrant, {}}, std::move(items),
                [&](const absl::Status& s, std::vector<writer::ItemOutcome>& outcomes) {
                  EXPECT_TRUE(s.ok()) << s;
                  for (const writer::ItemOutcome& o : outcomes) EXPECT_TRUE(o.status.ok());
                  done.set_value();
                }))
            .ok());
    done.get_future().wait();
  }

  ResolutionTotals Totals() {
    std::lock_guard lock(mu_);
    return totals_;
  }
  // What the front ends would have counted: `n` more of `outcome` over `transport`, under
  // `prefix` as well when it is not empty.
  void Count(Transport transport, Outcome outcome, uint64_t n, const std::string& prefix = "") {
    std::lock_guard lock(mu_);
    totals_.node[static_cast<size_t>(transport)][outcome] += n;
    if (!prefix.empty()) totals_.prefixes[{transport, prefix}][outcome] += n;
  }
  // `n` found resolutions over UDP under 88.123.45 that land on reporting `day`.
  void ResolveOn(uint32_t day, uint64_t n) {
    clock_.Set(LocalMillis(day, 0, 1));
    ASSERT_TRUE(flusher_->Flush().ok());  // the interval now begins on `day`
    Count(Transport::kUdp, Outcome::kFound, n, "88.123.45");
    clock_.Set(LocalMillis(day, 12));
    ASSERT_TRUE(flusher_->Flush().ok());
  }

  uint64_t Stored(Metric metric, uint32_t day, std::string_view scope) {
    auto txn = store_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto value = CounterTable::Get(*txn, CounterKey(metric, day, scope));
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? value->value_or(0) : 0;
  }

  Report BuildAt(int64_t now_ms, const ReportOptions& options = {},
                 const Thresholds& thresholds = {}) {
    auto txn = store_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto report = BuildReport(*txn, now_ms, kUtc8, thresholds, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *std::move(report) : Report{};
  }

  static const ThresholdResult& Find(const Report& report, std::string_view id) {
    for (const ThresholdResult& t : report.thresholds) {
      if (t.id == id) return t;
    }
    ADD_FAILURE() << "no threshold " << id;
    static const ThresholdResult kNone;
    return kNone;
  }

  idnode::testing::TempDir dir_;
  FakeClock clock_{LocalMillis(Day("2026-11-21"), 9)};
  // Before the flusher: its last flush, as it is destroyed, still reads them.
  std::mutex mu_;
  ResolutionTotals totals_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<writer::Writer> writer_;
  std::unique_ptr<ResolutionFlusher> flusher_;
  int next_id_ = 0;
};

TEST_F(StatsTest, FlushAttributesCountsToTheReportingDayAcrossUtc8Midnight) {
  const uint32_t day = Day("2026-11-21");
  const Metric udp_found = ResolutionMetric(Transport::kUdp, Outcome::kFound);
  const Metric tcp_miss = ResolutionMetric(Transport::kTcp, Outcome::kHandleNotFound);
  clock_.Set(LocalMillis(day, 23, 58));
  ASSERT_TRUE(flusher_->Flush().ok());
  Count(Transport::kUdp, Outcome::kFound, 5, "88.123.45");
  Count(Transport::kTcp, Outcome::kHandleNotFound, 2);
  clock_.Set(LocalMillis(day, 23, 59));
  ASSERT_TRUE(flusher_->Flush().ok());
  // Answered before midnight, flushed by the wake-up at 00:00:00 +08:00 (16:00 UTC).
  Count(Transport::kUdp, Outcome::kFound, 7, "88.123.45");
  clock_.Set(LocalMillis(day + 1, 0));
  ASSERT_TRUE(flusher_->Flush().ok());
  // Answered after midnight.
  Count(Transport::kUdp, Outcome::kFound, 4, "88.123.46");
  clock_.Set(LocalMillis(day + 1, 0, 5));
  ASSERT_TRUE(flusher_->Flush().ok());
  ASSERT_TRUE(flusher_->Flush().ok());  // nothing new: nothing written twice

  EXPECT_EQ(Stored(udp_found, day, ""), 12u);
  EXPECT_EQ(Stored(udp_found, day, "88.123.45"), 12u);
  EXPECT_EQ(Stored(tcp_miss, day, ""), 2u);
  EXPECT_EQ(Stored(tcp_miss, day, "88.123.45"), 0u);
  EXPECT_EQ(Stored(udp_found, day + 1, ""), 4u);
  EXPECT_EQ(Stored(udp_found, day + 1, "88.123.46"), 4u);
  EXPECT_EQ(Stored(udp_found, day + 1, "88.123.45"), 0u);
  FlushStats stats = flusher_->stats();
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.last_flush_ms, LocalMillis(day + 1, 0, 5));
}

TEST_F(StatsTest, FlushThatCannotReachTheDiskIsCountedAndWritesNothing) {
  Count(Transport::kGrpc, Outcome::kFound, 3);
  writer_->Stop();
  absl::Status status = flusher_->Flush();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(flusher_->stats().failures, 1u);
  EXPECT_EQ(flusher_->stats().flushes, 0u);
  EXPECT_EQ(Stored(ResolutionMetric(Transport::kGrpc, Outcome::kFound), Day("2026-11-21"), ""), 0u);
}

TEST_F(StatsTest, AnExceptionInAFlushIsCountedAndTheFlusherGoesOn) {
  std::atomic<int> calls{0};
  FlushOptions options;
  options.interval = std::chrono::milliseconds(5);
  ResolutionFlusher flusher(*writer_, clock_, options, [&] {
    if (calls.fetch_add(1) < 3) throw std::runtime_error("no counts\nforged");
    return Totals();
  });
  flusher.Start();
  // Three flushes throw; the thread survives them and the fourth goes through.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (flusher.stats().flushes + flusher.stats().failures < 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the condition
  }
  EXPECT_TRUE(flusher.Stop().ok());
  EXPECT_EQ(flusher.stats().exceptions, 3u);
  EXPECT_EQ(flusher.stats().failures, 3u);
  EXPECT_GE(flusher.stats().flushes, 1u);
  EXPECT_FALSE(flusher.stats().last_failed);
}

TEST_F(StatsTest, RegistrationsCountInTheCalendarYearOfUtc8) {
  // 23:30 on 31 December and 00:30 on 1 January in UTC+08:00 are both 31 December in UTC.
  const uint32_t new_year = Day("2027-01-01");
  Register("88.123.45", 3, LocalMillis(new_year - 1, 23, 30));
  Register("88.123.45", 2, LocalMillis(new_year, 0, 30));
  Report report = BuildAt(LocalMillis(new_year, 12));
  EXPECT_EQ(report.today, new_year);
  EXPECT_EQ(report.registered, 5u);
  const ThresholdResult& in_year = Find(report, "bonus_new_in_year");
  EXPECT_EQ(in_year.measured, 2);
  EXPECT_EQ(in_year.target, 100'000'000u);
  EXPECT_TRUE(in_year.strictly_more);
  EXPECT_FALSE(in_year.met);
  ASSERT_EQ(report.days.size(), 30u);
  EXPECT_EQ(report.days.back().day, new_year);
  EXPECT_EQ(report.days.back().created, 2u);
  EXPECT_EQ(report.days.back().registered, 5u);
  EXPECT_EQ(report.days[28].created, 3u);
  EXPECT_EQ(report.days[28].registered, 3u);
  EXPECT_EQ(report.days[27].registered, 0u);

  // The day before, the same three counted in 2026.
  Report before = BuildAt(LocalMillis(new_year - 1, 23, 45));
  EXPECT_EQ(Find(before, "bonus_new_in_year").measured, 3);
  EXPECT_EQ(Find(before, "acceptance_registered").measured, 5);  // the store as it is now
}

TEST_F(StatsTest, AcceptanceAveragesTheLastThirtyFullDays) {
  const uint32_t today = Day("2026-11-21");
  for (uint32_t d = today - 30; d < today; ++d) ResolveOn(d, 300);
  ResolveOn(today - 31, 10'000);  // outside the window
  ResolveOn(today, 50);           // today is not a full day yet
  Report report = BuildAt(LocalMillis(today, 18));
  const ThresholdResult& daily = Find(report, "acceptance_daily");
  EXPECT_EQ(daily.measured, 300);
  EXPECT_EQ(daily.target, 200u);
  EXPECT_TRUE(daily.met);
  EXPECT_EQ(daily.projection, "met");
  EXPECT_EQ(daily.current_rate, 300);
  EXPECT_EQ(report.days.back().resolutions, 50u);
  EXPECT_EQ(report.days.back().requests, 50u);
  EXPECT_EQ(report.days[0].day, today - 29);
  EXPECT_EQ(report.days[0].resolutions, 300u);

  Thresholds stricter;
  stricter.acceptance_window_days = 31;
  Report wider = BuildAt(LocalMillis(today, 18), {}, stricter);
  EXPECT_EQ(Find(wider, "acceptance_daily").measured, (30 * 300 + 10'000) / 31.0);
}

TEST_F(StatsTest, AcceptanceProjectsTheDayTheWindowCatchesUp) {
  const uint32_t today = Day("2026-11-21");
  for (uint32_t d = today - 30; d < today - 7; ++d) ResolveOn(d, 100);  // 23 days
  for (uint32_t d = today - 7; d < today; ++d) ResolveOn(d, 400);       // the last 7
  Report report = BuildAt(LocalMillis(today, 8));
  const ThresholdResult& daily = Find(report, "acceptance_daily");
  EXPECT_EQ(daily.measured, 5100 / 30.0);
  EXPECT_FALSE(daily.met);
  EXPECT_EQ(daily.current_rate, 400);
  // Three more days at 400 replace three days at 100: (4800 + 1200) / 30 = 200.
  ASSERT_TRUE(daily.met_on_day.has_value());
  EXPECT_EQ(*daily.met_on_day, today + 3);
  EXPECT_EQ(daily.projection, "on 2026-11-24 at the current rate");

  // Misses are shown as requests but never counted toward the thresholds.
  clock_.Set(LocalMillis(today, 0));  // the flusher's wake-up at midnight
  ASSERT_TRUE(flusher_->Flush().ok());
  Count(Transport::kUdp, Outcome::kHandleNotFound, 1'000'000, "88.123.45");
  clock_.Set(LocalMillis(today, 9));
  ASSERT_TRUE(flusher_->Flush().ok());
  Report after = BuildAt(LocalMillis(today, 10));
  EXPECT_EQ(Find(after, "acceptance_daily").measured, 5100 / 30.0);
  EXPECT_EQ(after.days.back().requests, 1'000'000u);
  EXPECT_EQ(after.days.back().resolutions, 0u);
}

TEST_F(StatsTest, RegisteredProjectionUsesTheLastSevenDaysNetRate) {
  const uint32_t today = Day("2026-11-21");
  for (uint32_t d = today - 7; d < today; ++d) Register("88.123.45", 2, LocalMillis(d, 10));
  Report report = BuildAt(LocalMillis(today, 10));
  const ThresholdResult& registered = Find(report, "acceptance_registered");
  EXPECT_EQ(registered.measured, 14);
  EXPECT_FALSE(registered.met);
  EXPECT_EQ(registered.current_rate, 2);
  ASSERT_TRUE(registered.met_on_day.has_value());
  EXPECT_EQ(*registered.met_on_day, today + 43);  // 86 more at 2 a day

  Register("88.123.46", 86, LocalMillis(today, 11));
  Report met = BuildAt(LocalMillis(today, 12));
  EXPECT_TRUE(Find(met, "acceptance_registered").met);
  EXPECT_FALSE(Find(met, "acceptance_registered").met_on_day.has_value());
}

TEST_F(StatsTest, BonusDailyAveragesTheFullDaysOfTheYear) {
  const uint32_t jan1 = Day("2027-01-01");
  Thresholds thresholds;
  thresholds.bonus_daily = 100;
  Report first_day = BuildAt(LocalMillis(jan1, 12), {}, thresholds);
  const ThresholdResult& none = Find(first_day, "bonus_daily");
  EXPECT_EQ(none.measured, 0);
  EXPECT_FALSE(none.met);
  EXPECT_NE(none.description.find("no full day yet"), std::string::npos);

  ResolveOn(jan1 - 1, 5000);  // last year: not counted
  for (uint32_t d = jan1; d < jan1 + 10; ++d) ResolveOn(d, d < jan1 + 5 ? 50 : 200);
  Report report = BuildAt(LocalMillis(jan1 + 10, 12), {}, thresholds);
  const ThresholdResult& daily = Find(report, "bonus_daily");
  EXPECT_EQ(daily.measured, 125);  // (5 * 50 + 5 * 200) / 10
  EXPECT_TRUE(daily.met);

  thresholds.bonus_daily = 150;
  Report short_of = BuildAt(LocalMillis(jan1 + 10, 12), {}, thresholds);
  const ThresholdResult& projected = Find(short_of, "bonus_daily");
  EXPECT_FALSE(projected.met);
  // Last 7 days: 2 at 50 and 5 at 200 -> 1100/7 a day; (1250 + k * 1100/7) / (10 + k) > 150
  // first holds at k = 36.
  EXPECT_NEAR(projected.current_rate, 1100 / 7.0, 1e-9);
  ASSERT_TRUE(projected.met_on_day.has_value());
  EXPECT_EQ(*projected.met_on_day, jan1 + 10 + 36);
}

TEST_F(StatsTest, ReportsOverEmptyStoresAndFutureRangesAreWellFormed) {
  const uint32_t today = Day("2026-11-21");
  ReportOptions future;
  future.from = today + 100;
  future.to = today + 102;
  Report report = BuildAt(LocalMillis(today, 12), future);
  EXPECT_EQ(report.registered, 0u);
  ASSERT_EQ(report.days.size(), 3u);
  for (const DayRow& row : report.days) {
    EXPECT_EQ(row.created + row.resolutions + row.requests + row.registered, 0u);
  }
  ASSERT_EQ(report.thresholds.size(), 4u);
  for (const ThresholdResult& t : report.thresholds) {
    EXPECT_FALSE(t.met) << t.id;
    EXPECT_FALSE(t.met_on_day.has_value()) << t.id;
    EXPECT_FALSE(t.projection.empty()) << t.id;
  }
}

TEST_F(StatsTest, RefusesRangesThatEndBeforeTheyStartOrSpanTooLong) {
  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  ReportOptions backwards;
  backwards.from = Day("2026-11-21");
  backwards.to = Day("2026-11-20");
  auto report = BuildReport(*txn, clock_.NowMillis(), kUtc8, {}, backwards);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("2026-11-21 is after to: 2026-11-20"), std::string::npos)
      << report.status();
  ReportOptions huge;
  huge.from = Day("1990-01-01");
  EXPECT_EQ(BuildReport(*txn, clock_.NowMillis(), kUtc8, {}, huge).status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(ParseDay("2026-02-30", "from").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ParseDay("21/11/2026", "--from").status().message().find("--from"), std::string::npos);
  EXPECT_EQ(FormatDay(Day("2028-02-29")), "2028-02-29");
}

TEST_F(StatsTest, BreaksDownByEnterprisePrefixOverTheRange) {
  const uint32_t today = Day("2026-11-21");
  Register("88.123.45", 4, LocalMillis(today - 40, 10));  // before the range
  Register("88.123.45", 3, LocalMillis(today - 1, 10));
  Register("88.123.46", 6, LocalMillis(today, 10));
  clock_.Set(LocalMillis(today, 1));
  ASSERT_TRUE(flusher_->Flush().ok());
  Count(Transport::kUdp, Outcome::kFound, 9, "88.123.46");
  Count(Transport::kGrpc, Outcome::kFound, 1, "88.123.46");
  Count(Transport::kTcp, Outcome::kHandleNotFound, 5, "88.123.45");
  clock_.Set(LocalMillis(today, 11));
  ASSERT_TRUE(flusher_->Flush().ok());

  ReportOptions options;
  options.by_prefix = true;
  options.from = today - 6;
  Report report = BuildAt(LocalMillis(today, 12), options);
  ASSERT_EQ(report.prefixes.size(), 2u);
  const PrefixRow& a = report.prefixes[0];
  const PrefixRow& b = report.prefixes[1];
  EXPECT_EQ(a.prefix, "88.123.45");
  EXPECT_EQ(a.registered, 7u);
  EXPECT_EQ(a.created, 3u);
  EXPECT_EQ(a.resolutions, 0u);
  EXPECT_EQ(a.requests, 5u);
  EXPECT_EQ(b.prefix, "88.123.46");
  EXPECT_EQ(b.registered, 6u);
  EXPECT_EQ(b.created, 6u);
  EXPECT_EQ(b.resolutions, 10u);
  EXPECT_EQ(b.requests, 10u);
  EXPECT_EQ(report.registered, 13u);
  ASSERT_EQ(report.days.size(), 7u);
}

TEST_F(StatsTest, ADamagedCounterIsLeftOutOfTheReportAndTheNextRegistrationRewritesIt) {
  const uint32_t today = Day("2026-11-21");
  Register("88.123.45", 2, LocalMillis(today, 10));
  const std::string key = CounterKey(Metric::kIdentifiersCreated, today, "");
  {
    auto txn = store_->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(txn->Put(CounterTable::kDatabase, key, "bad").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    auto txn = store_->BeginRead();
    ASSERT_TRUE(txn.ok());
    EXPECT_TRUE(absl::IsDataLoss(CounterTable::Get(*txn, key).status()));
  }
  Report damaged = BuildAt(LocalMillis(today, 11));
  EXPECT_EQ(damaged.days.back().day, today);
  EXPECT_EQ(damaged.days.back().created, 0u);  // left out, not misread
  EXPECT_EQ(damaged.registered, 2u);           // the all-time counter is whole

  Register("88.123.45", 1, LocalMillis(today, 12));  // counts from zero, and writes it whole
  EXPECT_EQ(Stored(Metric::kIdentifiersCreated, today, ""), 1u);
  Report after = BuildAt(LocalMillis(today, 13));
  EXPECT_EQ(after.days.back().created, 1u);
  EXPECT_EQ(after.registered, 3u);
}

TEST(CounterRecordTest, KeysAndValuesRoundTripAndWrongLengthsAreRefused) {
  const std::string key = CounterKey(Metric::kIdentifiersDeleted, 20'000, "88.123.45");
  std::optional<CounterKeyParts> parts = ParseCounterKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->metric, static_cast<uint16_t>(Metric::kIdentifiersDeleted));
  EXPECT_EQ(parts->day, 20'000u);
  EXPECT_EQ(parts->scope, "88.123.45");
  EXPECT_FALSE(ParseCounterKey(key.substr(0, 5)).has_value());

  auto value = DecodeCounter(EncodeCounter(uint64_t{1} << 40));
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, uint64_t{1} << 40);
  EXPECT_TRUE(absl::IsDataLoss(DecodeCounter("1234567").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeCounter("123456789").status()));  // not a prefix of more
  EXPECT_TRUE(absl::IsDataLoss(DecodeCounter("").status()));
}

}  // namespace
}  // namespace idnode::stats
