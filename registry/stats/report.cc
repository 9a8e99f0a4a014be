#include "registry/stats/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>

#include "registry/base/clock.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/stats/metrics.h"

namespace idnode::stats {
namespace {

// Calls fn(day, scope, value) for each stored counter of `metric` with day in [from, to].
void ScanMetric(const store::ReadTxn& txn, Metric metric, uint32_t from, uint32_t to,
                const std::function<void(uint32_t, std::string_view, uint64_t)>& fn) {
  store::Cursor cursor = txn.OpenCursor(CounterTable::kDatabase);
  for (bool more = cursor.Seek(CounterKey(metric, from, "")); more; more = cursor.Next()) {
    std::optional<CounterKeyParts> key = ParseCounterKey(cursor.key());
    if (!key || key->metric != static_cast<uint16_t>(metric) || key->day > to) break;
    absl::StatusOr<uint64_t> value = CounterTable::DecodeStored(cursor.value());
    if (!value.ok()) continue;  // a damaged counter is left out of the report
    fn(key->day, key->scope, *value);
  }
}

std::chrono::year_month_day Civil(uint32_t day) {
  return std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(day)));
}

uint32_t FirstDayOfYear(uint32_t day) {
  std::chrono::year_month_day ymd = Civil(day);
  return static_cast<uint32_t>(
      std::chrono::sys_days(ymd.year() / std::chrono::January / 1).time_since_epoch().count());
}

uint32_t LastDayOfYear(uint32_t day) {
  std::chrono::year_month_day ymd = Civil(day);
  return static_cast<uint32_t>(
      std::chrono::sys_days(ymd.year() / std::chrono::December / 31).time_since_epoch().count());
}

// Node-wide per-day values over [lo, hi].
struct Series {
  uint32_t lo = 0;
  std::vector<DayRow> rows;
  DayRow& at(uint32_t day) { return rows[day - lo]; }
  uint64_t Sum(uint64_t DayRow::*field, uint32_t from, uint32_t to) const {
    uint64_t sum = 0;
    for (uint32_t d = std::max(from, lo); d <= to && d - lo < rows.size(); ++d) {
      sum += rows[d - lo].*field;
    }
    return sum;
  }
};

bool Meets(double measured, uint64_t target, bool strictly_more) {
  return strictly_more ? measured > static_cast<double>(target)
                       : measured >= static_cast<double>(target);
}

// The least k >= 1 with meets(k), starting from an estimate that floating point may leave one
// off either way; empty when that is more than kMaxProjectionDays away. REQUIRES: meets is
// monotonic.
constexpr double kMaxProjectionDays = 36'600;
template <typename Meets>
std::optional<uint32_t> FirstDayMeeting(double estimate, Meets meets) {
  if (!(estimate <= kMaxProjectionDays)) return std::nullopt;  // NaN too
  uint32_t k = std::max<uint32_t>(static_cast<uint32_t>(std::max(estimate, 0.0)), 1);
  for (int step = 0; !meets(k); ++step) {
    if (step == 3) return std::nullopt;
    ++k;
  }
  while (k > 1 && meets(k - 1)) --k;
  return k;
}

// For a count that grows by `rate` a day: the days from now until it meets `r`'s target; empty
// when it is met already or never will be.
std::optional<uint32_t> DaysToReach(const ThresholdResult& r, double rate) {
  if (r.met || rate <= 0) return std::nullopt;
  return FirstDayMeeting((static_cast<double>(r.target) - r.measured) / rate, [&](uint32_t d) {
    return Meets(r.measured + d * rate, r.target, r.strictly_more);
  });
}

ThresholdResult NewThreshold(std::string id, std::string description) {
  ThresholdResult result;
  result.id = std::move(id);
  result.description = std::move(description);
  return result;
}

void SetProjection(ThresholdResult& result, std::optional<uint32_t> day, std::string_view never) {
  if (result.met) {
    result.projection = "met";
  } else if (day) {
    result.met_on_day = day;
    result.projection = StrCat("on ", FormatDay(*day), " at the current rate");
  } else {
    result.projection = std::string(never);
  }
}

}  // namespace

