#include "registry/stats/flush.h"

#include <spdlog/spdlog.h>

#include <future>
#include <vector>

#include "registry/base/thread_name.h"

namespace idnode::stats {
namespace {

struct CounterDelta {
  Metric metric;
  std::string scope;
  uint64_t delta;
};

// Adds the deltas under one reporting day; reports the commit through a promise.
class FlushOp final : public writer::WriteOp {
 public:
  FlushOp(uint32_t day, std::vector<CounterDelta> deltas) : day_(day), deltas_(std::move(deltas)) {}

  std::future<absl::Status> done() { return done_.get_future(); }
  // Small, and the node's own: resolution counts are not held back by a full disk.
  bool allowed_when_disk_full() const override { return true; }

  absl::Status Apply(writer::WriteContext& context) override {
    for (const CounterDelta& d : deltas_) {
      context.AddToCounter(d.metric, day_, d.scope, static_cast<int64_t>(d.delta));
    }
    return absl::OkStatus();
  }
  void Done(const absl::Status& store_status) override { done_.set_value(store_status); }

 private:
  const uint32_t day_;
  const std::vector<CounterDelta> deltas_;
  std::promise<absl::Status> done_;
};

void AppendDeltas(Transport transport, const std::string& scope, const OutcomeCounts& now,
                  const OutcomeCounts& before, std::vector<CounterDelta>& out) {
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    // Totals only grow; a smaller one (never expected) is skipped rather than subtracted.
    if (now.outcomes[i] <= before.outcomes[i]) continue;
    out.push_back(CounterDelta{ResolutionMetric(transport, static_cast<Outcome>(i)), scope,
                               now.outcomes[i] - before.outcomes[i]});
  }
}

}  // namespace

ResolutionFlusher::ResolutionFlusher(writer::Writer& writer, const Clock& clock,
                                     FlushOptions options, Source source)
    : writer_(writer),
      clock_(clock),
      options_(options),
      source_(std::move(source)),
      interval_start_ms_(clock.NowMillis()) {}

ResolutionFlusher::~ResolutionFlusher() { (void)Stop(); }

absl::Status ResolutionFlusher::Flush() {
  MutexLock flush_lock(&flush_mu_);
  const int64_t began_ms = clock_.NowMillis();
  ResolutionTotals now = source_();
  std::vector<CounterDelta> deltas;
  for (size_t t = 0; t < kTransportCount; ++t) {
    AppendDeltas(static_cast<Transport>(t), "", now.node[t], flushed_.node[t], deltas);
  }
  static const OutcomeCounts kNone;
  for (const auto& [key, counts] : now.prefixes) {
    auto before = flushed_.prefixes.find(key);
    AppendDeltas(key.first, key.second, counts,
                 before == flushed_.prefixes.end() ? kNone : before->second, deltas);
  }
  absl::Status status = absl::OkStatus();
  if (!deltas.empty()) {
    const uint32_t day = ReportingDay(interval_start_ms_, options_.utc_offset_minutes);
    auto op = std::make_unique<FlushOp>(day, std::move(deltas));
    std::future<absl::Status> done = op->done();
    status = writer_.Submit(std::move(op));
    if (status.ok()) status = done.get();
  }
  MutexLock lock(&mu_);
  if (!status.ok()) {
    ++stats_.failures;
    stats_.last_failed = true;
    spdlog::warn("stats: resolution counts not flushed (the next flush retries): {}",
                 status.ToString());
    return status;
  }
  flushed_ = std::move(now);
  interval_start_ms_ = began_ms;
  ++stats_.flushes;
  stats_.last_failed = false;
  stats_.last_flush_ms = began_ms;
  return status;
}

void ResolutionFlusher::Start() {
  thread_ = std::thread([this] { Run(); });
  NameThread(thread_, "stats-flush");
}

void ResolutionFlusher::Run() {
  for (;;) {
    auto wait = std::min<std::chrono::milliseconds>(
        options_.interval, std::chrono::milliseconds(MillisToNextReportingDay(
                               clock_.NowMillis(), options_.utc_offset_minutes)));
    {
      MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(this, &ResolutionFlusher::Stopping, wait)) return;
    }
    // A failure is counted and logged; the next flush retries. So is an exception (from the
    // source of the counts, say): the thread goes on.
    if (!guard_.Run("flushing resolution counts (the next flush retries)",
                    [this] { (void)Flush(); })) {
      MutexLock lock(&mu_);
      ++stats_.failures;
      stats_.last_failed = true;
    }
  }
}

absl::Status ResolutionFlusher::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopped_) return absl::OkStatus();
    stopped_ = stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  return Flush();
}

FlushStats ResolutionFlusher::stats() const {
  FlushStats stats;
  {
    MutexLock lock(&mu_);
    stats = stats_;
  }
  stats.exceptions = guard_.stats().exceptions;
  return stats;
}

}  // namespace idnode::stats
