#pragma once

// Every durable statistic's id, fixed for good (docs/contributing.md, rule 8; stored counters
// outlive the build). /metrics shows live counters, declared beside the components that keep
// them (registry/base/stats_table.h); the durable per-day counts are read through the report
// (registry/stats/report.h). Values live in counters_v1 under the key `metric u16 | day u32 |
// scope`, where day is the reporting day (days since 1970-01-01 in the reporting offset,
// registry/base/clock.h) or kAllTime, and scope is "" for the whole node or a normalised enterprise
// prefix.
//
// Registrations are counted in the write transaction that makes them (exact). Resolutions are
// counted per thread on the hot path and flushed here every few seconds (registry/stats/flush.h):
// one family of per-day metrics, one id per (transport, outcome).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/base/stats_table.h"
#include "registry/store/table.h"

namespace idnode::stats {

enum class Metric : uint16_t {
  kIdentifiersCreated = 1,  // per day: identifiers newly registered
  kIdentifiersDeleted = 2,  // per day: identifiers deleted
  kIdentifiersTotal = 3,    // all time: identifiers currently registered
};

inline constexpr uint32_t kAllTime = 0;

std::string CounterKey(Metric metric, uint32_t day, std::string_view scope);

// A counters_v1 key taken apart: the metric's id, the day, and the scope (a view into the key).
struct CounterKeyParts {
  uint16_t metric = 0;
  uint32_t day = 0;
  std::string_view scope;
};
// nullopt for a key shorter than an id and a day.
std::optional<CounterKeyParts> ParseCounterKey(std::string_view key);

// A counter's value: u64 big-endian. DATA_LOSS for bytes of any other length.
absl::StatusOr<uint64_t> DecodeCounter(std::string_view bytes);
std::string EncodeCounter(const uint64_t& value);
using CounterTable = store::Table<store::Db::kCounters, uint64_t, DecodeCounter, EncodeCounter>;

// ---- Resolutions ----

enum class Transport : uint8_t { kUdp = 0, kTcp, kGrpc, kCount };
inline constexpr size_t kTransportCount = static_cast<size_t>(Transport::kCount);
std::string_view TransportName(Transport transport);

// What became of a resolution request (the resolver's QueryOutcome is this enum).
enum class Outcome : uint8_t {
  kFound = 0,
  kHandleNotFound,
  kValuesNotFound,
  kNotResponsible,
  kInvalidHandle,
  kSiteInfo,
  kProtocolError,
  kUnsupported,
  kServerError,     // the store failed or holds a malformed record
  kReplyTooLarge,   // the answer exceeded the transport's bound; an error was sent instead
  kDropped,         // not answered: could not be decoded far enough
  kRateLimited,     // not answered: the source exceeded its rate (UDP front end only)
  kReferral,        // a top node referred the client to the serving site (302, 303)
  kRecursed,        // a secondary resolved it through its top node for the client (REC)
  kRecursionLimit,  // RC 6: the request's recursion count reached the limit (a loop?)
  kServerBusy,      // RC 3: too many recursive requests in progress
  kCount,
};
inline constexpr size_t kOutcomeCount = static_cast<size_t>(Outcome::kCount);
std::string_view OutcomeName(Outcome outcome);

// The outcomes that count as a resolution toward the policy thresholds: the identifier exists on
// this node and its record was answered. Misses, refusals and errors are kept (and shown) but
// not counted, so the node never claims volume that junk traffic made.
inline constexpr bool CountsAsResolution(Outcome outcome) {
  return outcome == Outcome::kFound || outcome == Outcome::kValuesNotFound;
}

// Counts per outcome.
struct OutcomeCounts {
  std::array<uint64_t, kOutcomeCount> outcomes{};
  uint64_t& operator[](Outcome o) { return outcomes[static_cast<size_t>(o)]; }
  uint64_t operator[](Outcome o) const { return outcomes[static_cast<size_t>(o)]; }
  void Add(const OutcomeCounts& other) {
    for (size_t i = 0; i < outcomes.size(); ++i) outcomes[i] += other.outcomes[i];
  }
  uint64_t Resolutions() const;  // the CountsAsResolution share
  bool operator==(const OutcomeCounts&) const = default;
};

// Resolutions per reporting day, one metric id per (transport, outcome), node-wide (scope "")
// and per enterprise prefix.
inline constexpr uint16_t kResolutionMetricBase = 0x100;
inline constexpr Metric ResolutionMetric(Transport transport, Outcome outcome) {
  return static_cast<Metric>(kResolutionMetricBase + static_cast<uint16_t>(transport) * 32 +
                             static_cast<uint16_t>(outcome));
}

// The live request counters of a front end, as /metrics shows them: one sample per outcome.
inline constexpr MetricFamily kRequests{
    "idnode_resolution_requests_total", MetricType::kCounter,
    "Resolution requests since the process started, by transport and outcome."};
void DescribeRequests(MetricSink& sink, Transport transport, const OutcomeCounts& counts);

}  // namespace idnode::stats
