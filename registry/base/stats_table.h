#pragma once

// Statistics declared beside the counter (docs/contributing.md, rule 9). A component declares
// each metric family it exports once, as a MetricFamily constant, and maps its stats struct onto
// those families in a table of StatRow: family, an optional fixed label, and the field it reads.
// /metrics is rendered from those tables (api/http/prometheus.h); tests read the same tables
// through a MetricSink of their own rather than matching hand-written strings.
//
//   inline constexpr MetricFamily kCommits{"idnode_writer_commits_total", MetricType::kCounter,
//                                          "Write transactions committed."};
//   inline constexpr StatRow<WriterStats> kWriterStatRows[] = {
//       Stat<&WriterStats::commits>(kCommits), ...};
//   DescribeRows(sink, kWriterStatRows, writer.stats());
//
// A family with several labelled samples lists one row per label value; families whose label
// values are only known at run time (one sample per thread, per outcome) are added by a loop
// in the component's DescribeStats, against the same declarations.
//
// Thread-compatible: a sink belongs to one scrape.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace idnode {

enum class MetricType { kCounter, kGauge };

struct MetricFamily {
  std::string_view name;  // counters end in _total, per Prometheus' naming rules
  MetricType type;
  std::string_view help;
};

struct Label {
  std::string_view name;
  std::string_view value;
};

using MetricValue = std::variant<uint64_t, double>;

// Receives samples. Families are identified by the address of their declaration: declare each
// once (inline constexpr in a header) and every component adding to it shares one family.
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void Add(const MetricFamily& family, std::span<const Label> labels,
                   MetricValue value) = 0;

  void Add(const MetricFamily& family, std::initializer_list<Label> labels, uint64_t value) {
    Add(family, std::span<const Label>(labels.begin(), labels.size()), MetricValue(value));
  }
  void Add(const MetricFamily& family, std::initializer_list<Label> labels, double value) {
    Add(family, std::span<const Label>(labels.begin(), labels.size()), MetricValue(value));
  }
};

// One sample of a stats struct: `read` turns the struct into the sample's value.
template <typename Stats>
struct StatRow {
  const MetricFamily* family;
  Label label;  // name empty: no label of its own
  MetricValue (*read)(const Stats&);
};

namespace stats_table_internal {
template <typename T>
struct MemberOf;
template <typename C, typename M>
struct MemberOf<M C::*> {
  using Class = C;
  using Type = M;
};
}  // namespace stats_table_internal

// The row for a numeric or bool field (a bool is 1 or 0).
template <auto Member>
constexpr auto Stat(const MetricFamily& family, Label label = {}) {
  using Stats = typename stats_table_internal::MemberOf<decltype(Member)>::Class;
  using Field = typename stats_table_internal::MemberOf<decltype(Member)>::Type;
  return StatRow<Stats>{&family, label, [](const Stats& stats) -> MetricValue {
                          if constexpr (std::is_same_v<Field, bool>) {
                            return uint64_t{stats.*Member ? 1u : 0u};
                          } else if constexpr (std::is_floating_point_v<Field>) {
                            return static_cast<double>(stats.*Member);
                          } else {
                            return static_cast<uint64_t>(stats.*Member);
                          }
                        }};
}

// Adds every row of `rows` read from `stats`, each with `scope` labels first (transport="udp").
template <typename Stats, size_t N>
void DescribeRows(MetricSink& sink, const StatRow<Stats> (&rows)[N], const Stats& stats,
                  std::span<const Label> scope = {}) {
  std::vector<Label> labels(scope.begin(), scope.end());
  for (const StatRow<Stats>& row : rows) {
    labels.resize(scope.size());
    if (!row.label.name.empty()) labels.push_back(row.label);
    sink.Add(*row.family, labels, row.read(stats));
  }
}

}  // namespace idnode
