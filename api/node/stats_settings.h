#pragma once

// The settings of the statistics parts (api/node/stats_part.h): [stats] for the counters and
// their flusher, [upload] for the reports to the authority (api/node/uploader.h).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/base/settings.h"
#include "registry/stats/report.h"

namespace idnode::node {

struct StatsSection {
  static constexpr std::string_view kName = "stats";
  int32_t utc_offset_minutes = 8 * 60;  // reporting day: UTC+08:00
  uint64_t flush_interval_ms = 5000;    // resolution counts reach the disk this often
  stats::Thresholds thresholds;         // policy defaults (registry/stats/report.h)

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    constexpr int64_t kCount = 1'000'000'000'000'000;  // thresholds: any count a node can reach
    keys.Parsed("utc_offset", self.utc_offset_minutes, stats::ParseUtcOffset,
                stats::FormatUtcOffset);
    keys.Number("flush_interval_ms", self.flush_interval_ms, 10, 600'000);
    keys.Number("acceptance_registered", self.thresholds.acceptance_registered, 0, kCount);
    keys.Number("acceptance_daily_resolutions", self.thresholds.acceptance_daily, 0, kCount);
    keys.Number("acceptance_window_days", self.thresholds.acceptance_window_days, 1, 366);
    keys.Number("bonus_new_in_year", self.thresholds.bonus_new_in_year, 0, kCount);
    keys.Number("bonus_daily_resolutions", self.thresholds.bonus_daily, 0, kCount);
  }
};

struct UploadSection {
  static constexpr std::string_view kName = "upload";
  std::string url;             // https://...; empty: off
  std::string ca_file;         // PEM CAs to trust; empty: the system's store
  std::string token_file;      // a bearer token for the receiver, read at start
  std::string node_id;         // as the authority knows this node; default: node.prefix
  uint64_t interval_days = 1;  // each report covers this many whole reporting days
  uint64_t retry_initial_ms = 5'000;
  uint64_t retry_max_ms = 600'000;
  uint64_t timeout_ms = 10'000;

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("url", self.url);
    keys.Text("ca_file", self.ca_file);
    keys.Text("token_file", self.token_file);
    keys.Text("node_id", self.node_id);
    keys.Number("interval_days", self.interval_days, 1, 31);
    keys.Number("retry_initial_ms", self.retry_initial_ms, 10, settings::kHourMs);
    keys.Number("retry_max_ms", self.retry_max_ms, 10, kDayMs);
    keys.Number("timeout_ms", self.timeout_ms, 100, 600'000);
  }
  static absl::Status Check(const UploadSection& section);
};

}  // namespace idnode::node
