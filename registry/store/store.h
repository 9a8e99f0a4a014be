#pragma once

// The LMDB store (docs/architecture.md §5): one environment, named databases with a version in
// their name, a `meta` database holding `schema_version` from the first commit on.
//
// Ownership: Store owns the MDB_env. ReadTxn, WriteTxn and Cursor are move-only RAII handles
// that must not outlive the Store (or, for Cursor, its transaction). A WriteTxn aborts in its
// destructor unless committed.
//
// Threads: any thread may open read transactions (the env uses MDB_NOTLS, so a ReadTxn may be
// reset and renewed by its owning thread across batches). Only one write transaction exists at a
// time; in idnode only the registry writer thread opens them (the one-writer rule,
// docs/contributing.md).
//
// Map growth: when a write fails with MDB_MAP_FULL the writer aborts, calls GrowMap() and redoes
// the transaction. Remapping is unsafe while any read transaction is live, so every live ReadTxn
// holds a shared lock on the map and GrowMap() takes it exclusively; hot-path readers reset their
// transactions between batches, which bounds how long a growth waits.
//
// Errors: LMDB codes are translated in one place (LmdbStatus); IsMapFull() recognises the status
// of a full map.
//
// One store, one process: Open takes an exclusive lock (flock) on `idnode.lock` in the directory,
// held until the Store goes (the kernel drops it when the process dies, however it dies), and
// refuses to open a store another process holds, naming that process. Two writers in separate
// processes would each keep their own view of the map and of the change log's keys. LMDB's own
// readers are not affected: mdb_stat and mdb_copy open the store while the node runs.

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace idnode::writer {
class Writer;
}  // namespace idnode::writer

namespace idnode::store {

// Schema of this build. Opening a store with a newer schema fails; older ones are upgraded step
// by step (none exist yet).
inline constexpr uint32_t kSchemaVersion = 1;

enum class Db : int {
  kMeta = 0,    // "meta": schema_version and node-level facts
  kIds,         // "ids_v1": normalised identifier -> record (registry/identifier/record.h)
  kPrefixes,    // "prefixes_v1": normalised prefix -> prefix record
  kAccounts,    // "accounts_v1": account id -> account record
  kTokens,      // "tokens_v1": SHA-256 of a bearer token -> token record
  kTemplates,   // "templates_v1": prefix, version -> template
  kCounters,    // "counters_v1": metric id u16, day u32, scope -> u64
  kChanges,     // "changes_v1": sequence u64 -> change record
  kUploads,     // "uploads_v1": first day u32 -> statistics report awaiting delivery
  kFederation,  // "federation_v1": prefix -> registration awaiting the top node's acknowledgement
  kCount
};

std::string_view DbName(Db db);

struct StoreOptions {
  std::string path;                            // directory; created if missing
  size_t initial_map_bytes = size_t{1} << 30;  // grows on demand
  unsigned max_readers = 512;
};

// Translates an LMDB return code into a Status naming `what` was being done.
absl::Status LmdbStatus(int rc, std::string_view what);
bool IsMapFull(const absl::Status& status);
// True when a write failed because the disk holding the store is full (ENOSPC, EDQUOT, or an I/O
// error, which is how LMDB reports a short write, while the filesystem has almost no room left).
// Such statuses are RESOURCE_EXHAUSTED and say so.
bool IsDiskFull(const absl::Status& status);
// True for any status produced by LmdbStatus (a store failure rather than a caller's error).
bool IsStoreError(const absl::Status& status);

class Store;

class Cursor {
 public:
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&&) = delete;
  ~Cursor();

  // Positions at the first key >= `key`. False when there is none.
  bool Seek(std::string_view key);
  // Positions at the last key. False when the database is empty.
  bool Last();
  // Positions at the last key < `key`. False when there is none.
  bool SeekBefore(std::string_view key);
  bool Next();
  bool Prev();
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  bool Move(MDB_cursor_op op, std::string_view key = {});

  MDB_cursor* cursor_;
  std::string_view key_;
  std::string_view value_;
};

class ReadTxn {
 public:
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ~ReadTxn();

