#include "registry/base/files.h"

#include <fstream>
#include <sstream>

#include "registry/base/strings.h"

namespace idnode {

absl::StatusOr<std::string> ReadConfigFile(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("config ", key, ": cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(StrCat("config ", key, ": cannot read ", path));
  return buffer.str();
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view key) {
  absl::StatusOr<std::string> secret = ReadConfigFile(path, key);
  if (!secret.ok()) return secret;
  while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) {
    secret->pop_back();
  }
  if (secret->empty()) {
    return absl::InvalidArgumentError(StrCat("config ", key, ": ", path, " is empty"));
  }
  return secret;
}

}  // namespace idnode
