#pragma once

// Makes the resolver's hot-path counters durable (docs/architecture.md §7). The front ends count
// per thread without locks; every few seconds, at each reporting-day boundary and at shutdown, the
// flusher reads their running totals, subtracts what it already wrote, and writes the difference to
// counters_v1 in one writer transaction, returning once that is on disk.
//
// What a crash can lose: the resolutions counted since the last flush that reached the disk, at
// most one interval's worth (plus the time one flush takes). It never counts anything twice: a
// flush is one transaction, and the totals it wrote are marked flushed only after the commit; a
// crash before the commit leaves nothing of it on disk, and a failed commit is retried in full by
// the next flush.
//
// Day attribution: a flush writes its counts under the reporting day in which its interval began.
// The flusher wakes at each day boundary, so only the requests answered between midnight and that
// wake-up (milliseconds) land on the day before.
//
// Threads: Flush() from any thread (flushes are serialised); Start()/Stop() from one.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "registry/base/clock.h"
#include "registry/base/exception_guard.h"
#include "registry/base/mutex.h"
#include "registry/base/stats_table.h"
#include "registry/stats/metrics.h"
#include "registry/writer/writer.h"

namespace idnode::stats {

// Running totals since the node started, as the front ends keep them.
struct ResolutionTotals {
  std::array<OutcomeCounts, kTransportCount> node{};  // per transport, the whole node
  // Per (transport, enterprise prefix); only prefixes allocated on this node.
  std::map<std::pair<Transport, std::string>, OutcomeCounts> prefixes;

  // For a front end's ForEachPrefix(fn(prefix, counts)): adds each prefix's counts under
  // `transport`.
  auto PrefixAdder(Transport transport) {
    return [this, transport](std::string_view prefix, const auto& counts) {
      prefixes[{transport, std::string(prefix)}].Add(counts);
    };
  }
};

// A front end that counts resolutions (the Handle front ends, gRPC). The node sums every source
// it runs into the totals the flusher reads.
class ResolutionSource {
 public:
  virtual ~ResolutionSource() = default;
  // Adds this front end's running totals, node-wide and per prefix. Any thread.
  virtual void AddResolutions(ResolutionTotals& totals) const = 0;
};

struct FlushOptions {
  std::chrono::milliseconds interval{5000};
  int32_t utc_offset_minutes = 8 * 60;
};

struct FlushStats {
  uint64_t flushes = 0;       // transactions that wrote counts
  uint64_t failures = 0;      // flushes that did not reach the disk (retried by the next)
  int64_t last_flush_ms = 0;  // when the last successful flush began (0: none yet)
  bool last_failed = false;   // the latest flush did not reach the disk
  uint64_t exceptions = 0;    // caught on the flusher's thread (counted in failures too)
};

inline constexpr MetricFamily kFlushes{"idnode_stats_flushes_total", MetricType::kCounter,
                                       "Resolution counts flushed to the store."};
inline constexpr MetricFamily kFlushFailures{"idnode_stats_flush_failures_total",
                                             MetricType::kCounter,
                                             "Flushes of resolution counts that failed (retried)."};
inline constexpr MetricFamily kLastFlush{
    "idnode_stats_last_flush_timestamp_seconds", MetricType::kGauge,
    "When the last successful flush began; 0 before the first."};
inline constexpr StatRow<FlushStats> kFlushStatRows[] = {
    Stat<&FlushStats::flushes>(kFlushes),
    Stat<&FlushStats::failures>(kFlushFailures),
    {&kLastFlush, {}, [](const FlushStats& s) -> MetricValue { return s.last_flush_ms / 1000.0; }},
};

class ResolutionFlusher {
 public:
  using Source = std::function<ResolutionTotals()>;

  // `writer` and `clock` must outlive the flusher. `source` is called from the flushing thread.
  ResolutionFlusher(writer::Writer& writer, const Clock& clock, FlushOptions options,
                    Source source);
  ~ResolutionFlusher();  // Stop()

  // Writes what was counted since the last successful flush and returns once it is durable (OK
  // also when there was nothing to write). On failure nothing is marked flushed.
  absl::Status Flush();

  // Starts the background thread: a flush every interval and at each reporting-day boundary.
  void Start();
  // Stops the thread and flushes a last time, returning that flush's status; call it after the
  // front ends have stopped so the final counts are in. Later calls return OK and do nothing.
  absl::Status Stop();

  FlushStats stats() const;
  const ExceptionGuard& guard() const { return guard_; }

 private:
  void Run();

  writer::Writer& writer_;
  const Clock& clock_;
  const FlushOptions options_;
  const Source source_;

  Mutex flush_mu_;  // serialises Flush()
  ResolutionTotals flushed_ ABSL_GUARDED_BY(flush_mu_);
  int64_t interval_start_ms_ ABSL_GUARDED_BY(flush_mu_);

  mutable Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool Stopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; }
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;  // Stop() ran: later calls do nothing
  FlushStats stats_ ABSL_GUARDED_BY(mu_);
  ExceptionGuard guard_{"stats-flush"};  // logs and counts the exceptions the thread catches
  std::thread thread_;
};

}  // namespace idnode::stats
