#include "registry/writer/writer.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include "registry/base/bytes.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/base/thread_name.h"

namespace idnode::writer {
namespace {

std::string SequenceKey(uint64_t sequence) {
  std::string key;
  ByteWriter(key).U64(sequence);
  return key;
}

}  // namespace

// ---- WriteContext ----

absl::Status WriteContext::AppendChange(ChangeKind kind, std::string_view account,
                                        std::string_view subject) {
  std::string value;
  value.reserve(1 + 8 + 1 + 2 + account.size() + 2 + subject.size());
  ByteWriter w(value);
  w.U8(1);  // format
  w.U64(static_cast<uint64_t>(now_ms_));
  w.U8(static_cast<uint8_t>(kind));
  w.Bytes16(account);
  w.Bytes16(subject);
  RETURN_IF_ERROR(txn_.Put(store::Db::kChanges, SequenceKey(next_sequence_), value, MDB_APPEND));
  ++next_sequence_;
  return absl::OkStatus();
}

void WriteContext::AddToCounter(stats::Metric metric, uint32_t day, std::string_view scope,
                                int64_t delta) {
  counter_deltas_[stats::CounterKey(metric, day, scope)] += delta;
}

void WriteContext::CountRegistration(std::string_view prefix, int delta) {
  stats::Metric daily =
      delta > 0 ? stats::Metric::kIdentifiersCreated : stats::Metric::kIdentifiersDeleted;
  int64_t magnitude = delta > 0 ? delta : -delta;
  for (std::string_view scope : {std::string_view(), prefix}) {
    AddToCounter(daily, day_, scope, magnitude);
    AddToCounter(stats::Metric::kIdentifiersTotal, stats::kAllTime, scope, delta);
  }
}

namespace {

// An absent counter is 0, and so is a record that is not 8 bytes: the flush that follows writes
// it whole again, and one damaged counter must not stop every registration that counts into it.
// A failure of the store itself (LMDB's own corruption errors among them) is an error.
absl::StatusOr<int64_t> StoredCounter(const store::WriteTxn& txn, std::string_view key) {
  absl::StatusOr<std::optional<uint64_t>> stored = stats::CounterTable::Get(txn, key);
  if (absl::IsDataLoss(stored.status()) && !store::IsStoreError(stored.status())) return 0;
  if (!stored.ok()) return stored.status();
  return static_cast<int64_t>(stored->value_or(0));
}

}  // namespace

absl::StatusOr<int64_t> WriteContext::CounterValue(stats::Metric metric, uint32_t day,
                                                   std::string_view scope) const {
  std::string key = stats::CounterKey(metric, day, scope);
  ASSIGN_OR_RETURN(int64_t value, StoredCounter(txn_, key));
  if (auto it = counter_deltas_.find(key); it != counter_deltas_.end()) value += it->second;
  return value;
}

absl::Status WriteContext::FlushCounters() {
  for (const auto& [key, delta] : counter_deltas_) {
    if (delta == 0) continue;
    ASSIGN_OR_RETURN(int64_t value, StoredCounter(txn_, key));
    value += delta;
    RETURN_IF_ERROR(
        stats::CounterTable::Put(txn_, key, static_cast<uint64_t>(value < 0 ? 0 : value)));
  }
  counter_deltas_.clear();
  return absl::OkStatus();
}

// ---- Writer ----

Writer::Writer(store::Store& store, const Clock& clock, const WriterOptions& options)
    : store_(store), clock_(clock), options_(options) {
  stats_.reserve_held = options_.reserve != nullptr && options_.reserve->held();
  stats_.room_needed = RoomNeeded();
}

uint64_t Writer::RoomNeeded() const {
  const uint64_t reserve = options_.reserve != nullptr ? options_.reserve->bytes() : 0;
  return reserve != 0 ? 2 * reserve : uint64_t{16} << 20;
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::Start(store::Store& store, const Clock& clock,
                                                      const WriterOptions& options) {
  std::unique_ptr<Writer> writer(new Writer(store, clock, options));
  RETURN_IF_ERROR(writer->Init());
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  NameThread(writer->thread_, "writer");
  return writer;
}

absl::Status Writer::Init() {
  ASSIGN_OR_RETURN(store::ReadTxn txn, store_.BeginRead());
  store::Cursor cursor = txn.OpenCursor(store::Db::kChanges);
  if (cursor.Last()) {
    uint64_t last = 0;
    if (!ByteReader(cursor.key()).U64(last)) {
      return absl::DataLossError("changes_v1: malformed sequence key");
    }
    next_sequence_ = last + 1;
  }
  return absl::OkStatus();
}

Writer::~Writer() { Stop(); }

absl::Status Writer::Submit(std::unique_ptr<WriteOp> op) {
  const size_t items = op->items();
  const size_t bytes = op->bytes();
  // One operation larger than a bound would never fit: refused whatever is queued, naming it.
  if (items > options_.max_queued_items) {
    return absl::ResourceExhaustedError(
        StrCat("writer: one write of ", items, " items is above registry.max_queued_items (",
               options_.max_queued_items, "); send at most that many at a time"));
  }
  if (bytes > options_.max_queued_bytes) {
    return absl::ResourceExhaustedError(
        StrCat("writer: one write of ", bytes >> 10, " KiB is above registry.max_queued_mib (",
               options_.max_queued_bytes >> 20, "); send smaller batches"));
  }
  MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("writer: the node is shutting down");
  if (stats_.disk_full && !op->allowed_when_disk_full()) {
    ++stats_.disk_full_refused;
    return absl::ResourceExhaustedError(StrCat(
        "writer: the disk holding the data directory is full (", stats_.room_bytes >> 20,
        " MiB of room, ", stats_.room_needed >> 20,
        " MiB needed): only deletions are accepted until there is room; free space on the disk, "
        "grow it, or delete identifiers"));
  }
  if (queued_items_ + items > options_.max_queued_items ||
      queued_bytes_ + bytes > options_.max_queued_bytes) {
    return absl::ResourceExhaustedError(StrCat("writer: ", queued_items_, " items (",
                                               queued_bytes_ >> 20,
                                               " MiB) are queued for commit; retry shortly"));
  }
  queued_items_ += items;
  queued_bytes_ += bytes;
  (items <= 1 ? interactive_ : bulk_).push_back(std::move(op));
  return absl::OkStatus();
}

void Writer::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

WriterStats Writer::stats() const {
  MutexLock lock(&mu_);
  WriterStats stats = stats_;
  stats.queued_bytes = queued_bytes_;
  stats.untrimmed_bytes = untrimmed_bytes_;
  stats.exceptions = guard_.stats().exceptions;
  return stats;
}

bool Writer::TakeBatch(std::deque<std::unique_ptr<WriteOp>>& batch, size_t& bytes) {
  MutexLock lock(&mu_);
  untrimmed_bytes_ += bytes;  // the previous batch's, now freed
  // Ops, not items: an op with no items (an empty batch) is answered like any other. Idle after a
  // load: trim once the queue has stayed empty for a while.
  while (TrimDue() && !HasWorkOrStopping() &&
         !mu_.AwaitWithTimeout(this, &Writer::HasWorkOrStopping, options_.trim_when_idle_for)) {
    untrimmed_bytes_ = 0;
    mu_.Unlock();
    TrimHeap();
    mu_.Lock();
    ++stats_.heap_trims;
  }
  // While the disk is full (or the reserve is out), the room is measured while idle too.
  while (WatchingRoom() && !HasWorkOrStopping() &&
         !mu_.AwaitWithTimeout(this, &Writer::HasWorkOrStopping, std::chrono::seconds(1))) {
    mu_.Unlock();
    CheckRoom();
    mu_.Lock();
  }
  mu_.Await(this, &Writer::HasWorkOrStopping);
  if (!HasWork()) return false;  // stopping and drained
  if (options_.max_wait.count() > 0 && queued_items_ < options_.max_batch_items && !stopping_) {
    mu_.AwaitWithTimeout(this, &Writer::FullBatchOrStopping, options_.max_wait);
  }
  size_t taken = 0;
  bytes = 0;
  for (auto* queue : {&interactive_, &bulk_}) {
    while (!queue->empty() &&
           (taken == 0 || taken + queue->front()->items() <= options_.max_batch_items)) {
      taken += queue->front()->items();
      bytes += queue->front()->bytes();
      batch.push_back(std::move(queue->front()));
      queue->pop_front();
    }
  }
  queued_items_ -= taken;
  queued_bytes_ -= bytes;
  stats_.items += taken;
  return true;
}

void Writer::TrimHeap() {
  // The queued records were allocated on gRPC's threads, in their malloc arenas; freed, glibc
  // keeps the pages. This returns them (every arena), so the node shrinks back after a load.
  malloc_trim(0);
}

void Writer::Finish(WriteOp& op, const absl::Status& status) {
  guard_.Run("in an operation's completion", [&op, &status] { op.Done(status); });
}

bool Writer::EnterDiskFull(const absl::Status& status) {
  const bool released = options_.reserve != nullptr && options_.reserve->Release();
  const uint64_t room = store::RoomBytes(store_);
  last_room_check_ = std::chrono::steady_clock::now();
  MutexLock lock(&mu_);
  if (!stats_.disk_full) {
    spdlog::error(
        "writer: the disk is full ({}); {}only deletions are accepted until there are {} MiB "
        "of room (now {} MiB)",
        ToStd(status.message()),
        released ? StrCat("the reserve of ", options_.reserve->bytes() >> 20,
                          " MiB (storage.reserve_mib) was released so that they can commit; ")
                 : "",
        stats_.room_needed >> 20, room >> 20);
  }
  stats_.disk_full = true;
  stats_.disk_full_reason = std::string(ToStd(status.message()));
  stats_.room_bytes = room;
  stats_.reserve_held = options_.reserve != nullptr && options_.reserve->held();
  return released;
}

void Writer::CheckRoom() {
  {
    MutexLock lock(&mu_);
    if (!WatchingRoom()) return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_room_check_ < std::chrono::seconds(1)) return;
  last_room_check_ = now;
  store::DiskReserve* reserve = options_.reserve;
  if (reserve != nullptr && !reserve->held() && reserve->bytes() != 0 &&
      store::FilesystemFreeBytes(store_.path()) >= 2 * reserve->bytes()) {
    if (absl::Status acquired = reserve->Acquire(); acquired.ok()) {
      spdlog::info("writer: the reserve of {} MiB is allocated again", reserve->bytes() >> 20);
    }
  }
  const uint64_t room = store::RoomBytes(store_);
  MutexLock lock(&mu_);
  stats_.room_bytes = room;
  stats_.reserve_held = reserve != nullptr && reserve->held();
  if (stats_.disk_full && room >= stats_.room_needed) {
    spdlog::info("writer: {} MiB of room again: all writes are accepted", room >> 20);
    stats_.disk_full = false;
    stats_.disk_full_reason.clear();
  } else if (!stats_.disk_full && reserve != nullptr && !stats_.reserve_held &&
             room < reserve->bytes()) {
    // Without its reserve, the node keeps that much room for deletions itself.
    spdlog::error("writer: {} MiB of room left and no reserve: only deletions are accepted now",
                  room >> 20);
    stats_.disk_full = true;
    stats_.disk_full_reason = StrCat("only ", room >> 20, " MiB of room left on the disk");
  }
}

void Writer::Run() {
  std::deque<std::unique_ptr<WriteOp>> batch;
  size_t bytes = 0;
  while (TakeBatch(batch, bytes)) {
    absl::Status status;
    if (!guard_.Run("applying the batch", [&] { status = CommitBatch(batch); })) {
      status = absl::InternalError(
          StrCat("writer: exception ", guard_.stats().last_error));  // "applying the batch: WHAT"
    }
    if (!status.ok()) {
      MutexLock lock(&mu_);
      stats_.last_commit_failed = true;
      stats_.last_error = std::string(ToStd(status.message()));
    }
    for (auto& op : batch) Finish(*op, status);
    batch.clear();  // the records' memory goes here (TakeBatch counts it towards a trim)
    CheckRoom();
  }
}

absl::Status Writer::CommitBatch(std::deque<std::unique_ptr<WriteOp>>& batch) {
  const int64_t now_ms = clock_.NowMillis();
  const uint32_t day = ReportingDay(now_ms, options_.utc_offset_minutes);
  for (int attempt = 0;; ++attempt) {
    absl::Status status = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(store::WriteTxn txn, store_.BeginWrite(store::WriteAccess()));
      WriteContext context(txn, now_ms, day, next_sequence_);
      for (auto& op : batch) RETURN_IF_ERROR(op->Apply(context));
      RETURN_IF_ERROR(context.FlushCounters());
      RETURN_IF_ERROR(txn.Commit());
      next_sequence_ = context.next_sequence();
      return absl::OkStatus();
    }();
    if (status.ok()) {
      MutexLock lock(&mu_);
      ++stats_.commits;
      stats_.last_commit_failed = false;
      stats_.last_error.clear();
      return status;
    }
    if (store::IsMapFull(status) && attempt < 16) {
      if (absl::Status grown = store_.GrowMap(); !grown.ok()) {
        status = grown;
      } else {
        spdlog::info("store: map grown to {} MiB", store_.map_bytes() >> 20);
        MutexLock lock(&mu_);
        ++stats_.map_growths;
        continue;
      }
    }
    if (store::IsDiskFull(status) && EnterDiskFull(status) && attempt < 16) {
      // The reserve is released: what is allowed on a full disk (deletions) is committed with
      // its room, the rest fails now.
      std::deque<std::unique_ptr<WriteOp>> allowed;
      for (auto& op : batch) {
        if (op->allowed_when_disk_full()) {
          allowed.push_back(std::move(op));
        } else {
          Finish(*op, status);
        }
      }
      batch.swap(allowed);
      if (!batch.empty()) continue;
    }
    spdlog::error("writer: commit of {} operations failed: {}", batch.size(), status.ToString());
    MutexLock lock(&mu_);
    ++stats_.failed_commits;
    return status;
  }
}

}  // namespace idnode::writer