std::string FormatDay(uint32_t day) {
  std::chrono::year_month_day ymd = Civil(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

absl::StatusOr<uint32_t> ParseDay(std::string_view text, std::string_view field) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat(field, ": \"", text, "\" is not a date of the form YYYY-MM-DD"));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  size_t spans[3][2] = {{0, 4}, {5, 2}, {8, 2}};
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < spans[i][1]; ++k) {
      char c = text[spans[i][0] + k];
      if (c < '0' || c > '9') return bad();
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  std::chrono::year_month_day ymd{std::chrono::year(parts[0]),
                                  std::chrono::month(static_cast<unsigned>(parts[1])),
                                  std::chrono::day(static_cast<unsigned>(parts[2]))};
  if (!ymd.ok() || parts[0] < 1970) {
    return absl::InvalidArgumentError(StrCat(field, ": \"", text, "\" is not a valid date"));
  }
  return static_cast<uint32_t>(std::chrono::sys_days(ymd).time_since_epoch().count());
}

namespace {

// The days every threshold is judged on, and the recent rates its projection extrapolates.
struct Judged {
  uint32_t today = 0;
  uint32_t yesterday = 0;  // the last full day
  bool has_full_day = false;
  uint32_t window = 1;  // acceptance_window_days, at least 1
  uint32_t year_start = 0, year_end = 0;
  uint32_t DaysBefore(uint32_t n) const { return today >= n ? today - n : 0; }
  double resolution_rate = 0, created_rate = 0, net_rate = 0;  // a day, over kRateWindowDays
};

// Reads the node-wide series over [series.lo, hi], today's registered total, and with
// options.by_prefix the per-prefix rows of the report's range.
void ScanCounters(const store::ReadTxn& txn, uint32_t hi, const ReportOptions& options,
                  Series& series, Report& report) {
  std::map<std::string, PrefixRow, std::less<>> prefixes;
  auto prefix_row = [&](std::string_view scope) -> PrefixRow& {
    auto it = prefixes.find(scope);
    if (it == prefixes.end()) {
      it = prefixes.emplace(std::string(scope), PrefixRow{std::string(scope)}).first;
    }
    return it->second;
  };
  auto in_range = [&](uint32_t day) {
    return options.by_prefix && day >= report.from && day <= report.to;
  };
  auto scan = [&](Metric metric, uint64_t DayRow::*day_field, uint64_t PrefixRow::*prefix_field) {
    ScanMetric(txn, metric, series.lo, hi, [&](uint32_t day, std::string_view scope, uint64_t v) {
      if (scope.empty()) {
        series.at(day).*day_field += v;
      } else if (in_range(day)) {
        prefix_row(scope).*prefix_field += v;
      }
    });
  };
  scan(Metric::kIdentifiersCreated, &DayRow::created, &PrefixRow::created);
  scan(Metric::kIdentifiersDeleted, &DayRow::deleted, &PrefixRow::deleted);
  for (size_t t = 0; t < kTransportCount; ++t) {
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      const auto outcome = static_cast<Outcome>(o);
      const bool counted = CountsAsResolution(outcome);
      ScanMetric(txn, ResolutionMetric(static_cast<Transport>(t), outcome), series.lo, hi,
                 [&](uint32_t day, std::string_view scope, uint64_t v) {
                   if (scope.empty()) {
                     series.at(day).requests += v;
                     if (counted) series.at(day).resolutions += v;
                   } else if (in_range(day)) {
                     PrefixRow& row = prefix_row(scope);
                     row.requests += v;
                     if (counted) row.resolutions += v;
                   }
                 });
    }
  }
  ScanMetric(txn, Metric::kIdentifiersTotal, kAllTime, kAllTime,
             [&](uint32_t, std::string_view scope, uint64_t v) {
               if (scope.empty()) {
                 report.registered = v;
               } else if (options.by_prefix) {
                 prefix_row(scope).registered = v;
               }
             });
  for (auto& [name, row] : prefixes) report.prefixes.push_back(std::move(row));
}

// Registered at the end of each day of [series.lo, hi]: today's total, unwound by each later
// day's net change.
void UnwindRegistered(uint32_t hi, uint32_t today, uint64_t registered_now, Series& series) {
  uint64_t registered = registered_now;
  for (uint32_t d = hi;; --d) {
    DayRow& row = series.at(d);
    row.registered = d >= today ? registered_now : registered;
    if (d <= today) {
      int64_t before = static_cast<int64_t>(registered) - static_cast<int64_t>(row.created) +
                       static_cast<int64_t>(row.deleted);
      registered = static_cast<uint64_t>(std::max<int64_t>(before, 0));
    }
    if (d == series.lo) break;
  }
}

