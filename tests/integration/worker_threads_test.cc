// The Handle front ends' worker threads in a real idnode process: named for operators
// (handle-udp-N, handle-tcp-N, like the writer and the other long-lived threads), under ordinary
// scheduling by default, under SCHED_FIFO when handle.realtime_priority asks for it, a start-up
// refusal naming the setting when the process may not use it, and workers that go on serving
// when another process grows the store's map under them.

#include <gtest/gtest.h>
#include <lmdb.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>

#include "resolver/client/handle_client.h"
#include "tests/integration/node_process.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

struct Scheduling {
  int policy = -1;
  int priority = -1;
};

// The scheduling of each of process `pid`'s threads, by thread name. Names repeat (the gRPC
// threads share theirs); the workers' names are unique.
std::multimap<std::string, Scheduling> ThreadsOf(int pid) {
  std::multimap<std::string, Scheduling> threads;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string name;
    std::getline(std::ifstream(entry.path() / "comm"), name);
    const pid_t tid = std::stoi(entry.path().filename().string());
    Scheduling scheduling;
    scheduling.policy = sched_getscheduler(tid);
    sched_param param{};
    if (sched_getparam(tid, &param) == 0) scheduling.priority = param.sched_priority;
    threads.emplace(name, scheduling);
  }
  return threads;
}

// Whether this process may put a thread under SCHED_FIFO (root, CAP_SYS_NICE or RLIMIT_RTPRIO):
// the node started from it may then too.
bool MayUseFifo() {
  std::promise<void> done;
  std::thread probe([future = done.get_future()]() mutable { future.wait(); });
  sched_param param{};
  param.sched_priority = 1;
  const bool may = pthread_setschedparam(probe.native_handle(), SCHED_FIFO, &param) == 0;
  done.set_value();
  probe.join();
  return may;
}

std::string WriteConfig(const testing::TempDir& dir, const std::string& text) {
  std::string path = dir.Sub("idnode.toml");
  std::ofstream(path) << text;
  return path;
}

// A node started with a config file holding `text`.
testing::NodeProcess NodeWithConfig(const testing::TempDir& dir, const std::string& text) {
  testing::NodeOptions options;
  options.extra_args = {"--config", WriteConfig(dir, text)};
  return testing::NodeProcess(dir.Sub("node"), options);
}

// The node answers a resolution (here: not found) over `transport`.
void ExpectAnswers(const testing::NodeProcess& node, client::Transport transport) {
  client::HandleRequest request;
  request.handle = "88.123.45/NO-SUCH-THING";
  auto reply = client::Query(transport, {0x7f000001, static_cast<uint16_t>(node.handle_port())},
                             request, std::chrono::seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kHandleNotFound);
}

const char* const kWorkers[] = {"handle-udp-0", "handle-udp-1", "handle-tcp-0"};

TEST(WorkerThreadsTest, AreNamedAndOrdinaryByDefault) {
  testing::TempDir dir;
  testing::NodeProcess node = NodeWithConfig(dir, "[handle]\nudp_workers = 2\ntcp_workers = 1\n");
  ASSERT_TRUE(node.Start()) << node.Log();
  auto threads = ThreadsOf(node.pid());
  for (const char* name : kWorkers) {
    ASSERT_EQ(threads.count(name), 1u) << name;
    EXPECT_EQ(threads.find(name)->second.policy, SCHED_OTHER) << name;
  }
  // The node's other long-lived threads are named too.
  for (const char* name : {"writer", "stats-flush", "http"})
    EXPECT_EQ(threads.count(name), 1u) << name;
  EXPECT_EQ(threads.count("handle-udp-2"), 0u);
  EXPECT_EQ(threads.count("handle-tcp-1"), 0u);
  ExpectAnswers(node, client::Transport::kUdp);
}

TEST(WorkerThreadsTest, RunUnderFifoAtTheConfiguredPriorityOrTheNodeRefusesToStart) {
  testing::TempDir dir;
  testing::NodeProcess node =
      NodeWithConfig(dir, "[handle]\nudp_workers = 2\ntcp_workers = 1\nrealtime_priority = 3\n");
  if (!MayUseFifo()) {
    // Neither root nor CAP_SYS_NICE nor RLIMIT_RTPRIO: the node must say why it does not start.
    ASSERT_FALSE(node.Start());
    EXPECT_NE(node.Log().find("handle.realtime_priority: cannot run handle-udp-0 under SCHED_FIFO "
                              "priority 3: Operation not permitted"),
              std::string::npos)
        << node.Log();
    return;
  }
  ASSERT_TRUE(node.Start()) << node.Log();
  auto threads = ThreadsOf(node.pid());
  for (const char* name : kWorkers) {
    ASSERT_EQ(threads.count(name), 1u) << name;
    EXPECT_EQ(threads.find(name)->second.policy, SCHED_FIFO) << name;
    EXPECT_EQ(threads.find(name)->second.priority, 3) << name;
  }
  // Only the workers: the writer, gRPC and HTTP threads keep ordinary scheduling.
  size_t fifo = 0;
  for (const auto& [name, scheduling] : threads) fifo += scheduling.policy == SCHED_FIFO;
  EXPECT_EQ(fifo, 3u);
  ExpectAnswers(node, client::Transport::kUdp);
  ExpectAnswers(node, client::Transport::kTcp);
}

