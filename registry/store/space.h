#pragma once

// The room the store has left on its disk, and the reserve that keeps deletions possible on a
// full one.
//
// LMDB needs free pages to delete (it copies the path to a changed leaf), so on a disk with no
// room left even deletions fail. The node therefore keeps a reserve: a file of
// storage.reserve_mib in the data directory, allocated at start (posix_fallocate, so its blocks
// are really taken). When a commit fails because the disk is full, the writer releases it (the
// file is removed and its blocks return to the filesystem) and from then on accepts only
// deletions and the node's own counter flushes, until the room is back: room is the
// filesystem's free space plus the free pages inside the store (what deleting identifiers
// makes; LMDB reuses them, but never shrinks its file). The reserve is allocated again once the
// filesystem itself has room for it twice over.
//
// Thread-compatible: the writer thread owns the DiskReserve; RoomBytes may run on any thread.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace idnode::store {

class Store;

// Bytes an unprivileged process may still write to the filesystem holding `dir` (statvfs
// f_bavail), or UINT64_MAX when it cannot be asked.
uint64_t FilesystemFreeBytes(const std::string& dir);

// What `store` could still write: its filesystem's free space plus the store's own free pages.
uint64_t RoomBytes(Store& store);

class DiskReserve {
 public:
  // A reserve of `bytes` (0: none) at `dir`/idnode.reserve.
  DiskReserve(std::string dir, uint64_t bytes);

  // Allocates the reserve if it is not held (at start, and once room is back). An error (the disk
  // has no room for it) leaves it released; the node runs on without.
  absl::Status Acquire();
  // Removes the reserve, returning its blocks to the filesystem. True when it was held.
  bool Release();

  bool held() const { return held_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const uint64_t bytes_;
  bool held_ = false;
};

}  // namespace idnode::store
