#pragma once

// The Prometheus text exposition format (version 0.0.4), as /metrics serves it. Each metric
// family is declared once, as a FamilyInfo constant with its name, type and help text; an
// Exposition collects samples against those declarations and writes every family once, its
// HELP and TYPE lines first and its samples together, in the order the families were first used.
//
// Thread-compatible: one Exposition per scrape.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idnode::http {

enum class MetricType { kCounter, kGauge };

struct FamilyInfo {
  std::string_view name;  // counters end in _total, per Prometheus' naming rules
  MetricType type;
  std::string_view help;
};

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Exposition {
 public:
  void Add(const FamilyInfo& family, Labels labels, uint64_t value);
  void Add(const FamilyInfo& family, Labels labels, double value);
  std::string Render() const;

 private:
  std::string& Samples(const FamilyInfo& family);
  void Line(const FamilyInfo& family, Labels labels, std::string_view value);

  std::vector<std::pair<const FamilyInfo*, std::string>> families_;
};

}  // namespace idnode::http
