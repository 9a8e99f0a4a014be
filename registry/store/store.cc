#include "registry/store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "registry/base/bytes.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/store/space.h"

namespace idnode::store {
namespace {

constexpr char kLmdbPayloadUrl[] = "idnode/lmdb-rc";
constexpr char kDiskFullPayloadUrl[] = "idnode/disk-full";
// Below this much free space, an I/O error from a write is taken for a full disk.
constexpr uint64_t kAlmostFullBytes = uint64_t{16} << 20;
constexpr std::string_view kSchemaKey = "schema_version";

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace

std::string_view DbName(Db db) {
  switch (db) {
    case Db::kMeta:
      return "meta";
    case Db::kIds:
      return "ids_v1";
    case Db::kPrefixes:
      return "prefixes_v1";
    case Db::kAccounts:
      return "accounts_v1";
    case Db::kTokens:
      return "tokens_v1";
    case Db::kTemplates:
      return "templates_v1";
    case Db::kCounters:
      return "counters_v1";
    case Db::kChanges:
      return "changes_v1";
    case Db::kUploads:
      return "uploads_v1";
    case Db::kFederation:
      return "federation_v1";
    case Db::kCount:
      break;
  }
  return "?";
}

absl::Status LmdbStatus(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  std::string message = StrCat("store: ", what, ": ", mdb_strerror(rc));
  absl::Status status;
  switch (rc) {
    case MDB_NOTFOUND:
      status = absl::NotFoundError(message);
      break;
    case MDB_MAP_FULL:
    case ENOSPC:
      status = absl::ResourceExhaustedError(message);
      break;
    case MDB_READERS_FULL:
    case EAGAIN:
      status = absl::UnavailableError(message);
      break;
    case EACCES:
    case EROFS:
      status = absl::PermissionDeniedError(message);
      break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      status = absl::DataLossError(message);
      break;
    default:
      status = absl::InternalError(message);
  }
  status.SetPayload(kLmdbPayloadUrl, absl::Cord(std::to_string(rc)));
  return status;
}

bool IsMapFull(const absl::Status& status) {
  auto payload = status.GetPayload(kLmdbPayloadUrl);
  return payload.has_value() && std::string(*payload) == std::to_string(MDB_MAP_FULL);
}

bool IsDiskFull(const absl::Status& status) {
  return status.GetPayload(kDiskFullPayloadUrl).has_value();
}

bool IsStoreError(const absl::Status& status) {
  return status.GetPayload(kLmdbPayloadUrl).has_value();
}

// ---- Cursor ----

Cursor::Cursor(Cursor&& other) noexcept
    : cursor_(std::exchange(other.cursor_, nullptr)), key_(other.key_), value_(other.value_) {}

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

bool Cursor::Move(MDB_cursor_op op, std::string_view key) {
  MDB_val k = ToVal(key), v{0, nullptr};
  if (cursor_ == nullptr || mdb_cursor_get(cursor_, &k, &v, op) != MDB_SUCCESS) {
    key_ = value_ = {};
    return false;
  }
  key_ = FromVal(k);
  value_ = FromVal(v);
  return true;
}

bool Cursor::Seek(std::string_view key) {
  if (key.empty()) return Move(MDB_FIRST);
  return Move(MDB_SET_RANGE, key);
}
bool Cursor::Last() { return Move(MDB_LAST); }
bool Cursor::Next() { return Move(MDB_NEXT); }
bool Cursor::Prev() { return Move(MDB_PREV); }
bool Cursor::SeekBefore(std::string_view key) { return Seek(key) ? Prev() : Last(); }

namespace {

absl::StatusOr<std::optional<std::string_view>> TxnGet(MDB_txn* txn, MDB_dbi dbi, Db db,
                                                       std::string_view key) {
  MDB_val k = ToVal(key), v{0, nullptr};
  const int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_SUCCESS) return std::optional<std::string_view>(FromVal(v));
  // MDB_BAD_VALSIZE: an empty key, or one longer than any key can be; neither is stored.
  if (rc == MDB_NOTFOUND || rc == MDB_BAD_VALSIZE) return std::optional<std::string_view>();
  return LmdbStatus(rc, StrCat("reading ", DbName(db)));
}

MDB_cursor* TxnCursor(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn, dbi, &cursor) != MDB_SUCCESS) return nullptr;
  return cursor;
}

}  // namespace

// ---- ReadTxn ----

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : store_(other.store_),
      txn_(std::exchange(other.txn_, nullptr)),
      active_(std::exchange(other.active_, false)) {}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    this->~ReadTxn();
    store_ = other.store_;
    txn_ = std::exchange(other.txn_, nullptr);
    active_ = std::exchange(other.active_, false);
  }
  return *this;
}

ReadTxn::~ReadTxn() {
  if (txn_ == nullptr) return;
  mdb_txn_abort(txn_);
  if (active_) store_->map_lock_.unlock_shared();
}

