#pragma once

// The numbers the authorities judge a node by (docs/architecture.md §7), read from counters_v1: per
// threshold the measured value, the target, met or not and, at the current rate, the day it would
// be met; a per-day series; and a per enterprise prefix breakdown. `idctl report`, the Stats gRPC
// service and the HTTP endpoints all show this one structure.
//
// Definitions (all days are reporting days in the configured UTC offset):
//   registered          identifiers currently registered (exact: counted in the write
//                       transaction);
//   resolutions         resolution requests for identifiers registered here whose record was
//                       answered (outcomes found and values_not_found, stats::CountsAsResolution),
//                       over UDP, TCP and gRPC; misses and refusals are shown as requests only;
//   acceptance_registered   registered >= target (default 100);
//   acceptance_daily        resolutions per day averaged over the last `window` full days
//                           (default 30; days before the node existed count as 0) >= target
//                           (default 200);
//   bonus_new_in_year       identifiers newly registered in the calendar year so far, today
//                           included > target (default 100,000,000);
//   bonus_daily             resolutions per day averaged over the full days of the calendar year
//                           so far > target (default 30,000); nothing before the year's second day.
// "The current rate" is the average of the last 7 full days. A projection is empty when the
// threshold is met, and names no day when the current rate never meets it (or, for a yearly
// threshold, not within the year).
//
// Thread-safe: pure functions over a read transaction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"

namespace idnode::stats {

struct Thresholds {
  uint64_t acceptance_registered = 100;
  uint64_t acceptance_daily = 200;
  uint32_t acceptance_window_days = 30;
  uint64_t bonus_new_in_year = 100'000'000;
  uint64_t bonus_daily = 30'000;
};

inline constexpr uint32_t kRateWindowDays = 7;
inline constexpr uint32_t kMaxReportDays = 3700;  // about ten years per request

struct ThresholdResult {
  std::string id;           // acceptance_registered, acceptance_daily, bonus_new_in_year, ...
  std::string description;  // what is measured, over which days
  double measured = 0;
  uint64_t target = 0;
  bool strictly_more = false;  // target must be exceeded (bonus) rather than reached
  bool met = false;
  double current_rate = 0;             // per day, the basis of the projection
  std::optional<uint32_t> met_on_day;  // projected day it would be met; empty if met or never
  std::string projection;              // "met", "on 2027-01-04", "not at the current rate", ...
};

struct DayRow {
  uint32_t day = 0;
  uint64_t created = 0;
  uint64_t deleted = 0;
  uint64_t registered = 0;   // at the end of the day (today: now)
  uint64_t resolutions = 0;  // counted toward the thresholds
  uint64_t requests = 0;     // every resolution request, whatever its outcome
};

struct PrefixRow {
  std::string prefix;
  uint64_t registered = 0;  // now
  uint64_t created = 0;     // over the report's range
  uint64_t deleted = 0;
  uint64_t resolutions = 0;
  uint64_t requests = 0;
};

struct ReportOptions {
  std::optional<uint32_t> from, to;  // per-day series; default: the last 30 days, today included
  bool by_prefix = false;
};

struct Report {
  int64_t generated_ms = 0;
  int32_t utc_offset_minutes = 0;
  uint32_t today = 0;
  uint64_t registered = 0;
  std::vector<ThresholdResult> thresholds;
  uint32_t from = 0, to = 0;
  std::vector<DayRow> days;         // from..to, every day present (zeros where nothing happened)
  std::vector<PrefixRow> prefixes;  // with by_prefix: every prefix with counts, by name
};

// INVALID_ARGUMENT naming the field for a range that ends before it starts or spans more than
// kMaxReportDays; store errors as the store reports them. Ranges in the future are well formed
// (zeros).
absl::StatusOr<Report> BuildReport(const store::ReadTxn& txn, int64_t now_ms,
                                   int32_t utc_offset_minutes, const Thresholds& thresholds,
                                   const ReportOptions& options);

// "2026-11-21" for a reporting day (days since 1970-01-01), and back. ParseDay names `field` in
// its INVALID_ARGUMENT.
std::string FormatDay(uint32_t day);
absl::StatusOr<uint32_t> ParseDay(std::string_view text, std::string_view field);

// "+08:00" for an offset in minutes east of UTC, and back ("Z" and "UTC" are 0 too).
std::string FormatUtcOffset(int32_t minutes);
absl::StatusOr<int32_t> ParseUtcOffset(std::string_view text);
// RFC 3339 time of `unix_ms` in that offset: "2026-11-21T10:00:00+08:00".
std::string FormatLocalTime(int64_t unix_ms, int32_t offset_minutes);

// Report options from the text the Stats service and /api/stats take: `from` and `to` as
// YYYY-MM-DD, empty for the default range. INVALID_ARGUMENT naming "from" or "to".
absl::StatusOr<ReportOptions> ParseReportOptions(std::string_view from, std::string_view to,
                                                 bool by_prefix);

}  // namespace idnode::stats