ThresholdResult AcceptanceRegistered(const Judged& j, uint64_t registered, uint64_t target) {
  ThresholdResult r = NewThreshold("acceptance_registered", "identifiers registered now");
  r.measured = static_cast<double>(registered);
  r.target = target;
  r.met = Meets(r.measured, r.target, false);
  r.current_rate = j.net_rate;
  std::optional<uint32_t> days = DaysToReach(r, j.net_rate);
  SetProjection(r, days ? std::optional(j.today + *days) : std::nullopt, "not at the current rate");
  return r;
}

// Resolutions per day over the last `window` full days.
ThresholdResult AcceptanceDaily(const Judged& j, const Series& series, uint64_t target) {
  const uint32_t first = j.DaysBefore(j.window);
  ThresholdResult r = NewThreshold(
      "acceptance_daily", StrCat("resolutions per day, average of the ", j.window, " full days ",
                                 FormatDay(first), " to ", FormatDay(j.yesterday)));
  const uint64_t sum = j.has_full_day ? series.Sum(&DayRow::resolutions, first, j.yesterday) : 0;
  r.measured = static_cast<double>(sum) / j.window;
  r.target = target;
  r.met = j.has_full_day && Meets(r.measured, r.target, false);
  r.current_rate = j.resolution_rate;
  std::optional<uint32_t> when;
  // After k more days at the current rate, the window holds its last window-k days and k new.
  for (uint32_t k = 1; !r.met && k <= j.window; ++k) {
    double kept = static_cast<double>(series.Sum(&DayRow::resolutions, first + k, j.yesterday));
    if (Meets((kept + j.resolution_rate * k) / j.window, r.target, false)) {
      when = j.today + k;
      break;
    }
  }
  SetProjection(r, when, "not at the current rate");
  return r;
}

// Identifiers newly registered in the calendar year.
ThresholdResult BonusNewInYear(const Judged& j, const Series& series, uint64_t target) {
  ThresholdResult r = NewThreshold(
      "bonus_new_in_year",
      StrCat("identifiers newly registered from ", FormatDay(j.year_start), " to today"));
  r.measured = static_cast<double>(series.Sum(&DayRow::created, j.year_start, j.today));
  r.target = target;
  r.strictly_more = true;
  r.met = Meets(r.measured, r.target, true);
  r.current_rate = j.created_rate;
  std::optional<uint32_t> days = DaysToReach(r, j.created_rate);
  std::optional<uint32_t> when;
  if (days && j.today + *days <= j.year_end) when = j.today + *days;
  SetProjection(r, when, "not within this calendar year at the current rate");
  return r;
}

// Resolutions per day averaged over the full days of the year so far.
ThresholdResult BonusDaily(const Judged& j, const Series& series, uint64_t target_count) {
  const uint32_t full_days = j.today - j.year_start;
  ThresholdResult r = NewThreshold(
      "bonus_daily", full_days == 0
                         ? std::string("resolutions per day over the year so far: no full day yet")
                         : StrCat("resolutions per day, average of the ", full_days, " full days ",
                                  FormatDay(j.year_start), " to ", FormatDay(j.yesterday)));
  const double sum =
      full_days == 0
          ? 0
          : static_cast<double>(series.Sum(&DayRow::resolutions, j.year_start, j.yesterday));
  r.measured = full_days == 0 ? 0 : sum / full_days;
  r.target = target_count;
  r.strictly_more = true;
  r.met = full_days > 0 && Meets(r.measured, r.target, true);
  r.current_rate = j.resolution_rate;
  std::optional<uint32_t> when;
  const double target = static_cast<double>(r.target);
  const double rate = j.resolution_rate;
  if (!r.met && rate > target) {
    // After k more full days: (sum + k * rate) / (full_days + k) > target.
    std::optional<uint32_t> k = FirstDayMeeting(
        (target * full_days - sum) / (rate - target),
        [&](uint32_t n) { return Meets((sum + n * rate) / (full_days + n), r.target, true); });
    if (k && j.today + *k <= j.year_end + 1) when = j.today + *k;
  }
  SetProjection(r, when, "not within this calendar year at the current rate");
  return r;
}

}  // namespace

