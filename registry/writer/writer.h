#pragma once

// The single writer (docs/architecture.md §5; the one-writer rule, docs/contributing.md): the only
// thread that opens LMDB write transactions. Callers Submit() operations; the writer takes what is
// queued (bounded by max_batch_items and, when configured, a short wait for more), applies it in
// one transaction together with the change records and registration counters those operations
// produce, commits (which fsyncs) and only then calls each operation's Done(). A transaction that
// fills the map is aborted, the map grown, and the same operations applied again; nothing
// acknowledged is lost.
//
// The writer thread never ends on an exception: one thrown while a batch is applied fails that
// batch (INTERNAL, naming it) and is counted; one thrown by a Done() is counted and logged.
//
// Interactive operations (one item) are taken before bulk ones, so a single create is never
// queued behind a long batch stream.
//
// The queue is bounded in items and in bytes (what the queued operations hold in memory): an
// operation that would go over either is refused with RESOURCE_EXHAUSTED, and one that is larger
// than a bound on its own is refused even on an empty queue. Once a load that queued many bytes
// has drained, the writer hands the freed memory back to the system (malloc_trim), so the node's
// size returns after a burst of large batches.
//
// Threads: Submit() from any thread. Apply() and Done() run on the writer thread; Done() must not
// block (hand the result to a gRPC reactor, a promise, ...).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/base/clock.h"
#include "registry/base/exception_guard.h"
#include "registry/base/mutex.h"
#include "registry/base/stats_table.h"
#include "registry/stats/metrics.h"
#include "registry/store/space.h"
#include "registry/store/store.h"

namespace idnode::writer {

// Kinds of change records in changes_v1 (the audit trail and replication feed).
enum class ChangeKind : uint8_t {
  kCreate = 1,
  kUpdate = 2,
  kDelete = 3,
  kAccountCreate = 10,
  kTokenIssue = 11,
  kTokenRevoke = 12,
  kPrefixAllocate = 13,
  kTemplatePublish = 14,
  kPrefixRelease = 15,
  kPrefixRecordPut = 16,     // a top node stored 0.NA/<prefix> for a node account
  kPrefixRecordRemove = 17,  // a top node removed 0.NA/<prefix>
};

// What an operation sees while the writer applies it.
class WriteContext {
 public:
  WriteContext(store::WriteTxn& txn, int64_t now_ms, uint32_t day, uint64_t next_sequence)
      : txn_(txn), now_ms_(now_ms), day_(day), next_sequence_(next_sequence) {}

  store::WriteTxn& txn() { return txn_; }
  int64_t now_ms() const { return now_ms_; }
  uint32_t day() const { return day_; }

  // Appends a change record: time, account, kind, subject (an identifier key, prefix, account).
  absl::Status AppendChange(ChangeKind kind, std::string_view account, std::string_view subject);
  // Counts one identifier created (+1) or deleted (-1) under `prefix`, node-wide and per prefix.
  void CountRegistration(std::string_view prefix, int delta);
  // Current value of a counter including this transaction's pending changes.
  absl::StatusOr<int64_t> CounterValue(stats::Metric metric, uint32_t day,
                                       std::string_view scope) const;
  // Adds `delta` to a counter (written with the transaction; a counter never goes below 0).
  void AddToCounter(stats::Metric metric, uint32_t day, std::string_view scope, int64_t delta);

  // Writes the pending counters. Called by the writer before commit.
  absl::Status FlushCounters();
  uint64_t next_sequence() const { return next_sequence_; }

