#include "resolver/query/tally.h"

namespace idnode::query {

PrefixTally::Row& PrefixTally::RowFor(std::string_view prefix) {
  if (last_row_ != nullptr && prefix == last_prefix_) return *last_row_;
  auto it = rows_.find(prefix);
  if (it == rows_.end()) {
    std::lock_guard lock(mu_);
    it = rows_.emplace(std::string(prefix), std::make_unique<Row>()).first;
  }
  last_prefix_.assign(prefix);
  last_row_ = it->second.get();
  return *last_row_;
}

void PrefixTally::Count(std::string_view prefix, stats::Outcome outcome) {
  std::atomic<uint64_t>& counter = RowFor(prefix)[static_cast<size_t>(outcome)];
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void PrefixTally::ForEach(
    const std::function<void(std::string_view, const stats::OutcomeCounts&)>& fn) const {
  std::lock_guard lock(mu_);
  stats::OutcomeCounts counts;
  for (const auto& [prefix, row] : rows_) {
    for (size_t i = 0; i < stats::kOutcomeCount; ++i) {
      counts.outcomes[i] = (*row)[i].load(std::memory_order_relaxed);
    }
    fn(prefix, counts);
  }
}

void SharedPrefixTally::Count(std::string_view prefix, stats::Outcome outcome) {
  static std::atomic<size_t> next_shard{0};
  thread_local const size_t shard = next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
  Shard& s = shards_[shard];
  std::lock_guard lock(s.mu);
  s.tally.Count(prefix, outcome);
}

void SharedPrefixTally::ForEach(
    const std::function<void(std::string_view, const stats::OutcomeCounts&)>& fn) const {
  for (const Shard& s : shards_) s.tally.ForEach(fn);
}

}  // namespace idnode::query
