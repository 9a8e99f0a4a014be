// A full disk, for real: the node's data directory is a small tmpfs of its own (in a mount
// namespace the test makes), filled by registrations over gRPC. Writes then fail
// RESOURCE_EXHAUSTED naming the full disk, /healthz says so, deletions still commit (from the
// reserve the node releases), writes resume once deletions made room, and nothing acknowledged is
// lost.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

// Calls Registry `method` on `id` as `token`.
template <typename Request, typename Response>
grpc::Status OnIdentifier(grpc::Status (v1::Registry::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                          const testing::NodeProcess& node, const std::string& token,
                          const std::string& id) {
  auto stub = v1::Registry::NewStub(node.Channel());
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  Request request;
  request.set_identifier(id);
  Response response;
  return ((*stub).*method)(&context, request, &response);
}

grpc::Status Delete(const testing::NodeProcess& node, const std::string& token,
                    const std::string& id) {
  return OnIdentifier(&v1::Registry::Stub::Delete, node, token, id);
}

grpc::Status Get(const testing::NodeProcess& node, const std::string& token,
                 const std::string& id) {
  return OnIdentifier(&v1::Registry::Stub::Get, node, token, id);
}

TEST(DiskFullTest, WritesFailNamingTheFullDiskDeletionsStillCommitAndWritesResume) {
  testing::TempDir dir;
  std::string why;
  if (!testing::CanMountPrivateTmpfs(dir.Sub("probe"), why)) {
    GTEST_SKIP() << "this system allows no private tmpfs (" << why << ")";
  }
  const std::string config = dir.Sub("idnode.toml");
  std::ofstream(config) << "[storage]\nreserve_mib = 2\n";
  testing::NodeOptions options;
  options.extra_args = {"--config", config};
  options.tmpfs_bytes = 12 << 20;
  testing::NodeProcess node(dir.Sub("data"), options);
  ASSERT_TRUE(node.Start()) << node.Log();
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(node.Metric("idnode_store_reserve_held"), 1);

  // Fill the disk: 2 KB records until one is refused.
  std::vector<std::string> acknowledged;
  grpc::Status refused;
  for (int i = 0; i < 20'000; ++i) {
    const std::string id = "88.123.45/FILL-" + std::to_string(i);
    grpc::Status created =
        node.Create(token, testing::UrlRecord(id, "https://example.com/" + std::string(2000, 'f')));
    if (!created.ok()) {
      refused = created;
      break;
    }
    acknowledged.push_back(id);
  }
  ASSERT_FALSE(refused.ok()) << "12 MiB never filled";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("is full"), std::string::npos) << refused.error_message();
  ASSERT_GT(acknowledged.size(), 1000u);
  std::cout << acknowledged.size() << " acknowledged, then: " << refused.error_message() << "\n";

  // The node says so, and refuses further registrations at once, naming why.
  const testing::HttpReply health = testing::HttpRequest(node.http_port(), "/healthz");
  EXPECT_EQ(health.status, 503);
  std::cout << "/healthz: " << health.body;
  EXPECT_NE(health.body.find("disk full: only deletions are accepted"), std::string::npos)
      << health.body;
  grpc::Status again = node.Create(token, testing::UrlRecord("88.123.45/MORE", "https://x"));
  EXPECT_EQ(again.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(again.error_message().find("only deletions are accepted"), std::string::npos)
      << again.error_message();
  EXPECT_EQ(node.Metric("idnode_store_disk_full"), 1);
  EXPECT_EQ(node.Metric("idnode_store_reserve_held"), 0);

  // Deletions commit (the reserve gave them room) and make room inside the store.
  const size_t kept = acknowledged.size() / 2;
  for (size_t i = kept; i < acknowledged.size(); ++i) {
    grpc::Status deleted = Delete(node, token, acknowledged[i]);
    ASSERT_TRUE(deleted.ok()) << acknowledged[i] << ": " << deleted.error_message();
  }
  acknowledged.resize(kept);
  // Registrations resume once the writer has measured the room (at most once a second).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (node.Metric("idnode_store_disk_full") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the condition
  }
  EXPECT_EQ(node.Metric("idnode_store_disk_full"), 0);
  EXPECT_TRUE(node.Create(token, testing::UrlRecord("88.123.45/AFTER", "https://x")).ok());
  EXPECT_EQ(testing::HttpRequest(node.http_port(), "/healthz").status, 200);

  // Nothing acknowledged was lost.
  for (const std::string& id : acknowledged) {
    grpc::Status got = Get(node, token, id);
    ASSERT_TRUE(got.ok()) << id << ": " << got.error_message();
  }
  EXPECT_TRUE(Get(node, token, "88.123.45/AFTER").ok());
}

}  // namespace
}  // namespace idnode