absl::StatusOr<Report> BuildReport(const store::ReadTxn& txn, int64_t now_ms,
                                   int32_t utc_offset_minutes, const Thresholds& thresholds,
                                   const ReportOptions& options) {
  Report report;
  report.generated_ms = now_ms;
  report.utc_offset_minutes = utc_offset_minutes;
  Judged j;
  j.today = ReportingDay(now_ms, utc_offset_minutes);
  report.today = j.today;
  report.to = options.to.value_or(j.today);
  report.from = options.from.value_or(report.to >= 29 ? report.to - 29 : 0);
  if (report.from > report.to) {
    return absl::InvalidArgumentError(
        StrCat("from: ", FormatDay(report.from), " is after to: ", FormatDay(report.to)));
  }
  if (report.to - report.from >= kMaxReportDays) {
    return absl::InvalidArgumentError(
        StrCat("from/to: the range spans more than ", kMaxReportDays, " days; ask for less"));
  }
  j.window = std::max<uint32_t>(thresholds.acceptance_window_days, 1);
  j.year_start = FirstDayOfYear(j.today);
  j.year_end = LastDayOfYear(j.today);
  j.yesterday = j.DaysBefore(1);
  j.has_full_day = j.today > 0;

  // One node-wide series covering the report's range and everything the thresholds look at.
  Series series;
  series.lo =
      std::min({report.from, j.year_start, j.DaysBefore(j.window), j.DaysBefore(kRateWindowDays)});
  const uint32_t hi = std::max(report.to, j.today);
  series.rows.resize(hi - series.lo + 1);
  for (uint32_t d = series.lo; d <= hi; ++d) series.at(d).day = d;
  ScanCounters(txn, hi, options, series, report);
  UnwindRegistered(hi, j.today, report.registered, series);
  report.days.assign(series.rows.begin() + (report.from - series.lo),
                     series.rows.begin() + (report.to - series.lo) + 1);

  auto rate_of = [&](uint64_t DayRow::*field) {
    return j.has_full_day ? static_cast<double>(
                                series.Sum(field, j.DaysBefore(kRateWindowDays), j.yesterday)) /
                                kRateWindowDays
                          : 0.0;
  };
  j.resolution_rate = rate_of(&DayRow::resolutions);
  j.created_rate = rate_of(&DayRow::created);
  j.net_rate = j.created_rate - rate_of(&DayRow::deleted);
  report.thresholds = {
      AcceptanceRegistered(j, report.registered, thresholds.acceptance_registered),
      AcceptanceDaily(j, series, thresholds.acceptance_daily),
      BonusNewInYear(j, series, thresholds.bonus_new_in_year),
      BonusDaily(j, series, thresholds.bonus_daily),
  };
  return report;
}

absl::StatusOr<ReportOptions> ParseReportOptions(std::string_view from, std::string_view to,
                                                 bool by_prefix) {
  ReportOptions options;
  options.by_prefix = by_prefix;
  if (!from.empty()) {
    ASSIGN_OR_RETURN(options.from, ParseDay(from, "from"));
  }
  if (!to.empty()) {
    ASSIGN_OR_RETURN(options.to, ParseDay(to, "to"));
  }
  return options;
}

absl::StatusOr<int32_t> ParseUtcOffset(std::string_view text) {
  if (text == "Z" || text == "UTC") return 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') {
    return absl::InvalidArgumentError(StrCat("\"", text, "\" is not of the form +HH:MM"));
  }
  auto digits = [&](size_t at) -> int {
    if (text[at] < '0' || text[at] > '9' || text[at + 1] < '0' || text[at + 1] > '9') return -1;
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  const int hours = digits(1), minutes = digits(4);
  if (hours < 0 || minutes < 0 || hours > 14 || minutes > 59) {
    return absl::InvalidArgumentError(StrCat("\"", text, "\" is out of range"));
  }
  const int total = hours * 60 + minutes;
  return text[0] == '-' ? -total : total;
}

std::string FormatUtcOffset(int32_t minutes) {
  const char sign = minutes < 0 ? '-' : '+';
  const int32_t magnitude = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", sign, magnitude / 60, magnitude % 60);
}

// RFC 3339 time of `unix_ms` in the reporting offset.
std::string FormatLocalTime(int64_t unix_ms, int32_t offset_minutes) {
  // Signed days: a time before 1970 in the offset (a record's zero time, west of UTC) still has
  // its time of day right; ReportingDay's days are unsigned.
  constexpr int64_t kDaySeconds = kDayMs / 1000;
  const int64_t local_s = unix_ms / 1000 + int64_t{offset_minutes} * 60;
  const int64_t day =
      local_s >= 0 ? local_s / kDaySeconds : (local_s - (kDaySeconds - 1)) / kDaySeconds;
  const int64_t second_of_day = local_s - day * kDaySeconds;
  return fmt::format("{}T{:02}:{:02}:{:02}{}", FormatDay(static_cast<uint32_t>(day)),
                     second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60,
                     FormatUtcOffset(offset_minutes));
}

}  // namespace idnode::stats
