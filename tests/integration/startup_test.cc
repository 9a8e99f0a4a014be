// idnode refuses unsafe or broken start-ups with a message naming the setting.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;
};

Outcome RunIdnode(const std::string& args) {
  Outcome outcome;
  std::string command =
      std::string(IDNODE_BINARY) + " --quiet --handle-listen 127.0.0.1:0 " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) outcome.output += buffer;
  int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

TEST(StartupTest, RefusesPlaintextOnANonLoopbackAddress) {
  testing::TempDir dir;
  Outcome out = RunIdnode("--data-dir " + dir.Sub("data") + " --listen 0.0.0.0:0");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.output.find("not a loopback address and no TLS certificate"), std::string::npos)
      << out.output;
}

TEST(StartupTest, RefusesUnknownConfigKeysNamingThem) {
  testing::TempDir dir;
  std::string config = dir.Sub("idnode.toml");
  std::ofstream(config) << "[registry]\ncommit_max_itemz = 5\n";
  Outcome out = RunIdnode("--config " + config + " --data-dir " + dir.Sub("data"));
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.output.find("registry.commit_max_itemz: unknown key"), std::string::npos)
      << out.output;
}

TEST(StartupTest, RefusesAMalformedNodePrefix) {
  testing::TempDir dir;
  Outcome out =
      RunIdnode("--prefix 88..123 --data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.output.find("node.prefix"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace idnode
