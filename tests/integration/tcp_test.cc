// The Handle protocol over real TCP connections (and get-site-info over both transports) to a
// real idnode process on 127.0.0.1: one-shot and keep-alive exchanges, pipelined requests, the
// idle timeout, the connection cap and the message size cap.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>

#include "registry/base/bytes.h"
#include "resolver/client/handle_client.h"
#include "tests/integration/node_process.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using resolver::HandleConnection;
using resolver::HandleRequest;
using resolver::Transport;
using std::chrono::milliseconds;

constexpr milliseconds kTimeout(5000);

// Waits until the server closes `connection` (recv returns 0 or a reset) or `timeout` passes;
// true when it closed. Any bytes that arrive first are skipped.
bool WaitForClose(const HandleConnection& connection, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{connection.fd(), POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buffer[4096];
    ssize_t n = recv(connection.fd(), buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

std::string Request(std::string_view handle, uint32_t request_id, bool keep_alive = false) {
  return testing::BuildRequest(handle, 0x19000000 | (keep_alive ? wire::op_flag::kKeepAlive : 0),
                               request_id);
}

HandleRequest Resolution(std::string_view handle) {
  HandleRequest request;
  request.handle = handle;
  return request;
}

class TcpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string config = dir_->Sub("idnode.toml");
    std::ofstream(config) << "[handle]\n"
                             "tcp_idle_timeout_ms = 300\n"
                             "tcp_max_connections = 4\n"
                             "tcp_max_message_bytes = 4096\n"
                             "site_description = \"tcp test node\"\n";
    testing::NodeOptions options;
    options.extra_args = {"--config", config};
    node_ = new testing::NodeProcess(dir_->Sub("node"), options);
    ASSERT_TRUE(node_->Start());
    std::string token = node_->ProvisionRegistrant("acme", "88.123.45");
    ASSERT_FALSE(token.empty());
    for (int i = 1; i <= 3; ++i) {
      v1::CreateRequest create;
      create.set_identifier("88.123.45/TCP-" + std::to_string(i));
      v1::Value* v = create.add_values();
      v->set_index(1);
      v->set_type("URL");
      v->set_data("https://example.com/tcp/" + std::to_string(i));
      ASSERT_TRUE(node_->Create(token, create).ok());
    }
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
  }

  static net::Ipv4Endpoint Server() {
    return {0x7f000001, static_cast<uint16_t>(node_->handle_port())};
  }
  static HandleConnection Connect() {
    auto connection = HandleConnection::Open(Transport::kTcp, Server(), kTimeout);
    EXPECT_TRUE(connection.ok()) << connection.status();
    return std::move(*connection);
  }

  static inline testing::TempDir* dir_;
  static inline testing::NodeProcess* node_;
};

TEST_F(TcpTest, AnswersOneRequestAndClosesWithoutKeepAlive) {
  HandleConnection connection = Connect();
  ASSERT_TRUE(connection.Send(Request("88.123.45/TCP-1", 11, false)).ok());
  auto whole = connection.Receive(11, kTimeout);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto reply = resolver::DecodeReply(*whole, wire::opcode::kResolution);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
  ASSERT_EQ(reply->values.size(), 1u);
  EXPECT_EQ(reply->values[0].data, "https://example.com/tcp/1");
  EXPECT_TRUE(WaitForClose(connection, kTimeout));
}

TEST_F(TcpTest, KeepsTheConnectionForKeepAliveAndAnswersPipelinedRequestsInOrder) {
  HandleConnection connection = Connect();
  ASSERT_TRUE(connection.Send(Request("88.123.45/TCP-1", 21, true)).ok());
  auto first = connection.Receive(21, kTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  // Three requests in one write: a hit, a miss and a hit; the replies come back in order.
  std::string burst = Request("88.123.45/TCP-2", 22, true) + Request("88.123.45/NOPE", 23, true) +
                      Request("88.123.45/TCP-3", 24, true);
  ASSERT_TRUE(connection.Send(burst).ok());
  for (auto [id, code, data] : {std::tuple{22u, wire::rc::kSuccess, "https://example.com/tcp/2"},
                                std::tuple{23u, wire::rc::kHandleNotFound, ""},
                                std::tuple{24u, wire::rc::kSuccess, "https://example.com/tcp/3"}}) {
    auto whole = connection.Receive(id, kTimeout);
    ASSERT_TRUE(whole.ok()) << id << ": " << whole.status();
    auto reply = resolver::DecodeReply(*whole, wire::opcode::kResolution);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->envelope.request_id, id);
    EXPECT_EQ(reply->header.response_code, code) << id;
    if (code == wire::rc::kSuccess) {
      ASSERT_EQ(reply->values.size(), 1u);
      EXPECT_EQ(reply->values[0].data, data);
    }
  }
  // The last request also asked to keep the connection: a fourth is still answered.
  ASSERT_TRUE(connection.Send(Request("88.123.45/TCP-1", 25, false)).ok());
  EXPECT_TRUE(connection.Receive(25, kTimeout).ok());
  EXPECT_TRUE(WaitForClose(connection, kTimeout));
}

TEST_F(TcpTest, ClosesIdleConnections) {
  HandleConnection silent = Connect();
  HandleConnection kept = Connect();
  ASSERT_TRUE(kept.Send(Request("88.123.45/TCP-1", 31, true)).ok());
  ASSERT_TRUE(kept.Receive(31, kTimeout).ok());
  // Both go quiet; the 300 ms idle timeout closes them (checked every 75 ms).
  EXPECT_TRUE(WaitForClose(silent, kTimeout));
  EXPECT_TRUE(WaitForClose(kept, kTimeout));
}

TEST_F(TcpTest, RefusesConnectionsBeyondTheCapAndServesAgainOnceTheyClose) {
  std::vector<HandleConnection> open;
  for (uint32_t i = 0; i < 4; ++i) {
    open.push_back(Connect());
    ASSERT_TRUE(open.back().Send(Request("88.123.45/TCP-1", 40 + i, true)).ok());
    ASSERT_TRUE(open.back().Receive(40 + i, kTimeout).ok()) << i;
  }
  HandleConnection extra = Connect();  // the kernel accepts it; the node closes it at once
  extra.Send(Request("88.123.45/TCP-1", 49, true)).IgnoreError();  // may find it closed
  auto refused = extra.Receive(49, kTimeout);
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  open.clear();
  // Once the others are gone, new connections are served again.
  auto reply = resolver::Query(Transport::kTcp, Server(), Resolution("88.123.45/TCP-2"), kTimeout);
  for (int attempt = 0; attempt < 50 && !reply.ok(); ++attempt) {
    reply = resolver::Query(Transport::kTcp, Server(), Resolution("88.123.45/TCP-2"), kTimeout);
  }
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
}

TEST_F(TcpTest, ClosesAConnectionWhoseRequestIsAboveTheSizeCap) {
  HandleConnection connection = Connect();
  // An envelope announcing a 1 MiB message: the node does not read it and closes.
  wire::Envelope envelope;
  envelope.request_id = 51;
  envelope.message_length = 1 << 20;
  std::string bytes;
  wire::EncodeEnvelope(envelope, bytes);
  bytes.append(64, '\0');
  ASSERT_TRUE(connection.Send(bytes).ok());
  EXPECT_TRUE(WaitForClose(connection, kTimeout));
  // A garbage envelope (length below a header) is not framed either.
  HandleConnection garbage = Connect();
  ASSERT_TRUE(garbage.Send(std::string(40, '\x07')).ok());
  EXPECT_TRUE(WaitForClose(garbage, kTimeout));
  // And the node still answers.
  auto reply = resolver::Query(Transport::kTcp, Server(), Resolution("88.123.45/TCP-3"), kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
}

TEST_F(TcpTest, GetSiteInfoAnswersThisNodesAddressAndPortOverBothTransports) {
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    HandleRequest request;
    request.opcode = wire::opcode::kGetSiteInfo;
    request.flags = 0;
    auto reply = resolver::Query(transport, Server(), request, kTimeout);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
    const wire::SiteInfo& site = reply->site;
    EXPECT_EQ(site.major, 2);
    EXPECT_EQ(site.minor, 11);
    EXPECT_EQ(site.flags, wire::site::kPrimary);
    ASSERT_EQ(site.attributes.size(), 1u);
    EXPECT_EQ(site.attributes[0].first, "desc");
    EXPECT_EQ(site.attributes[0].second, "tcp test node");
    ASSERT_EQ(site.servers.size(), 1u);
    EXPECT_EQ(wire::AddressText(site.servers[0].address), "127.0.0.1");
    const uint32_t port = static_cast<uint32_t>(node_->handle_port());
    EXPECT_EQ(site.servers[0].interfaces,
              (std::vector<wire::SiteInterface>{{wire::site::kQuery, wire::site::kUdp, port},
                                                {wire::site::kQuery, wire::site::kTcp, port}}));
  }
}

}  // namespace
}  // namespace idnode
