// idnode refuses unsafe or broken start-ups with a message naming the setting.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
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

Outcome RunIdnode(const std::string& args, bool loopback_handle = true) {
  Outcome outcome;
  const bool own_http = args.find("--http-listen") != std::string::npos;
  // A node that should refuse but starts would run forever: `timeout` turns that into a failure.
  std::string command = "timeout 30 " + std::string(IDNODE_BINARY) + " --quiet " +
                        (own_http ? "" : "--http-listen 127.0.0.1:0 ") +
                        (loopback_handle ? "--handle-listen 127.0.0.1:0 " : "") + args;
  std::tie(outcome.exit_code, outcome.output) = testing::RunCommand(command);
  return outcome;
}

// Starts idnode with a config file holding `text`: it must exit 2 with `message` in its output.
void ExpectConfigRefused(const testing::TempDir& dir, const std::string& text,
                         const std::string& message) {
  std::string config = dir.Sub("idnode.toml");
  std::ofstream(config) << text;
  Outcome out =
      RunIdnode("--config " + config + " --data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0");
  EXPECT_EQ(out.exit_code, 2) << text;
  EXPECT_NE(out.output.find(message), std::string::npos) << text << ": " << out.output;
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

TEST(StartupTest, RefusesAWildcardHandleListenerWithoutAnAdvertisedAddress) {
  testing::TempDir dir;
  Outcome out = RunIdnode(
      "--handle-listen 0.0.0.0:0 --data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0", false);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.output.find("handle.advertise: must be set when handle.listen is a wildcard"),
            std::string::npos)
      << out.output;
}

TEST(StartupTest, RefusesOutOfRangeHandleSettingsNamingThem) {
  testing::TempDir dir;
  std::string many_mirrors = "mirrors = [";
  for (int i = 1; i <= 32; ++i) many_mirrors += "\"10.0.1." + std::to_string(i) + ":2641\", ";
  many_mirrors += "]";
  for (const auto& [setting, message] : std::vector<std::pair<std::string, std::string>>{
           {many_mirrors,
            "handle.mirrors: lists 32 servers; a site holds 32 "
            "with this node, so at most 31"},
           std::pair{"tcp_max_message_bytes = 10", "handle.tcp_max_message_bytes: must be"},
           std::pair{"tcp_max_connections = 0", "handle.tcp_max_connections: must be"},
           std::pair{"tcp_max_per_source_percent = 0", "handle.tcp_max_per_source_percent: must"},
           std::pair{"tcp_max_per_source_percent = 101", "handle.tcp_max_per_source_percent: must"},
           std::pair{"tcp_max_pending_reply_bytes = 10",
                     "handle.tcp_max_pending_reply_bytes: must"},
           std::pair{"tcp_idle_timeout_ms = 0", "handle.tcp_idle_timeout_ms: must be 1..3600000"},
           std::pair{"tcp_request_timeout_ms = 0", "handle.tcp_request_timeout_ms: must be 1.."},
           std::pair{"tcp_write_timeout_ms = 3600001", "handle.tcp_write_timeout_ms: must be 1.."},
           std::pair{"advertise = \"0.0.0.0\"", "handle.advertise: must be an address"},
           std::pair{"advertise = \"example.com\"", "handle.advertise: \"example.com\" is not"},
           std::pair{"udp_rate_limit = 5000000", "handle.udp_rate_limit: must be"},
           std::pair{"realtime_priority = 100", "handle.realtime_priority: must be 0..99, not 100"},
           std::pair{"mirrors = \"10.0.0.2:2641\"", "handle.mirrors: must be a list of strings"},
           std::pair{"mirrors = [\"10.0.0.2:2641\", 7]", "handle.mirrors: must be a list"},
           std::pair{"mirrors = [\"mirror.example\"]",
                     "handle.mirrors[0]: \"mirror.example\" is not"},
           std::pair{"mirrors = [\"10.0.0.2:2641\", \"0.0.0.0:2641\"]",
                     "handle.mirrors[1]: \"0.0.0.0:2641\" must be an address and port clients"},
           std::pair{"mirrors = [\"10.0.0.2:0\"]", "handle.mirrors[0]: \"10.0.0.2:0\" must be"},
           std::pair{"mirrors = [\"10.0.0.2:2641\", \"10.0.0.2:2641\"]",
                     "handle.mirrors[1]: \"10.0.0.2:2641\" is listed twice"}}) {
    ExpectConfigRefused(dir, "[handle]\n" + setting + "\n", message);
  }
}

