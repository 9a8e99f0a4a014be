#pragma once

// A MetricSink that keeps every sample, for tests that assert on the statistics tables
// (registry/base/stats_table.h) rather than on rendered /metrics text.

#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "registry/base/stats_table.h"

namespace idnode::testing {

class RecordingSink : public MetricSink {
 public:
  using MetricSink::Add;
  void Add(const MetricFamily& family, std::span<const Label> labels, MetricValue value) override {
    samples_[{&family, Key(labels)}] = value;
    order_.push_back(&family);
  }

  // The sample of `family` with exactly `labels`, or nothing.
  std::optional<MetricValue> Get(const MetricFamily& family,
                                 std::initializer_list<Label> labels = {}) const {
    auto found = samples_.find({&family, Key({labels.begin(), labels.size()})});
    if (found == samples_.end()) return std::nullopt;
    return found->second;
  }
  // The same, as a count: -1 when absent or not an integer.
  int64_t Count(const MetricFamily& family, std::initializer_list<Label> labels = {}) const {
    std::optional<MetricValue> value = Get(family, labels);
    if (!value || !std::holds_alternative<uint64_t>(*value)) return -1;
    return static_cast<int64_t>(std::get<uint64_t>(*value));
  }
  size_t size() const { return samples_.size(); }
  // The family of each sample, in the order they came.
  const std::vector<const MetricFamily*>& order() const { return order_; }

 private:
  static std::string Key(std::span<const Label> labels) {
    std::string key;
    for (const Label& label : labels) {
      key += std::string(label.name) + "=" + std::string(label.value) + ",";
    }
    return key;
  }

  std::map<std::pair<const MetricFamily*, std::string>, MetricValue> samples_;
  std::vector<const MetricFamily*> order_;
};

}  // namespace idnode::testing
