#include "registry/store/space.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "registry/base/strings.h"
#include "registry/store/store.h"

namespace idnode::store {

uint64_t FilesystemFreeBytes(const std::string& dir) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return std::numeric_limits<uint64_t>::max();
  return uint64_t{fs.f_bavail} * fs.f_frsize;
}

uint64_t RoomBytes(Store& store) {
  const uint64_t free_on_disk = FilesystemFreeBytes(store.path());
  const absl::StatusOr<uint64_t> inside = store.FreeBytesInside();
  if (!inside.ok() || free_on_disk == std::numeric_limits<uint64_t>::max()) return free_on_disk;
  return free_on_disk + *inside;
}

DiskReserve::DiskReserve(std::string dir, uint64_t bytes)
    : path_(dir + "/idnode.reserve"), bytes_(bytes) {}

absl::Status DiskReserve::Acquire() {
  if (held_ || bytes_ == 0) return absl::OkStatus();
  const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::InternalError(
        StrCat("storage.reserve_mib: cannot create ", path_, ": ", std::strerror(errno)));
  }
  // An older, larger reserve (the key was lowered) gives back what is now above it.
  struct stat st {};
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > bytes_) {
    (void)ftruncate(fd, static_cast<off_t>(bytes_));
  }
  const int rc = posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  const int synced = rc == 0 ? fsync(fd) : 0;
  close(fd);
  if (rc != 0 || synced != 0) {
    unlink(path_.c_str());
    return absl::ResourceExhaustedError(StrCat("storage.reserve_mib: cannot allocate ",
                                               bytes_ >> 20, " MiB at ", path_, ": ",
                                               std::strerror(rc != 0 ? rc : errno)));
  }
  held_ = true;
  return absl::OkStatus();
}

bool DiskReserve::Release() {
  if (!held_) return false;
  unlink(path_.c_str());
  held_ = false;
  return true;
}

}  // namespace idnode::store