absl::StatusOr<std::optional<std::string_view>> ReadTxn::Get(Db db, std::string_view key) const {
  return TxnGet(txn_, store_->dbi(db), db, key);
}

Cursor ReadTxn::OpenCursor(Db db) const { return Cursor(TxnCursor(txn_, store_->dbi(db))); }

void ReadTxn::Reset() {
  mdb_txn_reset(txn_);
  active_ = false;
  store_->map_lock_.unlock_shared();
}

absl::Status ReadTxn::Renew() {
  for (int attempt = 0;; ++attempt) {
    store_->map_lock_.lock_shared();
    const int rc = mdb_txn_renew(txn_);
    if (rc == MDB_SUCCESS) break;
    store_->map_lock_.unlock_shared();
    if (rc != MDB_MAP_RESIZED || attempt > 0) return LmdbStatus(rc, "renewing a read transaction");
    RETURN_IF_ERROR(store_->AdoptMapSize());
  }
  active_ = true;
  return absl::OkStatus();
}

// ---- WriteTxn ----

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
    : store_(other.store_), txn_(std::exchange(other.txn_, nullptr)) {}

WriteTxn::~WriteTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

absl::StatusOr<std::optional<std::string_view>> WriteTxn::Get(Db db, std::string_view key) const {
  return TxnGet(txn_, store_->dbi(db), db, key);
}

Cursor WriteTxn::OpenCursor(Db db) const { return Cursor(TxnCursor(txn_, store_->dbi(db))); }

absl::Status WriteTxn::Put(Db db, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = ToVal(key), v = ToVal(value);
  int rc = mdb_put(txn_, store_->dbi(db), &k, &v, flags);
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  return WriteStatus(rc, StrCat("writing to ", DbName(db)));
}

absl::Status WriteTxn::Delete(Db db, std::string_view key) {
  MDB_val k = ToVal(key);
  int rc = mdb_del(txn_, store_->dbi(db), &k, nullptr);
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  return WriteStatus(rc, StrCat("deleting from ", DbName(db)));
}

absl::Status WriteTxn::Commit() {
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  return WriteStatus(rc, "committing");
}

absl::Status WriteTxn::WriteStatus(int rc, std::string_view what) const {
  if (rc != ENOSPC && rc != EDQUOT && rc != EIO) return LmdbStatus(rc, what);
  const uint64_t free = FilesystemFreeBytes(store_->path());
  // LMDB turns a short write into EIO: on a disk that is all but full, that is the disk.
  if (rc == EIO && free >= kAlmostFullBytes) return LmdbStatus(rc, what);
  absl::Status status = absl::ResourceExhaustedError(
      StrCat("store: ", what, ": the disk holding ", store_->path(), " is full (",
             free == UINT64_MAX ? 0 : free >> 10, " KiB free: ", mdb_strerror(rc),
             "); free space on it or grow it"));
  status.SetPayload(kLmdbPayloadUrl, absl::Cord(std::to_string(rc)));
  status.SetPayload(kDiskFullPayloadUrl, absl::Cord("1"));
  return status;
}

// ---- Store ----

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store());
  RETURN_IF_ERROR(store->Init(options));
  return store;
}

Store::~Store() {
  if (env_ != nullptr) mdb_env_close(env_);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the lock, after the environment is closed
}

absl::Status Store::Lock() {
  const std::string lock_path = StrCat(path_, "/idnode.lock");
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("store: cannot open the lock file ", lock_path, ": ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char text[32] = {};
    const ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    if (error != EWOULDBLOCK) {
      return absl::InternalError(StrCat("store: cannot lock ", lock_path, ": ", strerror(error)));
    }
    std::string holder = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
    holder.erase(holder.find_last_not_of("\n ") + 1);
    return absl::FailedPreconditionError(
        StrCat("storage.data_dir: ", path_, " is in use by another process (pid ",
               holder.empty() ? "unknown" : holder, ", which holds ", lock_path,
               "): one store is served by one process; stop that one, or give this node its own "
               "data directory"));
  }
  const std::string pid = StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message a second process prints is poorer.
  }
  lock_fd_ = fd;
  return absl::OkStatus();
}

