#pragma once

// The Prometheus text exposition format (version 0.0.4), as /metrics serves it. Each metric
// family is declared once, with its name, type and help text; an Exposition collects samples
// against those declarations and writes every family once, its
// HELP and TYPE lines first and its samples together, in the order the families were first used.
// Families are declared as MetricFamily constants (registry/base/stats_table.h), beside the
// counters they export.
//
// Thread-compatible: one Exposition per scrape.

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "registry/base/stats_table.h"

namespace idnode::http {

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

class Exposition final : public MetricSink {
 public:
  using MetricSink::Add;
  void Add(const MetricFamily& family, std::span<const Label> labels, MetricValue value) override;
  std::string Render() const;

 private:
  std::string& Samples(const MetricFamily& family);

  std::vector<std::pair<const MetricFamily*, std::string>> families_;
};

}  // namespace idnode::http