// Run where the test may use SCHED_FIFO (as root, say): the node started without CAP_SYS_NICE
// (setpriv drops it from the bounding set) and RLIMIT_RTPRIO 0 must refuse, naming the setting.
TEST(WorkerThreadsTest, RefuseToStartWhenTheProcessMayNotUseFifo) {
  if (!MayUseFifo()) GTEST_SKIP() << "covered by the previous test's refusal branch";
  if (!std::filesystem::exists("/usr/bin/setpriv")) GTEST_SKIP() << "no setpriv to drop the cap";
  testing::TempDir dir;
  const std::string config = WriteConfig(dir, "[handle]\nrealtime_priority = 7\n");
  // `timeout` ends a node that starts after all, so that the test fails instead of hanging.
  const std::string command =
      "ulimit -r 0 && timeout 30 /usr/bin/setpriv --bounding-set -sys_nice --inh-caps -sys_nice "
      "-- " +
      std::string(IDNODE_BINARY) + " --quiet --config " + config + " --data-dir " +
      dir.Sub("data") + " --admin-token-file " + dir.Sub("token") +
      " --listen 127.0.0.1:0 --handle-listen 127.0.0.1:0 --http-listen 127.0.0.1:0";
  const auto [exit_code, output] = testing::RunCommand(command);
  if (output.find("setpriv:") != std::string::npos) {
    GTEST_SKIP() << "setpriv cannot drop CAP_SYS_NICE here: " << output;
  }
  EXPECT_GT(exit_code, 0) << output;  // exited, and not successfully
  EXPECT_NE(output.find("handle.realtime_priority: cannot run handle-udp-0 under SCHED_FIFO "
                        "priority 7: Operation not permitted"),
            std::string::npos)
      << output;
}

// Grows the LMDB map of `dir` from this process, as any other LMDB program could (the node's
// lock only keeps out a second idnode): opens it with a 64 MiB map and commits 8 MiB of data
// into a database of its own. True when the commit succeeded.
bool GrowTheMapFromAnotherProcess(const std::string& dir) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return false;
  mdb_env_set_maxdbs(env, 64);
  mdb_env_set_mapsize(env, size_t{64} << 20);
  bool ok = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0640) == 0;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  ok = ok && mdb_txn_begin(env, nullptr, 0, &txn) == 0;
  ok = ok && mdb_dbi_open(txn, "outsider_v1", MDB_CREATE, &dbi) == 0;
  std::string data(4096, 'x');
  for (int i = 0; ok && i < 2048; ++i) {
    std::string key = "k" + std::to_string(i);
    MDB_val k{key.size(), key.data()};
    MDB_val v{data.size(), data.data()};
    ok = mdb_put(txn, dbi, &k, &v, 0) == 0;
  }
  ok = ok && mdb_txn_commit(txn) == 0;
  mdb_env_close(env);
  return ok;
}

TEST(WorkerThreadsTest, WorkersGoOnServingWhenAnotherProcessGrowsTheMap) {
  testing::TempDir dir;
  std::string config = dir.Sub("idnode.toml");
  std::ofstream(config) << "[storage]\ninitial_map_mib = 1\n";
  testing::NodeOptions options;
  options.extra_args = {"--config", config};
  testing::NodeProcess node(dir.Sub("data"), options);
  ASSERT_TRUE(node.Start());
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  auto create = [&](const std::string& id) {
    return node.Create(token, testing::UrlRecord(id, "https://example.com/" + id));
  };
  ASSERT_TRUE(create("88.123.45/BEFORE").ok());
  ASSERT_TRUE(GrowTheMapFromAnotherProcess(dir.Sub("data")));

  // Every worker meets MDB_MAP_RESIZED at its next transaction, adopts the new size, and
  // answers; writes go on too.
  const net::Endpoint server{0x7f000001, static_cast<uint16_t>(node.handle_port())};
  for (int round = 0; round < 4; ++round) {
    for (client::Transport transport : {client::Transport::kUdp, client::Transport::kTcp}) {
      client::HandleRequest request;
      request.handle = "88.123.45/BEFORE";
      auto reply = client::Query(transport, server, request, std::chrono::seconds(3));
      ASSERT_TRUE(reply.ok()) << client::TransportName(transport) << ": " << reply.status();
      EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
    }
  }
  EXPECT_TRUE(create("88.123.45/AFTER").ok());
  EXPECT_GE(node.Metric("idnode_store_map_adoptions_total"), 1);
  EXPECT_EQ(node.Metric("idnode_handle_workers_failing{transport=\"udp\"}"), 0);
  EXPECT_EQ(node.Metric("idnode_handle_worker_errors_total{transport=\"udp\",kind=\"renew\"}"), 0);
  EXPECT_EQ(testing::HttpRequest(node.http_port(), "/healthz").status, 200);
}

}  // namespace
}  // namespace idnode