  // The read contract, for ReadTxn and WriteTxn alike: the value stored at `key`, a view valid
  // until Reset() or destruction (in a WriteTxn: until its next Put or Delete); nullopt when the
  // key is absent, or cannot be a key (empty, or longer than LMDB's key limit); any other failure
  // of LMDB (a damaged page, a transaction in error) is a store error (LmdbStatus naming the
  // table), never "absent", so that a damaged store answers a server error rather than "no such
  // identifier".
  absl::StatusOr<std::optional<std::string_view>> Get(Db db, std::string_view key) const;
  Cursor OpenCursor(Db db) const;

  // Releases the snapshot (and the map lock) but keeps the handle for Renew(). REQUIRES: active.
  void Reset();
  // Takes a fresh snapshot. REQUIRES: Reset() was called.
  absl::Status Renew();

 private:
  friend class Store;
  ReadTxn(Store* store, MDB_txn* txn) : store_(store), txn_(txn), active_(true) {}

  Store* store_;
  MDB_txn* txn_;
  bool active_;
};

class WriteTxn {
 public:
  WriteTxn(WriteTxn&& other) noexcept;
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn();  // aborts unless committed

  absl::StatusOr<std::optional<std::string_view>> Get(Db db,
                                                      std::string_view key) const;  // as ReadTxn's
  Cursor OpenCursor(Db db) const;
  // `flags`: LMDB put flags (MDB_APPEND for monotonically increasing keys).
  absl::Status Put(Db db, std::string_view key, std::string_view value, unsigned flags = 0);
  // Deletes `key`; NOT_FOUND when absent.
  absl::Status Delete(Db db, std::string_view key);
  // Commits and, as the env is opened without MDB_NOSYNC, fsyncs before returning.
  absl::Status Commit();

 private:
  friend class Store;
  WriteTxn(Store* store, MDB_txn* txn) : store_(store), txn_(txn) {}
  // LmdbStatus, except that a failure from a full disk says so (RESOURCE_EXHAUSTED).
  absl::Status WriteStatus(int rc, std::string_view what) const;

  Store* store_;
  MDB_txn* txn_;
};

// Who may open a write transaction, checked by the compiler: the writer (registry/writer/writer.h,
// the one-writer rule: every write is an operation submitted to it), the store itself while it
// creates its tables, and tests that build a store's contents by hand (WriteAccessForTests).
class WriteAccess {
 private:
  WriteAccess() = default;
  friend class idnode::writer::Writer;
  friend class Store;
  friend struct WriteAccessForTests;
};

class Store {
 public:
  // Opens (creating if needed) the store at options.path, checks or records the schema version.
  // FAILED_PRECONDITION when the store has a newer schema than this build supports, or another
  // process holds it (the message names its pid).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  absl::StatusOr<ReadTxn> BeginRead();
  absl::StatusOr<WriteTxn> BeginWrite(WriteAccess access);

  // Doubles the map size. REQUIRES: no write transaction open. Blocks until live read
  // transactions are reset.
  absl::Status GrowMap();
  // Adopts the map size another process gave the environment (LMDB's MDB_MAP_RESIZED), which
  // BeginRead, BeginWrite and ReadTxn::Renew do by themselves before retrying once. Blocks until
  // live read transactions are reset. REQUIRES: the calling thread holds no transaction.
  absl::Status AdoptMapSize();
  // How many times the map size was adopted (any thread).
  uint64_t map_adoptions() const { return map_adoptions_.load(std::memory_order_relaxed); }
  size_t map_bytes() const { return map_bytes_; }
  // Bytes of free pages inside the store, which later writes reuse before the file grows: LMDB's
  // free list (as of the latest commit) and the file's pages past the last one in use.
  absl::StatusOr<uint64_t> FreeBytesInside();
  uint32_t schema_version() const { return schema_version_; }
  const std::string& path() const { return path_; }

  MDB_dbi dbi(Db db) const { return dbis_[static_cast<int>(db)]; }

 private:
  friend class ReadTxn;
  Store() = default;
  absl::Status Init(const StoreOptions& options);
  absl::Status Lock();

  int lock_fd_ = -1;  // holds the flock on idnode.lock
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[static_cast<int>(Db::kCount)] = {};
  size_t map_bytes_ = 0;
  uint32_t schema_version_ = 0;
  std::string path_;
  std::shared_mutex map_lock_;  // shared by live read txns, exclusive for GrowMap()
  std::atomic<uint64_t> map_adoptions_{0};
};

}  // namespace idnode::store