 private:
  store::WriteTxn& txn_;
  int64_t now_ms_;
  uint32_t day_;
  uint64_t next_sequence_;
  std::map<std::string, int64_t, std::less<>> counter_deltas_;  // counter key -> delta
};

// One queued unit of work. See the file comment for the threading contract.
class WriteOp {
 public:
  virtual ~WriteOp() = default;
  // Items this operation writes; bounds batch size. 1 marks an interactive operation.
  virtual size_t items() const { return 1; }
  // About how much memory the operation holds while queued (its records' bytes); bounds the queue.
  virtual size_t bytes() const { return 0; }
  // Accepted while the disk is full (see WriterOptions::reserve): deletions, which make room, and
  // the node's own counter flushes.
  virtual bool allowed_when_disk_full() const { return false; }
  // Applies the operation. Per-item outcomes (ALREADY_EXISTS, PERMISSION_DENIED, ...) are kept
  // by the operation, which must check before it writes. A non-OK return is a store failure
  // that aborts the whole transaction. May run more than once (after map growth): reset
  // outcomes on entry.
  virtual absl::Status Apply(WriteContext& context) = 0;
  // Called once: OK after the transaction is durable, else the store failure.
  virtual void Done(const absl::Status& store_status) = 0;
};

struct WriterOptions {
  size_t max_batch_items = 1000;
  // How long the writer waits for more operations after the first when fewer than
  // max_batch_items are queued. 0: commit what is there (the fsync itself gathers the next batch).
  std::chrono::microseconds max_wait{0};
  // Submit() refuses with RESOURCE_EXHAUSTED beyond this many queued items, or bytes.
  size_t max_queued_items = 200'000;
  size_t max_queued_bytes = size_t{256} << 20;
  // Once this many bytes of operations are done and the queue has then stayed empty for
  // trim_when_idle_for, the writer trims the heap (a load is over; a pause inside a load that
  // long also counts). 0: never.
  size_t trim_after_bytes = size_t{16} << 20;
  std::chrono::milliseconds trim_when_idle_for{200};
  // The reserve on the store's disk (store/space.h), or null. When a commit fails because the
  // disk is full, the writer releases it and accepts only operations allowed_when_disk_full()
  // until the room (free space on the disk plus free pages in the store) is twice the reserve
  // again (16 MiB without one); it allocates the reserve again once the disk has room for it
  // twice over. Owned by the caller, used on the writer thread only.
  store::DiskReserve* reserve = nullptr;
  int32_t utc_offset_minutes = 8 * 60;
};

struct WriterStats {
  uint64_t commits = 0;
  uint64_t items = 0;
  uint64_t map_growths = 0;
  uint64_t failed_commits = 0;
  uint64_t queued_bytes = 0;  // now
  uint64_t heap_trims = 0;
  uint64_t untrimmed_bytes = 0;  // done since the last trim
  // Exceptions the writer thread caught (from an operation's Apply or Done); the batch they hit
  // failed with INTERNAL and the writer went on.
  uint64_t exceptions = 0;
  // The latest commit failed (a store error, a full disk, an exception), with why; cleared by the
  // next commit that succeeds. /healthz fails meanwhile.
  bool last_commit_failed = false;
  std::string last_error;
  // The disk is full: only deletions are accepted until room_bytes reaches room_needed.
  bool disk_full = false;
  std::string disk_full_reason;
  uint64_t disk_full_refused = 0;  // operations refused meanwhile
  uint64_t room_bytes = 0;         // as last measured (while full, or while the reserve is out)
  uint64_t room_needed = 0;
  bool reserve_held = false;
};

// What /metrics shows of WriterStats (registry/base/stats_table.h).
inline constexpr MetricFamily kWriterCommits{"idnode_writer_commits_total", MetricType::kCounter,
                                             "Write transactions committed."};
inline constexpr MetricFamily kWriterItems{"idnode_writer_items_total", MetricType::kCounter,
                                           "Write operations committed."};
inline constexpr MetricFamily kWriterFailed{"idnode_writer_failed_commits_total",
                                            MetricType::kCounter,
                                            "Write transactions that failed to commit."};
inline constexpr MetricFamily kWriterGrowths{"idnode_writer_map_growths_total",
                                             MetricType::kCounter,
                                             "Times the store's memory map was grown."};
inline constexpr MetricFamily kWriterQueuedBytes{
    "idnode_writer_queued_bytes", MetricType::kGauge,
    "Bytes of records queued for commit (bounded by registry.max_queued_mib)."};
inline constexpr MetricFamily kWriterHeapTrims{
    "idnode_writer_heap_trims_total", MetricType::kCounter,
    "Times the writer returned freed memory to the system after a load drained."};
inline constexpr MetricFamily kWriterUntrimmedBytes{
    "idnode_writer_untrimmed_bytes", MetricType::kGauge,
    "Bytes of records committed since the last heap trim (trimmed once idle past 16 MiB)."};
inline constexpr MetricFamily kDiskFull{
    "idnode_store_disk_full", MetricType::kGauge,
    "1 while the disk holding the store is full and only deletions are accepted."};
inline constexpr MetricFamily kDiskFullRefused{
    "idnode_store_disk_full_refused_total", MetricType::kCounter,
    "Writes refused (RESOURCE_EXHAUSTED) because the disk holding the store was full."};
inline constexpr MetricFamily kReserveHeld{
    "idnode_store_reserve_held", MetricType::kGauge,
    "1 while the node holds its disk reserve (storage.reserve_mib; 0 once released)."};
inline constexpr StatRow<WriterStats> kWriterStatRows[] = {
    Stat<&WriterStats::commits>(kWriterCommits),
    Stat<&WriterStats::items>(kWriterItems),
    Stat<&WriterStats::failed_commits>(kWriterFailed),
    Stat<&WriterStats::map_growths>(kWriterGrowths),
    Stat<&WriterStats::queued_bytes>(kWriterQueuedBytes),
    Stat<&WriterStats::heap_trims>(kWriterHeapTrims),
    Stat<&WriterStats::untrimmed_bytes>(kWriterUntrimmedBytes),
    Stat<&WriterStats::disk_full>(kDiskFull),
    Stat<&WriterStats::disk_full_refused>(kDiskFullRefused),
    Stat<&WriterStats::reserve_held>(kReserveHeld),
};

class Writer {
 public:
  // Starts the writer thread. `store` and `clock` must outlive the Writer.
  static absl::StatusOr<std::unique_ptr<Writer>> Start(store::Store& store, const Clock& clock,
                                                       const WriterOptions& options);
  ~Writer();  // Stop()