TEST(StartupTest, RefusesRecursionSettingsThatCannotWorkNamingThem) {
  testing::TempDir dir;
  for (auto [setting, message] :
       {std::pair{"[federation]\nrecursion = true\n",
                  "federation.top_handle: is required with federation.recursion"},
        std::pair{"[node]\nrole = \"top\"\n[federation]\nrecursion = true\ntop_handle = "
                  "\"127.0.0.1:2641\"\n",
                  "federation.recursion: is for secondary nodes"},
        std::pair{"[federation]\ntop_handle = \"top.example:2641\"\n",
                  "federation.top_handle: \"top.example:2641\" is not an address and port"},
        std::pair{"[federation]\ntop_handle = \"0.0.0.0:2641\"\n",
                  "federation.top_handle: must be the top node's Handle address"},
        std::pair{"[federation]\nrecursion_limit = 0\n", "federation.recursion_limit: must be"},
        std::pair{"[federation]\nrecursion_workers = 0\n", "federation.recursion_workers: must be"},
        std::pair{"[federation]\nrecursion_timeout_ms = 5\n",
                  "federation.recursion_timeout_ms: must be"},
        std::pair{"[federation]\nrecursion = \"yes\"\n",
                  "federation.recursion: must be true or false"}}) {
    ExpectConfigRefused(dir, setting, message);
  }
}

TEST(StartupTest, RefusesNumbersOutsideTheirRangeAndUnknownLogLevelsNamingThem) {
  testing::TempDir dir;
  for (auto [setting, message] : {
           // Each of these used to start (and hang, abort or misbehave later).
           std::pair{"[registry]\ncommit_max_wait_us = 1000000000000\n",
                     "registry.commit_max_wait_us: must be 0..100000, not 1000000000000"},
           std::pair{"[registry]\ncommit_max_wait_us = 2000000\n",
                     "registry.commit_max_wait_us: must be 0..100000"},
           std::pair{"[handle]\nudp_max_reply_bytes = 99999999999\n",
                     "handle.udp_max_reply_bytes: must be 512..262144"},
           std::pair{"[storage]\ninitial_map_mib = 17592186044416\n",
                     "storage.initial_map_mib: must be 1..16777216"},
           std::pair{"[registry]\ncommit_max_items = 1000000000000\n",
                     "registry.commit_max_items: must be 1..100000"},
           std::pair{"[registry]\nmax_queued_items = 0\n",
                     "registry.max_queued_items: must be 1.."},
           std::pair{
               "[registry]\ncommit_max_items = 5000\nmax_queued_items = 100\n",
               "registry.max_queued_items: must be at least registry.commit_max_items (5000)"},
           std::pair{"[stats]\nflush_interval_ms = 1.5\n",
                     "stats.flush_interval_ms: must be a non-negative integer"},
           std::pair{"[log]\nlevel = \"verbose\"\n",
                     "log.level: \"verbose\" is not one of trace, debug, info, warn, error"},
           std::pair{"[log]\nlevel = \"warning\"\n", "log.level: \"warning\" is not one of"},
       }) {
    ExpectConfigRefused(dir, setting, message);
  }
  Outcome flag = RunIdnode("--log-level verbose --data-dir " + dir.Sub("data"));
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.output.find("log.level: \"verbose\" is not one of"), std::string::npos)
      << flag.output;
}

