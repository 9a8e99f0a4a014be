#pragma once

// Answers a secondary node obtained by recursion (resolving, on a client's behalf, a handle it
// does not host through its top node), kept until their TTL runs out so that the next client
// asking gets them without another walk. Bounded: the least recently used answer makes room.
//
// Thread-safe: one mutex; only requests that recurse touch it, never the node's own resolutions.

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/base/stats_table.h"

namespace idnode::query {

// Milliseconds on the steady clock: what cache expiry times are measured in.
inline uint64_t SteadyMillis() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// What the walk found for a handle: a value list (response code 1; encoded as records store
// theirs, maybe empty) or another final response code with its message (100 handle not found,
// 6 recursion limit, 2 error, ...).
struct RecursionAnswer {
  uint32_t response_code = 0;
  std::string values;
  std::string message;
};

struct RecursionCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t entries = 0;
};

inline constexpr MetricFamily kRecursionCache{"idnode_recursion_cache_lookups_total",
                                              MetricType::kCounter,
                                              "Recursion cache lookups, by result (hit, miss)."};
inline constexpr MetricFamily kRecursionCacheEntries{
    "idnode_recursion_cache_entries", MetricType::kGauge, "Answers the recursion cache holds."};
inline constexpr StatRow<RecursionCacheStats> kRecursionCacheRows[] = {
    Stat<&RecursionCacheStats::hits>(kRecursionCache, {"result", "hit"}),
    Stat<&RecursionCacheStats::misses>(kRecursionCache, {"result", "miss"}),
    Stat<&RecursionCacheStats::entries>(kRecursionCacheEntries),
};

class RecursionCache {
 public:
  // Holds at most `capacity` answers; 0 caches nothing.
  explicit RecursionCache(size_t capacity) : capacity_(capacity) {}

  // Copies the answer for `key` into `out` when one is cached and has not expired at `now_ms`
  // (an expired one is dropped). Counts a hit or a miss.
  bool Get(std::string_view key, uint64_t now_ms, RecursionAnswer& out);
  // Keeps `answer` for `key` until `expires_ms`, replacing an older one.
  void Put(std::string_view key, const RecursionAnswer& answer, uint64_t expires_ms);
  RecursionCacheStats stats() const;

 private:
  struct Entry {
    std::string key;
    RecursionAnswer answer;
    uint64_t expires_ms = 0;
  };
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys in entries_
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace idnode::query
