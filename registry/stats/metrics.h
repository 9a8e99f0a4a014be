#pragma once

// Every durable statistic, declared once (STYLE rule 8): /metrics, reports and tests read this
// table. Values live in counters_v1 under the key `metric u16 | day u32 | scope`, where day is the
// reporting day (days since 1970-01-01 in the reporting offset, registry/base/clock.h) or
// kAllTime, and scope is "" for the whole node or a normalised enterprise prefix.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace idnode::stats {

enum class Metric : uint16_t {
  kIdentifiersCreated = 1,  // per day: identifiers newly registered
  kIdentifiersDeleted = 2,  // per day: identifiers deleted
  kIdentifiersTotal = 3,    // all time: identifiers currently registered
};

struct MetricInfo {
  Metric metric;
  std::string_view name;
  std::string_view help;
  bool per_day;
};

inline constexpr std::array<MetricInfo, 3> kMetrics = {{
    {Metric::kIdentifiersCreated, "idnode_identifiers_created",
     "Identifiers newly registered, per reporting day.", true},
    {Metric::kIdentifiersDeleted, "idnode_identifiers_deleted",
     "Identifiers deleted, per reporting day.", true},
    {Metric::kIdentifiersTotal, "idnode_identifiers", "Identifiers currently registered.", false},
}};

inline constexpr uint32_t kAllTime = 0;

std::string CounterKey(Metric metric, uint32_t day, std::string_view scope);

}  // namespace idnode::stats
