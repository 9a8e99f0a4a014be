#pragma once

// Files idnode writes for its operator: the admin token (--admin-token-file) and the ready file
// (--ready-file). Both go where another local user may have been first, so they are never opened
// in place: the contents go to a new file created exclusively beside it, fsynced, then renamed
// over the path.

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace idnode {

// Writes `contents` to `path` through a fresh temporary file created with O_EXCL and `mode`
// (so it is never readable by others in between), then renames it over `path` and syncs the
// directory. FAILED_PRECONDITION when `path` is a symbolic link, a directory, or a file another
// user owns; the other errors name the path and the system's reason. `flag` names the option the
// path came from, for the messages.
absl::Status WritePrivateFile(const std::string& flag, const std::string& path,
                              const std::string& contents, mode_t mode);

}  // namespace idnode