absl::Status Store::Init(const StoreOptions& options) {
  path_ = options.path;
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    // The parents as the umask makes them; the data directory itself for this user only (it
    // holds every account's token hashes and the whole registry).
    std::filesystem::path directory(path_);
    if (!directory.has_filename()) directory = directory.parent_path();  // "var/"
    const std::filesystem::path parent = directory.parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (!ec && ::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
      ec = std::error_code(errno, std::generic_category());
    }
  }
  if (ec) {
    return absl::PermissionDeniedError(
        StrCat("store: cannot create data directory ", path_, ": ", ec.message()));
  }
  RETURN_IF_ERROR(Lock());
  RETURN_IF_ERROR(LmdbStatus(mdb_env_create(&env_), "creating the environment"));
  RETURN_IF_ERROR(LmdbStatus(mdb_env_set_maxdbs(env_, static_cast<int>(Db::kCount) + 4),
                             "setting max databases"));
  RETURN_IF_ERROR(
      LmdbStatus(mdb_env_set_maxreaders(env_, options.max_readers), "setting max readers"));
  RETURN_IF_ERROR(
      LmdbStatus(mdb_env_set_mapsize(env_, options.initial_map_bytes), "setting the map size"));
  RETURN_IF_ERROR(LmdbStatus(mdb_env_open(env_, path_.c_str(), MDB_NOTLS | MDB_NORDAHEAD, 0640),
                             StrCat("opening ", path_)));
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_bytes_ = info.me_mapsize;  // an existing store may already be larger than requested

  ASSIGN_OR_RETURN(WriteTxn txn, BeginWrite(WriteAccess()));
  for (int i = 0; i < static_cast<int>(Db::kCount); ++i) {
    std::string name(DbName(static_cast<Db>(i)));
    RETURN_IF_ERROR(LmdbStatus(mdb_dbi_open(txn.txn_, name.c_str(), MDB_CREATE, &dbis_[i]),
                               StrCat("opening database ", name)));
  }
  ASSIGN_OR_RETURN(std::optional<std::string_view> stored, txn.Get(Db::kMeta, kSchemaKey));
  if (stored) {
    ByteReader r(*stored);
    if (!r.U32(schema_version_) || r.remaining() != 0) {
      return absl::DataLossError(StrCat("store ", path_, ": schema_version is malformed"));
    }
    if (schema_version_ > kSchemaVersion) {
      return absl::FailedPreconditionError(StrCat(
          "store ", path_, " has schema version ", schema_version_, ", newer than the ",
          kSchemaVersion, " this idnode build supports; run a newer idnode or restore a backup"));
    }
    // Older schemas would be upgraded here, one version at a time.
  } else {
    schema_version_ = kSchemaVersion;
    std::string value;
    ByteWriter(value).U32(kSchemaVersion);
    RETURN_IF_ERROR(txn.Put(Db::kMeta, kSchemaKey, value));
  }
  return txn.Commit();
}

absl::StatusOr<ReadTxn> Store::BeginRead() {
  MDB_txn* txn = nullptr;
  for (int attempt = 0;; ++attempt) {
    map_lock_.lock_shared();
    const int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS) break;
    map_lock_.unlock_shared();
    if (rc != MDB_MAP_RESIZED || attempt > 0) {
      return LmdbStatus(rc, "beginning a read transaction");
    }
    RETURN_IF_ERROR(AdoptMapSize());
  }
  return ReadTxn(this, txn);
}

absl::StatusOr<WriteTxn> Store::BeginWrite(WriteAccess) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    RETURN_IF_ERROR(AdoptMapSize());
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  }
  RETURN_IF_ERROR(LmdbStatus(rc, "beginning a write"));
  return WriteTxn(this, txn);
}

absl::Status Store::AdoptMapSize() {
  std::unique_lock lock(map_lock_);
  RETURN_IF_ERROR(LmdbStatus(mdb_env_set_mapsize(env_, 0), "adopting the map size"));
  MDB_envinfo info{};
  RETURN_IF_ERROR(LmdbStatus(mdb_env_info(env_, &info), "reading the map size"));
  map_bytes_ = info.me_mapsize;
  map_adoptions_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Store::FreeBytesInside() {
  ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  MDB_stat stat{};
  MDB_envinfo info{};
  RETURN_IF_ERROR(LmdbStatus(mdb_env_stat(env_, &stat), "reading the page size"));
  RETURN_IF_ERROR(LmdbStatus(mdb_env_info(env_, &info), "reading the last page"));
  // The free list (database 0): each record is a list of page numbers, its count first.
  uint64_t pages = 0;
  MDB_cursor* cursor = nullptr;
  RETURN_IF_ERROR(LmdbStatus(mdb_cursor_open(txn.txn_, 0, &cursor), "reading the free list"));
  MDB_val key{0, nullptr}, value{0, nullptr};
  while (mdb_cursor_get(cursor, &key, &value, MDB_NEXT) == MDB_SUCCESS) {
    if (value.mv_size >= sizeof(size_t)) pages += *static_cast<const size_t*>(value.mv_data);
  }
  mdb_cursor_close(cursor);
  struct stat file {};
  const std::string data = path_ + "/data.mdb";
  if (::stat(data.c_str(), &file) == 0) {
    const uint64_t in_file = static_cast<uint64_t>(file.st_size) / stat.ms_psize;
    if (in_file > info.me_last_pgno + 1) pages += in_file - (info.me_last_pgno + 1);
  }
  return pages * stat.ms_psize;
}

absl::Status Store::GrowMap() {
  std::unique_lock lock(map_lock_);
  size_t next = map_bytes_ * 2;
  RETURN_IF_ERROR(LmdbStatus(mdb_env_set_mapsize(env_, next), "growing the map"));
  map_bytes_ = next;
  return absl::OkStatus();
}

}  // namespace idnode::store
