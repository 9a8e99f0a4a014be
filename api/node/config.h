#pragma once

// idnode's configuration: defaults, a TOML file (deploy/idnode.example.toml documents every
// key), and command-line flags on top (tools/idnode). Unknown keys are errors, so a typo never
// silently falls back to a default.
//
// Each part of the node declares its own section beside itself (registry/base/settings.h says
// how): its members and defaults, its keys with their types and ranges, and its own checks.
// NodeConfig is the list of those sections (IDNODE_CONFIG_SECTIONS, one line each); this file
// declares only the node's own ([node], [log]) and the rules that join two sections.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/node/federation_settings.h"
#include "api/node/grpc_settings.h"
#include "api/node/handle_settings.h"
#include "api/node/http_settings.h"
#include "api/node/stats_settings.h"
#include "api/node/store_settings.h"
#include "registry/base/clock.h"
#include "registry/base/settings.h"

namespace idnode::node {

struct NodeSection {
  static constexpr std::string_view kName = "node";
  std::string prefix = "88.123";   // this node's own prefix
  std::string role = "secondary";  // or "top": holds 0.NA/<prefix> records and refers

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("prefix", self.prefix);
    keys.Text("role", self.role);
  }
  static absl::Status Check(const NodeSection& section);
  bool top() const { return role == "top"; }
};

struct LogSection {
  static constexpr std::string_view kName = "log";
  std::string level = "info";

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("level", self.level);
  }
  static absl::Status Check(const LogSection& section);  // level: one of spdlog's level names
};

// Every section of the configuration, in the order the example config has them: its type and
// its member of NodeConfig, which is also its TOML table's name (checked below). A part with
// settings adds its one line here (and includes its *_settings.h above); the members,
// ForEachSection and so the file reader, the checks and DescribeConfig follow from it. The type
// names are those seen from idnode::node.
#define IDNODE_CONFIG_SECTIONS(X)  \
  X(NodeSection, node)             \
  X(StorageSection, storage)       \
  X(GrpcSection, grpc)             \
  X(HandleSection, handle)         \
  X(RegistrySection, registry)     \
  X(StatsSection, stats)           \
  X(HttpSection, http)             \
  X(UploadSection, upload)         \
  X(FederationSection, federation) \
  X(LogSection, log)

struct NodeConfig {
#define IDNODE_SECTION_MEMBER(Type, member)                                      \
  static_assert(Type::kName == #member, "a section's member is its TOML table"); \
  Type member;
  IDNODE_CONFIG_SECTIONS(IDNODE_SECTION_MEMBER)
#undef IDNODE_SECTION_MEMBER

  // Not from files: the node's clock (tests inject one); null means the system clock.
  const Clock* clock = nullptr;

  // Calls f on every section, in the order of IDNODE_CONFIG_SECTIONS.
  template <class Self, class F>
  static void ForEachSection(Self& self, F&& f) {
#define IDNODE_SECTION_VISIT(Type, member) f(self.member);
    IDNODE_CONFIG_SECTIONS(IDNODE_SECTION_VISIT)
#undef IDNODE_SECTION_VISIT
  }
};

// Reads `path` over `base`. INVALID_ARGUMENT naming the key for unknown keys, wrong types and
// values out of range; NOT_FOUND when the file is missing.
absl::StatusOr<NodeConfig> LoadConfigFile(const std::string& path, NodeConfig base = {});

// Every section's checks (ranges and rules), then the rules across sections.
absl::Status ValidateConfig(const NodeConfig& config);

// Every key of every section, with its value in `config`.
std::vector<settings::KeyInfo> DescribeConfig(const NodeConfig& config);

// True for 127.0.0.0/8, ::1 and localhost listeners ("host:port").
bool IsLoopbackListen(std::string_view listen);

}  // namespace idnode::node
