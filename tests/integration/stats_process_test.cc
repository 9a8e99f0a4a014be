// Durable resolution counters in a real idnode process: counts reach the store with each flush,
// survive a restart, a graceful stop writes the last ones, SIGKILL loses at most what was counted
// since the last flush and never counts anything twice.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "resolver/client/handle_client.h"
#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using client::Transport;

class StatsProcessTest : public ::testing::Test {
 protected:
  // A node flushing every `interval_ms`.
  std::unique_ptr<testing::NodeProcess> StartNode(int interval_ms) {
    std::string config = dir_.Sub("idnode.toml");
    std::ofstream(config) << "[stats]\nflush_interval_ms = " << interval_ms << "\n";
    auto node = std::make_unique<testing::NodeProcess>(
        dir_.Sub("node"), testing::NodeOptions{{"--config", config}, ""});
    EXPECT_TRUE(node->Start());
    return node;
  }

  // Resolves the registered identifier `n` times over TCP (one exchange per connection: no
  // retransmission can make the node answer twice).
  static void Resolve(const testing::NodeProcess& node, int n, const std::string& id) {
    client::HandleRequest request;
    request.handle = id;
    net::Endpoint server{0x7f000001, static_cast<uint16_t>(node.handle_port())};
    for (int i = 0; i < n; ++i) {
      auto reply = client::Query(Transport::kTcp, server, request);
      ASSERT_TRUE(reply.ok()) << reply.status();
      ASSERT_EQ(reply->header.response_code, wire::rc::kSuccess);
    }
  }

  // Resolutions on disk over yesterday and today (a run may straddle midnight), -1 on error.
  static int64_t Stored(const testing::NodeProcess& node) {
    auto stub = v1::Stats::NewStub(node.Channel());
    grpc::ClientContext context;
    idctl::Authorize(context, node.admin_token());
    v1::StatsReportRequest request;
    v1::StatsReport report;
    if (!stub->Report(&context, request, &report).ok() || report.days_size() < 2) return -1;
    return static_cast<int64_t>(report.days(report.days_size() - 1).resolutions() +
                                report.days(report.days_size() - 2).resolutions());
  }

  // Waits (up to 20 s) until the stored count reaches `want`; returns the last value read.
  static int64_t WaitForStored(const testing::NodeProcess& node, int64_t want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int64_t stored = Stored(node);
    while (stored < want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the node
      stored = Stored(node);
    }
    return stored;
  }

  std::string Provision(const testing::NodeProcess& node) {
    std::string token = node.ProvisionRegistrant("acme", "88.123.45");
    EXPECT_FALSE(token.empty());
    v1::CreateRequest create;
    create.set_identifier("88.123.45/STAT-1");
    v1::Value* value = create.add_values();
    value->set_index(1);
    value->set_type("URL");
    value->set_data("https://example.com/1");
    EXPECT_TRUE(node.Create(token, create).ok());
    return create.identifier();
  }

  testing::TempDir dir_;
};

TEST_F(StatsProcessTest, FlushedCountsSurviveSigkillAndAGracefulStopWritesTheRest) {
  std::string id;
  {
    auto node = StartNode(100);
    id = Provision(*node);
    Resolve(*node, 40, id);
    EXPECT_EQ(WaitForStored(*node, 40), 40);
    // Once flushed, a SIGKILL loses nothing of it and adds nothing.
    node->Kill(SIGKILL);
  }
  {
    auto node = StartNode(600'000);  // no timed flush: only the one at shutdown
    EXPECT_EQ(Stored(*node), 40);
    Resolve(*node, 25, id);
    EXPECT_EQ(Stored(*node), 40);  // counted in memory, not yet on disk
    node->Kill(SIGTERM);           // a graceful stop flushes
  }
  {
    auto node = StartNode(600'000);
    EXPECT_EQ(Stored(*node), 65);
    Resolve(*node, 10, id);
    node->Kill(SIGKILL);  // within the interval: these ten are the most a crash may lose
  }
  auto node = StartNode(600'000);
  EXPECT_EQ(Stored(*node), 65);
}

TEST_F(StatsProcessTest, SigkillDuringFrequentFlushesNeverCountsTwice) {
  auto node = StartNode(10);  // flushing all the time, so the kill may land inside one
  std::string id = Provision(*node);
  std::atomic<int64_t> answered{0};
  std::atomic<bool> stop{false};
  std::thread client([&] {
    client::HandleRequest request;
    request.handle = id;
    net::Endpoint server{0x7f000001, static_cast<uint16_t>(node->handle_port())};
    while (!stop.load()) {
      auto reply = client::Query(Transport::kTcp, server, request, std::chrono::seconds(1));
      if (!reply.ok()) break;  // the node is gone
      answered.fetch_add(1);
    }
  });
  const int64_t first = WaitForStored(*node, 200);  // some flushes have happened
  EXPECT_GE(first, 200);
  node->Kill(SIGKILL);
  stop.store(true);
  client.join();
  auto restarted = StartNode(600'000);
  const int64_t stored = Stored(*restarted);
  // At most one answer the client had not received yet when the node died.
  EXPECT_LE(stored, answered.load() + 1);
  EXPECT_GE(stored, first);
}

}  // namespace
}  // namespace idnode
