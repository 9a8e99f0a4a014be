// The admin token of a new store cannot be lost: it is written or shown before the admin account
// is committed, never through a file or link someone else prepared, and an operator who lost it
// can issue a new one offline (`idnode admin-token --reset`). The data directory is private.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "tests/integration/node_process.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;
};

// Runs idnode to completion (it must refuse, or be a one-shot command): `timeout` turns a node
// that starts after all into a failure. Standard output is a pipe, not a terminal.
Outcome RunIdnode(const std::string& args) {
  Outcome outcome;
  std::string command = "timeout 30 " + std::string(IDNODE_BINARY);
  for (const char* flag : {"--listen", "--handle-listen", "--http-listen"}) {
    if (args.find(std::string(flag) + " ") == std::string::npos) {
      command += " " + std::string(flag) + " 127.0.0.1:0";
    }
  }
  std::tie(outcome.exit_code, outcome.output) = testing::RunCommand(command + " " + args);
  return outcome;
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// True when `token` is an admin token the node accepts (it can create an account).
bool AdminTokenWorks(const testing::NodeProcess& node, const std::string& token,
                     const std::string& account) {
  return !testing::ProvisionRegistrant(node.Channel(), token, account,
                                       "88.123." + account.substr(1))
              .empty();
}

TEST(AdminTokenTest, AFirstStartWhoseTokenNobodyWouldSeeIsRefusedAndCreatesNoAdmin) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  for (const std::string flags : {"--quiet", ""}) {  // quiet, or output that is not a terminal
    Outcome out = RunIdnode(flags + " --data-dir " + data);
    EXPECT_EQ(out.exit_code, 1) << out.output;
    EXPECT_NE(out.output.find("its token would be shown to nobody"), std::string::npos)
        << out.output;
    EXPECT_NE(out.output.find("--admin-token-file"), std::string::npos) << out.output;
  }
  // No admin was committed: the next start, given a file, creates one and its token works.
  testing::NodeProcess node(data);
  ASSERT_TRUE(node.Start()) << node.Log();
  ASSERT_FALSE(node.admin_token().empty());
  EXPECT_TRUE(AdminTokenWorks(node, node.admin_token(), "a45"));
}

TEST(AdminTokenTest, TheTokenIsWrittenBeforeTheAdminIsCommittedSoAFailedStartDoesNotLoseIt) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string token_file = dir.Sub("admin.token");
  // The Handle port is taken: the first start fails after the store is set up.
  Outcome failed;
  {
    const testing::BoundUdpSocket busy;
    ASSERT_NE(busy.port(), 0);
    failed = RunIdnode("--quiet --data-dir " + data + " --admin-token-file " + token_file +
                       " --handle-listen 127.0.0.1:" + std::to_string(busy.port()));
  }
  EXPECT_EQ(failed.exit_code, 1) << failed.output;
  EXPECT_NE(failed.output.find("handle.listen"), std::string::npos) << failed.output;
  const std::string token = ReadLine(token_file);
  ASSERT_FALSE(token.empty()) << "the token of the committed admin was never written";
  // A later start creates no new admin, and the token written by the failed one administers it.
  testing::NodeProcess node(data);
  ASSERT_TRUE(node.Start()) << node.Log();
  EXPECT_TRUE(AdminTokenWorks(node, token, "a45"));
}

TEST(AdminTokenTest, TokenAndReadyFilesAreNeverWrittenThroughSomethingPrepared) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string target = dir.Sub("elsewhere");
  std::ofstream(target) << "untouched\n";
  const std::string link = dir.Sub("admin.token");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  Outcome refused = RunIdnode("--quiet --data-dir " + data + " --admin-token-file " + link);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("--admin-token-file: " + link + " is a symbolic link"),
            std::string::npos)
      << refused.output;
  EXPECT_EQ(ReadLine(target), "untouched");

  // A file that was there first (world-readable) is replaced by a new one, mode 0600.
  const std::string token_file = dir.Sub("prepared.token");
  std::ofstream(token_file) << "old\n";
  ASSERT_EQ(chmod(token_file.c_str(), 0644), 0);
  struct stat before {};
  ASSERT_EQ(stat(token_file.c_str(), &before), 0);
  const std::string ready_link = dir.Sub("ready");
  ASSERT_EQ(symlink(target.c_str(), ready_link.c_str()), 0);
  Outcome ready_refused = RunIdnode("--quiet --data-dir " + data + " --admin-token-file " +
                                    token_file + " --ready-file " + ready_link);
  EXPECT_EQ(ready_refused.exit_code, 1) << ready_refused.output;
  EXPECT_NE(ready_refused.output.find("--ready-file: " + ready_link + " is a symbolic link"),
            std::string::npos)
      << ready_refused.output;
  EXPECT_EQ(ReadLine(target), "untouched");
  struct stat after {};
  ASSERT_EQ(stat(token_file.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0600u);
  EXPECT_EQ(after.st_uid, geteuid());
  EXPECT_EQ(ReadLine(token_file).size(), 68u) << ReadLine(token_file);
  // The data directory it created is for this user only.
  struct stat data_stat {};
  ASSERT_EQ(stat(data.c_str(), &data_stat), 0);
  EXPECT_EQ(data_stat.st_mode & 0777, 0700u);
}

TEST(AdminTokenTest, AnOfflineResetIssuesANewAdminTokenAndRevokesTheOld) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  std::string old_token;
  {
    testing::NodeProcess node(data);
    ASSERT_TRUE(node.Start()) << node.Log();
    old_token = node.admin_token();
    ASSERT_TRUE(AdminTokenWorks(node, old_token, "a45"));
    // Not while a node serves the store.
    Outcome busy = RunIdnode("--data-dir " + data + " admin-token --reset");
    EXPECT_EQ(busy.exit_code, 1) << busy.output;
    EXPECT_NE(busy.output.find("is in use by another process (pid " + std::to_string(node.pid())),
              std::string::npos)
        << busy.output;
    node.Kill(SIGTERM);
  }
  Outcome missing_flag = RunIdnode("--data-dir " + data + " admin-token");
  EXPECT_NE(missing_flag.exit_code, 0);
  EXPECT_NE(missing_flag.output.find("--reset"), std::string::npos) << missing_flag.output;

  const std::string token_file = dir.Sub("new.token");
  Outcome reset =
      RunIdnode("--data-dir " + data + " admin-token --reset --admin-token-file " + token_file);
  ASSERT_EQ(reset.exit_code, 0) << reset.output;
  EXPECT_NE(reset.output.find("1 earlier token(s) revoked"), std::string::npos) << reset.output;
  const std::string new_token = ReadLine(token_file);
  ASSERT_EQ(new_token.size(), 68u);
  EXPECT_EQ(reset.output.find(new_token), std::string::npos) << "a token file was given";

  // Printed when no file is given (an operator at a terminal asked for it).
  Outcome printed = RunIdnode("--data-dir " + data + " admin-token --reset");
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  const size_t at = printed.output.find("export IDNODE_TOKEN=");
  ASSERT_NE(at, std::string::npos) << printed.output;
  const std::string printed_token = printed.output.substr(at + 20, 68);

  testing::NodeProcess node(data);
  ASSERT_TRUE(node.Start()) << node.Log();
  EXPECT_FALSE(AdminTokenWorks(node, old_token, "a46"));
  EXPECT_FALSE(AdminTokenWorks(node, new_token, "a47"));  // revoked by the second reset
  EXPECT_TRUE(AdminTokenWorks(node, printed_token, "a48"));
}

}  // namespace
}  // namespace idnode
