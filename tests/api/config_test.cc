// The configuration's numbers: every one has a range that both ends of hold, and the example
// config and the README document every one.

#include "api/node/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(IDNODE_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Loads a file holding `key = value` in its section and validates the result.
absl::Status Check(const testing::TempDir& dir, const std::string& key, uint64_t value) {
  const size_t dot = key.find('.');
  const std::string path = dir.Sub("config.toml");
  std::ofstream(path) << "[" << key.substr(0, dot) << "]\n"
                      << key.substr(dot + 1) << " = " << value << "\n";
  auto config = LoadConfigFile(path);
  if (!config.ok()) return config.status();
  return ValidateConfig(*config);
}

TEST(ConfigTest, EveryNumericKeyRefusesValuesJustOutsideItsRangeNamingIt) {
  testing::TempDir dir;
  const auto ranges = NumericKeyRanges();
  ASSERT_GT(ranges.size(), 30u);
  for (const NumericRange& range : ranges) {
    SCOPED_TRACE(range.key);
    ASSERT_LT(range.min, range.max);
    ASSERT_LT(range.max, uint64_t{INT64_MAX});  // TOML integers are signed 64-bit
    absl::Status above = Check(dir, range.key, range.max + 1);
    EXPECT_EQ(above.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(above.message()).find("config " + range.key + ": must be "),
              std::string::npos)
        << above;
    if (range.min > 0) {
      absl::Status below = Check(dir, range.key, range.min - 1);
      EXPECT_NE(std::string(below.message()).find("config " + range.key + ": must be "),
                std::string::npos)
          << below;
    }
  }
}

TEST(ConfigTest, TheDefaultsAreInRange) { EXPECT_TRUE(ValidateConfig(NodeConfig{}).ok()); }

TEST(ConfigTest, TheExampleConfigAndTheReadmeDocumentEveryNumericKey) {
  const std::string example_path = std::string(IDNODE_SOURCE_DIR) + "/deploy/idnode.example.toml";
  auto example = LoadConfigFile(example_path);
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_TRUE(ValidateConfig(*example).ok());
  const std::string example_text = ReadSource("deploy/idnode.example.toml");
  const std::string readme = ReadSource("README.md");
  for (const NumericRange& range : NumericKeyRanges()) {
    const std::string key = range.key.substr(range.key.find('.') + 1);
    EXPECT_NE(example_text.find("\n" + key + " = "), std::string::npos) << range.key;
    EXPECT_NE(readme.find("`" + range.key + "`"), std::string::npos) << range.key;
  }
}

}  // namespace
}  // namespace idnode