// A start-up that blocks (here: reading a TLS certificate from a FIFO nobody writes) still stops
// on SIGTERM, saying so, instead of ignoring it.
TEST(StartupTest, StopsOnSigtermDuringStartUp) {
  testing::TempDir dir;
  const std::string fifo = dir.Sub("cert.pem");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::ofstream(dir.Sub("idnode.toml"))
      << "[grpc]\ntls_cert = \"" << fifo << "\"\ntls_key = \"" << fifo << "\"\n";
  const std::string log = dir.Sub("log");
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* out = freopen(log.c_str(), "w", stdout);
    FILE* err = freopen(log.c_str(), "a", stderr);
    (void)out;
    (void)err;
    execl(IDNODE_BINARY, IDNODE_BINARY, "--quiet", "--config", dir.Sub("idnode.toml").c_str(),
          "--data-dir", dir.Sub("data").c_str(), "--admin-token-file", dir.Sub("token").c_str(),
          "--listen", "127.0.0.1:0", "--handle-listen", "127.0.0.1:0", "--http-listen",
          "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // Wait until the node has opened the FIFO for reading (a non-blocking writer can open it only
  // then); keeping this end open without writing leaves the node blocked in its read.
  int writer = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (writer < 0 && std::chrono::steady_clock::now() < deadline) {
    writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling
  }
  ASSERT_GE(writer, 0) << "idnode never opened the certificate";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t reaped = 0;
  while (reaped == 0 && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(10)) {
    reaped = waitpid(pid, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling
  }
  close(writer);
  if (reaped == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  ASSERT_EQ(reaped, pid) << "SIGTERM during start-up was ignored";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(output.find("signal 15 received during start-up; stopping before serving"),
            std::string::npos)
      << output;
}

TEST(StartupTest, RefusesAnHttpListenerOnTheNetworkUnlessAllowed) {
  testing::TempDir dir;
  const std::string base = "--data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0 ";
  Outcome remote = RunIdnode(base + "--http-listen 0.0.0.0:0");
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_NE(remote.output.find("http.listen: is not a loopback address; the statistics pages "
                               "have no login"),
            std::string::npos)
      << remote.output;
  Outcome malformed = RunIdnode(base + "--http-listen localhost:80");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.output.find("http.listen"), std::string::npos) << malformed.output;
  std::string config = dir.Sub("idnode.toml");
  std::ofstream(config) << "[http]\nallow_remote = \"yes\"\n";
  Outcome typed = RunIdnode(base + "--config " + config);
  EXPECT_EQ(typed.exit_code, 2);
  EXPECT_NE(typed.output.find("http.allow_remote: must be true or false"), std::string::npos)
      << typed.output;
}

TEST(StartupTest, RefusesADataDirectoryAnotherNodeHoldsNamingIt) {
  testing::TempDir dir;
  testing::NodeProcess first(dir.Sub("data"));
  ASSERT_TRUE(first.Start());
  Outcome second = RunIdnode("--data-dir " + dir.Sub("data") + " --listen 127.0.0.1:0");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(
      second.output.find("storage.data_dir: " + dir.Sub("data") +
                         " is in use by another process (pid " + std::to_string(first.pid()) + ","),
      std::string::npos)
      << second.output;
  // LMDB's own read-only tools still open the store while the node runs.
  auto [code, stat] = testing::RunCommand("mdb_stat -e " + dir.Sub("data") + " 2>&1");
  EXPECT_EQ(code, 0) << stat;
  EXPECT_NE(stat.find("Environment Info"), std::string::npos) << stat;
  // The first node still serves, and once it is gone the directory is free again.
  EXPECT_FALSE(first.ProvisionRegistrant("acme", "88.123.45").empty());
  first.Kill(SIGKILL);
  testing::NodeProcess third(dir.Sub("data"));
  EXPECT_TRUE(third.Start());
}

TEST(StartupTest, RefusesAGrpcPortAnotherNodeListensOn) {
  testing::TempDir dir;
  testing::NodeOptions options;
  options.grpc_port = testing::FreePort();
  testing::NodeProcess first(dir.Sub("a"), options);
  ASSERT_TRUE(first.Start());
  // Its own store, the live node's gRPC port: without SO_REUSEPORT the bind fails.
  Outcome second =
      RunIdnode("--data-dir " + dir.Sub("b") + " --admin-token-file " + dir.Sub("b.token") +
                " --listen 127.0.0.1:" + std::to_string(options.grpc_port));
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.output.find("grpc.listen: cannot listen on 127.0.0.1:" +
                               std::to_string(options.grpc_port)),
            std::string::npos)
      << second.output;
}

TEST(StartupTest, SighupNeitherStopsTheNodeNorLosesItsWrites) {
  testing::TempDir dir;
  testing::NodeProcess node(dir.Sub("data"));
  ASSERT_TRUE(node.Start());
  ASSERT_EQ(kill(node.pid(), SIGHUP), 0);
  // Still serving afterwards (the default action would have ended it at once).
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty()) << node.Log();
  const v1::CreateRequest create =
      testing::UrlRecord("88.123.45/AFTER-HUP", "https://example.com/hup");
  ASSERT_TRUE(node.Create(token, create).ok());
  const int status = node.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(node.Log().find("SIGHUP received"), std::string::npos) << node.Log();
}

}  // namespace
}  // namespace idnode
