#pragma once

// Files a config names: certificates, keys and tokens, read whole at start-up, with errors that
// name the setting ("config upload.token_file: cannot read /etc/idnode/token").

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace idnode {

// The whole file. NOT_FOUND naming `key` and `path` when it cannot be read.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, std::string_view key);

// A token or secret kept in a file: its contents without the trailing line ends an editor adds.
// INVALID_ARGUMENT when that leaves nothing.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view key);

}  // namespace idnode
