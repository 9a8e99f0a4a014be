#pragma once

// Resolution counts per enterprise prefix, kept on the hot path for the durable statistics
// (registry/stats/flush.h reads them every few seconds).
//
// Thread safety: one writer thread calls Count (a UDP or TCP worker; for gRPC, whoever holds the
// lock of a SharedPrefixTally shard). Any thread may call ForEach at any time. The writer takes
// the tally's mutex only to add a prefix it has not seen before (once per prefix); a count is a
// relaxed load and store of the writer's own atomic, so readers see each counter's running total
// without tearing and the writer never waits.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/stats/metrics.h"

namespace idnode::query {

class PrefixTally {
 public:
  // Counts one request of `outcome` under `prefix` (non-empty). Writer thread only.
  void Count(std::string_view prefix, stats::Outcome outcome);

  // Calls fn(prefix, counts) with each prefix's running totals. Any thread.
  void ForEach(const std::function<void(std::string_view, const stats::OutcomeCounts&)>& fn) const;

 private:
  using Row = std::array<std::atomic<uint64_t>, stats::kOutcomeCount>;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Rows = std::unordered_map<std::string, std::unique_ptr<Row>, Hash, std::equal_to<>>;

  Row& RowFor(std::string_view prefix);

  // The map's shape changes only under mu_ (by the writer); the writer reads it without the lock,
  // as no other thread changes it.
  mutable std::mutex mu_;
  Rows rows_;
  // The writer's last row: consecutive requests usually share a prefix.
  std::string last_prefix_;
  Row* last_row_ = nullptr;
};

// A PrefixTally for many writer threads (the gRPC server's): shards, each a tally behind its own
// lock, a thread always using the same shard.
class SharedPrefixTally {
 public:
  void Count(std::string_view prefix, stats::Outcome outcome);
  // As PrefixTally::ForEach, except that a prefix may come once per shard: add them up.
  void ForEach(const std::function<void(std::string_view, const stats::OutcomeCounts&)>& fn) const;

 private:
  static constexpr size_t kShards = 8;
  struct Shard {
    std::mutex mu;  // held by the writer counting; ForEach relies on the tally's own lock
    PrefixTally tally;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace idnode::query