  // Queues `op`. UNAVAILABLE after Stop(); RESOURCE_EXHAUSTED when the queue is full (retry), or
  // when `op` alone is over a bound (the message names it and says what to send instead). On
  // error the op is dropped without Done().
  absl::Status Submit(std::unique_ptr<WriteOp> op);

  // Refuses new work, commits everything already queued, joins the thread. Idempotent.
  void Stop();

  WriterStats stats() const;
  // The writer thread's catch-all.
  const ExceptionGuard& guard() const { return guard_; }

 private:
  Writer(store::Store& store, const Clock& clock, const WriterOptions& options);
  absl::Status Init();
  void Run();
  // Applies and commits `batch`, growing the map as needed. Returns the final store status.
  absl::Status CommitBatch(std::deque<std::unique_ptr<WriteOp>>& batch);
  // Takes the next batch off the queues (blocks until there is one); false once stopping and
  // drained. `bytes`: on entry what the previous batch held (now freed, it counts towards a
  // trim); on return what this batch's operations hold.
  bool TakeBatch(std::deque<std::unique_ptr<WriteOp>>& batch, size_t& bytes);
  // Returns the heap's free pages to the system (writer thread, without the lock).
  void TrimHeap();
  // Calls op.Done(status), catching what it throws.
  void Finish(WriteOp& op, const absl::Status& status);
  // After a commit failed for a full disk: releases the reserve (true when it was held) and
  // accepts only what is allowed on a full disk.
  bool EnterDiskFull(const absl::Status& status);
  // While the disk is full or the reserve is released: measures the room (at most once a second)
  // and leaves the full state, allocates the reserve again, or enters the full state as due.
  void CheckRoom();
  bool WatchingRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stats_.disk_full ||
           (options_.reserve != nullptr && options_.reserve->bytes() != 0 && !stats_.reserve_held);
  }
  uint64_t RoomNeeded() const;
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !interactive_.empty() || !bulk_.empty();
  }
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || HasWork();
  }
  bool TrimDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return options_.trim_after_bytes != 0 && untrimmed_bytes_ >= options_.trim_after_bytes;
  }
  bool FullBatchOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queued_items_ >= options_.max_batch_items;
  }

  store::Store& store_;
  const Clock& clock_;
  const WriterOptions options_;
  uint64_t next_sequence_ = 1;                             // writer thread only
  std::chrono::steady_clock::time_point last_room_check_;  // writer thread only

  mutable Mutex mu_;
  std::deque<std::unique_ptr<WriteOp>> interactive_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<WriteOp>> bulk_ ABSL_GUARDED_BY(mu_);
  size_t queued_items_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t untrimmed_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // done since the last trim
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WriterStats stats_ ABSL_GUARDED_BY(mu_);
  ExceptionGuard guard_{"writer"};  // logs and counts the exceptions the thread catches
  std::thread thread_;
};

}  // namespace idnode::writer
