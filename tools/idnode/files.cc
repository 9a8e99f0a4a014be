#include "tools/idnode/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "registry/base/strings.h"

namespace idnode {
namespace {

absl::Status SystemError(const std::string& flag, const std::string& what, int error) {
  return absl::PermissionDeniedError(StrCat(flag, ": ", what, ": ", std::strerror(error)));
}

}  // namespace

absl::Status WritePrivateFile(const std::string& flag, const std::string& path,
                              const std::string& contents, mode_t mode) {
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (S_ISLNK(existing.st_mode)) {
      return absl::FailedPreconditionError(
          StrCat(flag, ": ", path, " is a symbolic link; idnode does not write through one"));
    }
    if (!S_ISREG(existing.st_mode)) {
      return absl::FailedPreconditionError(StrCat(flag, ": ", path, " is not a regular file"));
    }
    if (existing.st_uid != geteuid()) {
      return absl::FailedPreconditionError(StrCat(flag, ": ", path,
                                                  " belongs to another user (uid ", existing.st_uid,
                                                  "); remove it or choose another path"));
    }
  } else if (errno != ENOENT) {
    return SystemError(flag, StrCat("cannot inspect ", path), errno);
  }
  // mkstemp creates the file with O_CREAT | O_EXCL (never through an existing file or link), mode
  // 0600; fchmod then gives it `mode` before anything is written.
  static constexpr char kSuffix[] = ".XXXXXX";  // with its terminating NUL
  std::vector<char> name(path.begin(), path.end());
  name.insert(name.end(), kSuffix, kSuffix + sizeof(kSuffix));
  const int fd = mkstemp(name.data());
  if (fd < 0) return SystemError(flag, StrCat("cannot create a file beside ", path), errno);
  const std::string temporary(name.data());
  auto fail = [&](const std::string& what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return SystemError(flag, what, error);
  };
  if (fchmod(fd, mode) != 0) return fail(StrCat("cannot set the mode of ", temporary));
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(StrCat("cannot write ", temporary));
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail(StrCat("cannot sync ", temporary));
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return SystemError(flag, StrCat("cannot close ", temporary), error);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return SystemError(flag, StrCat("cannot rename ", temporary, " to ", path), error);
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const char* directory = parent.empty() ? "." : parent.c_str();
  const int dir_fd = ::open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);  // the rename itself; a failure here leaves a written file all the same
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace idnode
