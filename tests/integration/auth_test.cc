// Failed authentications over gRPC: logged with source and method and never the token, counted,
// and slowed per source, against a real idnode process.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

grpc::Status ListAccounts(const testing::NodeProcess& node, const std::string& token) {
  auto admin = v1::Admin::NewStub(node.Channel());
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  v1::ListAccountsRequest request;
  v1::ListAccountsResponse response;
  return admin->ListAccounts(&context, request, &response);
}

TEST(AuthTest, RepeatedFailuresAreLoggedWithoutTheTokenAndSlowTheirSource) {
  testing::TempDir dir;
  testing::NodeProcess node(dir.Sub("data"));  // logs at warn, as the failures are
  ASSERT_TRUE(node.Start()) << node.Log();
  const std::string guess = "idn_" + std::string(64, '7');
  // Guess until the node stops looking at the tokens.
  int refused = 0;
  grpc::Status last;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    last = ListAccounts(node, guess);
    if (last.error_code() != grpc::StatusCode::UNAUTHENTICATED) break;
    ++refused;
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  EXPECT_EQ(last.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << last.error_message();
  EXPECT_NE(last.error_message().find("too many failed authentications from ipv4:127.0.0.1"),
            std::string::npos)
      << last.error_message();
  // Ten in a row, and about one a second more while they were made.
  EXPECT_GE(refused, 10);
  EXPECT_LE(refused, 11 + seconds);
  // While it is slowed, the source's calls are refused whatever their token.
  EXPECT_EQ(ListAccounts(node, node.admin_token()).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(node.Metric("idnode_auth_failures_total{result=\"refused\"}"), refused);
  EXPECT_GE(node.Metric("idnode_auth_failures_total{result=\"throttled\"}"), 2);

  const std::string log = node.Log();
  EXPECT_NE(log.find("auth: ListAccounts from ipv4:127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("refused: authorization: unknown token"), std::string::npos) << log;
  EXPECT_NE(log.find("auth: ipv4:127.0.0.1 keeps failing to authenticate"), std::string::npos)
      << log;
  EXPECT_EQ(log.find(std::string(64, '7')), std::string::npos) << "a token reached the log";

  // The budget comes back: the admin's token works again after a short wait.
  bool recovered = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    recovered = ListAccounts(node, node.admin_token()).ok();
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling
  }
  EXPECT_TRUE(recovered);
}

}  // namespace
}  // namespace idnode
