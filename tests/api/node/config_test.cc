// The configuration's declarations (registry/base/settings.h): every key of every section reads
// from a file, every number has a range that both ends of hold, and the example config and the
// README's table document exactly the declared keys with their defaults.

#include "api/node/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "registry/base/strings.h"
#include "tests/support/temp_dir.h"

namespace idnode::node {
namespace {

using settings::KeyInfo;
using settings::KeyKind;

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(IDNODE_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, KeyInfo> KeysByName(const NodeConfig& config) {
  std::map<std::string, KeyInfo> out;
  for (KeyInfo& key : DescribeConfig(config)) out.emplace(key.name(), std::move(key));
  return out;
}

// Loads a file holding `key = value` (TOML spelling) in its section.
absl::StatusOr<NodeConfig> LoadOne(const testing::TempDir& dir, const KeyInfo& key,
                                   const std::string& value) {
  const std::string path = dir.Sub("config.toml");
  std::ofstream(path) << "[" << key.section << "]\n" << key.key << " = " << value << "\n";
  return LoadConfigFile(path);
}

absl::Status LoadAndCheck(const testing::TempDir& dir, const KeyInfo& key, int64_t value) {
  auto config = LoadOne(dir, key, StrCat(value));
  if (!config.ok()) return config.status();
  return ValidateConfig(*config);
}

// Sets the Number key `name` of `config` to `value` in code, as a program embedding the node
// would; false when the key's type cannot hold the value.
class NumberSetter {
 public:
  NumberSetter(std::string_view section, std::string_view name, int64_t value)
      : section_(section), name_(name), value_(value) {}
  void Text(std::string_view, std::string&) {}
  void Flag(std::string_view, bool&) {}
  void List(std::string_view, std::vector<std::string>&) {}
  template <class T, class P, class F>
  void Parsed(std::string_view, T&, P&&, F&&) {}
  template <class Integer>
  void Number(std::string_view key, Integer& field, int64_t, int64_t) {
    if (StrCat(section_, ".", key) != name_ || !std::in_range<Integer>(value_)) return;
    field = static_cast<Integer>(value_);
    set_ = true;
  }
  bool set() const { return set_; }

 private:
  std::string_view section_, name_;
  int64_t value_;
  bool set_ = false;
};

bool SetNumber(NodeConfig& config, const std::string& name, int64_t value) {
  bool set = false;
  NodeConfig::ForEachSection(config, [&](auto& section) {
    NumberSetter setter(std::remove_cvref_t<decltype(section)>::kName, name, value);
    std::remove_cvref_t<decltype(section)>::Declare(section, setter);
    set = set || setter.set();
  });
  return set;
}

TEST(ConfigTest, TheDefaultsAreValid) { EXPECT_TRUE(ValidateConfig(NodeConfig{}).ok()); }

TEST(ConfigTest, EveryNumberRefusesValuesJustOutsideItsRangeNamingItFromAFileAndFromCode) {
  testing::TempDir dir;
  size_t numbers = 0;
  for (const KeyInfo& key : DescribeConfig(NodeConfig{})) {
    if (key.kind != KeyKind::kNumber) continue;
    ++numbers;
    SCOPED_TRACE(key.name());
    ASSERT_LT(key.min, key.max);
    for (int64_t value : {key.min - 1, key.max + 1}) {
      absl::Status loaded = LoadAndCheck(dir, key, value);
      EXPECT_EQ(loaded.code(), absl::StatusCode::kInvalidArgument) << value;
      EXPECT_NE(std::string(loaded.message()).find("config " + key.name() + ": must be "),
                std::string::npos)
          << loaded;
      NodeConfig config;
      if (SetNumber(config, key.name(), value)) {
        absl::Status checked = ValidateConfig(config);
        EXPECT_NE(std::string(checked.message())
                      .find(StrCat("config ", key.name(), ": must be ", key.min, "..", key.max,
                                   ", not ")),
                  std::string::npos)
            << checked;
      }
    }
    for (int64_t value : {key.min, key.max}) {
      auto config = LoadOne(dir, key, StrCat(value));
      ASSERT_TRUE(config.ok()) << config.status();
      EXPECT_EQ(KeysByName(*config).at(key.name()).value, StrCat(value));
    }
  }
  EXPECT_GT(numbers, 30u);
}

TEST(ConfigTest, EveryKeyReadsItsOwnSpellingBackAndRefusesTheWrongType) {
  testing::TempDir dir;
  const NodeConfig defaults;
  const auto expected = KeysByName(defaults);
  for (const KeyInfo& key : DescribeConfig(defaults)) {
    SCOPED_TRACE(key.name());
    auto config = LoadOne(dir, key, key.value);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(KeysByName(*config).at(key.name()).value, key.value);
    // A value of another type is refused, naming the key.
    auto wrong = LoadOne(dir, key, key.kind == KeyKind::kFlag ? "\"yes\"" : "true");
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(std::string(wrong.status().message()).find("config " + key.name() + ": must be"),
              std::string::npos)
        << wrong.status();
  }
  EXPECT_EQ(expected.size(), DescribeConfig(defaults).size()) << "a key is declared twice";
}

TEST(ConfigTest, UnknownKeysAndSectionsAreRefusedNamingThem) {
  testing::TempDir dir;
  const std::string path = dir.Sub("config.toml");
  std::ofstream(path) << "[handle]\nlisten = \"127.0.0.1:0\"\nlissten = \"x\"\n";
  auto key = LoadConfigFile(path);
  EXPECT_EQ(key.status().message(), "config handle.lissten: unknown key");
  std::ofstream(path) << "[handel]\n";
  auto section = LoadConfigFile(path);
  EXPECT_EQ(section.status().message(), "config handel: unknown section");
  std::ofstream(path) << "listen = \"127.0.0.1:0\"\n";
  auto bare = LoadConfigFile(path);
  EXPECT_EQ(bare.status().message(), "config listen: expected a [section]");
}

// The example config shows every key, in its own section, with its default: set, or commented
// out where the default is empty or derived; and nothing that is not a key.
TEST(ConfigTest, TheExampleConfigShowsEveryKeyWithItsDefault) {
  const std::string example_path = std::string(IDNODE_SOURCE_DIR) + "/deploy/idnode.example.toml";
  auto example = LoadConfigFile(example_path);
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_TRUE(ValidateConfig(*example).ok());
  const auto defaults = KeysByName(NodeConfig{});
  for (const auto& [name, key] : KeysByName(*example)) {
    EXPECT_EQ(key.value, defaults.at(name).value) << name;
  }
  std::set<std::string> shown;
  std::istringstream lines(ReadSource("deploy/idnode.example.toml"));
  const std::regex section_line(R"(^\[([a-z_]+)\]\s*$)");
  const std::regex key_line(R"(^(# )?([a-z_]+) = )");
  std::string section, line;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_search(line, match, section_line)) {
      section = match[1];
    } else if (std::regex_search(line, match, key_line)) {
      const std::string name = section + "." + std::string(match[2]);
      EXPECT_TRUE(defaults.contains(name)) << "the example shows " << name << ", not a key";
      EXPECT_TRUE(shown.insert(name).second) << name << " is shown twice";
    }
  }
  for (const auto& [name, key] : defaults) {
    EXPECT_TRUE(shown.contains(name)) << "the example does not show " << name;
  }
}

// The README's configuration table names every key once and only keys; where its default
// column gives literal values, they are the declared defaults.
TEST(ConfigTest, TheReadmeTableDocumentsEveryKeyWithItsDefault) {
  const auto defaults = KeysByName(NodeConfig{});
  const std::string readme = ReadSource("README.md");
  const size_t table = readme.find("| key | default | meaning |");
  ASSERT_NE(table, std::string::npos);
  std::istringstream lines(readme.substr(table));
  std::string line;
  std::getline(lines, line);  // the header
  std::getline(lines, line);  // |---|
  const std::regex literal("`([^`]*)`");
  const std::regex literals_only(R"(^(`[^`]*`)(, `[^`]*`)*( \(.*\))?$)");
  std::set<std::string> documented;
  size_t compared = 0;
  while (std::getline(lines, line) && line.starts_with("| ")) {
    const size_t first = line.find(" | "), second = line.find(" | ", first + 3);
    ASSERT_NE(second, std::string::npos) << line;
    const std::string keys_cell = line.substr(2, first - 2);
    const std::string default_cell = line.substr(first + 3, second - first - 3);
    std::vector<std::string> names, values;
    for (std::sregex_iterator it(keys_cell.begin(), keys_cell.end(), literal), end; it != end;
         ++it) {
      names.push_back((*it)[1]);
    }
    for (const std::string& name : names) {
      EXPECT_TRUE(defaults.contains(name)) << "the README documents " << name << ", not a key";
      EXPECT_TRUE(documented.insert(name).second) << name << " is documented twice";
    }
    if (!std::regex_match(default_cell, literals_only)) continue;
    const std::string values_part = default_cell.substr(0, default_cell.rfind('`') + 1);
    for (std::sregex_iterator it(values_part.begin(), values_part.end(), literal), end; it != end;
         ++it) {
      values.push_back((*it)[1]);
    }
    ASSERT_EQ(values.size(), names.size()) << line;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!defaults.contains(names[i])) continue;
      std::string declared = defaults.at(names[i]).value;
      if (declared.size() >= 2 && declared.front() == '"') {
        declared = declared.substr(1, declared.size() - 2);
      }
      EXPECT_EQ(values[i], declared) << names[i];
      ++compared;
    }
  }
  for (const auto& [name, key] : defaults) {
    EXPECT_TRUE(documented.contains(name)) << "the README does not document " << name;
  }
  EXPECT_GT(compared, 40u);
}

}  // namespace
}  // namespace idnode::node
