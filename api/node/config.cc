#include "api/node/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <type_traits>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"

namespace idnode::node {
namespace {

using settings::KeyError;

// Reads one [section] of a TOML file into its struct: the visitor of the sections' Declare
// (registry/base/settings.h). Keeps the first error, and the names of the keys it was asked for.
class TomlReader {
 public:
  TomlReader(std::string_view section, const toml::node_view<const toml::node>& table,
             std::set<std::string>& known)
      : section_(section), table_(table), known_(known) {}

  void Text(std::string_view key, std::string& out) {
    if (auto node = Find(key)) {
      if (auto v = node.value<std::string>()) {
        out = *v;
      } else {
        Fail(key, "must be a string");
      }
    }
  }
  void Flag(std::string_view key, bool& out) {
    if (auto node = Find(key)) {
      if (auto v = node.value<bool>()) {
        out = *v;
      } else {
        Fail(key, "must be true or false");
      }
    }
  }
  void List(std::string_view key, std::vector<std::string>& out) {
    auto node = Find(key);
    if (!node) return;
    const toml::array* array = node.as_array();
    std::vector<std::string> values;
    for (size_t i = 0; array != nullptr && i < array->size(); ++i) {
      auto v = (*array)[i].value<std::string>();
      if (!v) break;
      values.push_back(*v);
    }
    if (array != nullptr && values.size() == array->size()) {
      out = std::move(values);
    } else {
      Fail(key, "must be a list of strings");
    }
  }
  template <class Integer>
  void Number(std::string_view key, Integer& out, int64_t min, int64_t max) {
    auto node = Find(key);
    if (!node) return;
    auto v = node.value_exact<int64_t>();
    if (std::is_unsigned_v<Integer> && (!v || *v < 0)) {
      Fail(key, "must be a non-negative integer");
    } else if (!v) {
      Fail(key, "must be an integer");
    } else if (!settings::InRange(*v, min, max)) {
      Fail(key, settings::RangeRule(min, max, StrCat(*v)));
    } else {
      out = static_cast<Integer>(*v);
    }
  }
  template <class T, class Parse, class Format>
  void Parsed(std::string_view key, T& out, Parse&& parse, Format&&) {
    std::string text;
    Text(key, text);
    if (text.empty()) return;
    auto parsed = parse(text);
    if (parsed.ok()) {
      out = *parsed;
    } else {
      Fail(key, ToStd(parsed.status().message()));
    }
  }

  absl::Status status() const { return status_; }

 private:
  toml::node_view<const toml::node> Find(std::string_view key) {
    known_.insert(StrCat(section_, ".", key));
    return table_[key];
  }
  void Fail(std::string_view key, std::string_view rule) {
    if (status_.ok()) status_ = KeyError(section_, key, rule);
  }

  std::string_view section_;
  toml::node_view<const toml::node> table_;
  std::set<std::string>& known_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<NodeConfig> LoadConfigFile(const std::string& path, NodeConfig config) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(StrCat("config file ", path, " does not exist"));
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat("config file ", path, ": ", e.description(), " at line ", e.source().begin.line));
  }
  std::set<std::string> known, sections;
  absl::Status status;
  NodeConfig::ForEachSection(config, [&](auto& section) {
    using Section = std::remove_cvref_t<decltype(section)>;
    sections.insert(std::string(Section::kName));
    const toml::table& file = table;
    TomlReader reader(Section::kName, file[Section::kName], known);
    Section::Declare(section, reader);
    if (status.ok()) status = reader.status();
  });
  RETURN_IF_ERROR(status);
  for (const auto& [section, node] : table) {
    const toml::table* inner = node.as_table();
    if (inner == nullptr) return KeyError(section.str(), "expected a [section]");
    if (!sections.contains(std::string(section.str()))) {
      return KeyError(section.str(), "unknown section");
    }
    for (const auto& [key, unused] : *inner) {
      std::string name = StrCat(section.str(), ".", key.str());
      if (!known.contains(name)) return KeyError(name, "unknown key");
    }
  }
  return config;
}

absl::Status NodeSection::Check(const NodeSection& section) {
  if (auto prefix = identifier::NormalizePrefix(section.prefix, "node.prefix"); !prefix.ok()) {
    return KeyError("node.prefix", ToStd(prefix.status().message()));
  }
  if (section.role != "secondary" && section.role != "top") {
    return KeyError("node.role", StrCat("\"", section.role, "\" is not secondary or top"));
  }
  return absl::OkStatus();
}

absl::Status LogSection::Check(const LogSection& section) {
  static const std::vector<std::string> names = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (std::find(names.begin(), names.end(), section.level) != names.end()) {
    return absl::OkStatus();
  }
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return KeyError("log.level", StrCat("\"", section.level, "\" is not one of ", list));
}

absl::Status ValidateConfig(const NodeConfig& config) {
  absl::Status status;
  NodeConfig::ForEachSection(config, [&](const auto& section) {
    if (status.ok()) status = settings::CheckSection(section);
  });
  RETURN_IF_ERROR(status);
  if (config.federation.recursion && config.node.top()) {
    return KeyError("federation.recursion",
                    "is for secondary nodes; a top node refers clients (302/303) instead");
  }
  return absl::OkStatus();
}

std::vector<settings::KeyInfo> DescribeConfig(const NodeConfig& config) {
  std::vector<settings::KeyInfo> keys;
  NodeConfig::ForEachSection(config, [&](const auto& section) {
    for (settings::KeyInfo& key : settings::DescribeKeys(section)) keys.push_back(std::move(key));
  });
  return keys;
}

bool IsLoopbackListen(std::string_view listen) {
  size_t colon = listen.rfind(':');
  std::string_view host = listen.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

}  // namespace idnode::node
