// The Handle protocol over real TCP connections (and get-site-info over both transports) to a
// real idnode process on 127.0.0.1: connections that stay open whatever KC says, as the national
// SDKs use them, pipelined requests, the idle and request timeouts, the connection cap (the
// connection idle longest gives way), the per-source share and the message size cap. The
// node under load from thousands of hostile connections is tcp_bounds_test.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <thread>

#include "registry/base/bytes.h"
#include "resolver/client/handle_client.h"
#include "tests/integration/node_process.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using client::HandleConnection;
using client::HandleRequest;
using client::Transport;
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

// Sends `request_id`'s request on `connection` and checks that it is answered with `code`.
void ExpectAnswered(HandleConnection& connection, std::string_view handle, uint32_t request_id,
                    uint32_t code = wire::rc::kSuccess, bool keep_alive = false) {
  ASSERT_TRUE(connection.Send(Request(handle, request_id, keep_alive)).ok()) << request_id;
  auto whole = connection.Receive(request_id, kTimeout);
  ASSERT_TRUE(whole.ok()) << request_id << ": " << whole.status();
  auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, code) << request_id;
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
                             "tcp_request_timeout_ms = 200\n"
                             "tcp_max_connections = 4\n"
                             "tcp_max_per_source_percent = 50\n"  // 2 connections each
                             "tcp_max_message_bytes = 4096\n"
                             "tcp_max_pending_reply_bytes = 16384\n"
                             "tcp_write_timeout_ms = 500\n"
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

  static net::Endpoint Server() {
    return {0x7f000001, static_cast<uint16_t>(node_->handle_port())};
  }
  // A connection from `source` (127.0.0.1 when 0; any 127.x.y.z is this host's).
  static HandleConnection Connect(uint32_t source = 0) {
    auto connection = HandleConnection::Open(Transport::kTcp, Server(), kTimeout, source);
    EXPECT_TRUE(connection.ok()) << connection.status();
    return std::move(*connection);
  }

  static inline testing::TempDir* dir_;
  static inline testing::NodeProcess* node_;
};

TEST_F(TcpTest, KeepsTheConnectionAfterEachReplyWhateverKeepAliveSays) {
  // As both national SDKs do: get-site-info first, then every request on the same connection,
  // none of them with KC.
  HandleConnection connection = Connect();
  HandleRequest site;
  site.opcode = wire::opcode::kGetSiteInfo;
  std::string bytes;
  client::EncodeRequest(site, 10, bytes);
  ASSERT_TRUE(connection.Send(bytes).ok());
  auto whole = connection.Receive(10, kTimeout);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto reply = client::DecodeReply(*whole, wire::opcode::kGetSiteInfo);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply->header.flags & wire::op_flag::kKeepAlive, 0u);
  ExpectAnswered(connection, "88.123.45/TCP-1", 11);
  ExpectAnswered(connection, "88.123.45/TCP-2", 12, wire::rc::kSuccess, /*keep_alive=*/true);
  ExpectAnswered(connection, "88.123.45/NOPE", 13, wire::rc::kHandleNotFound);
  ExpectAnswered(connection, "88.123.45/TCP-3", 14);
}

TEST_F(TcpTest, AnswersPipelinedRequestsInOrder) {
  HandleConnection connection = Connect();
  ExpectAnswered(connection, "88.123.45/TCP-1", 21);
  // Three requests in one write: a hit, a miss and a hit; the replies come back in order.
  std::string burst = Request("88.123.45/TCP-2", 22) + Request("88.123.45/NOPE", 23) +
                      Request("88.123.45/TCP-3", 24);
  ASSERT_TRUE(connection.Send(burst).ok());
  for (auto [id, code, data] : {std::tuple{22u, wire::rc::kSuccess, "https://example.com/tcp/2"},
                                std::tuple{23u, wire::rc::kHandleNotFound, ""},
                                std::tuple{24u, wire::rc::kSuccess, "https://example.com/tcp/3"}}) {
    auto whole = connection.Receive(id, kTimeout);
    ASSERT_TRUE(whole.ok()) << id << ": " << whole.status();
    auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->envelope.request_id, id);
    EXPECT_EQ(reply->header.response_code, code) << id;
    if (code == wire::rc::kSuccess) {
      ASSERT_EQ(reply->values.size(), 1u);
      EXPECT_EQ(reply->values[0].data, data);
    }
  }
  ExpectAnswered(connection, "88.123.45/TCP-1", 25);
}

TEST_F(TcpTest, ClosesConnectionsWithNoCompleteRequestForTheIdleTimeout) {
  HandleConnection silent = Connect();
  HandleConnection served = Connect();
  ExpectAnswered(served, "88.123.45/TCP-1", 31);
  // Both go quiet; the 300 ms idle timeout closes them.
  EXPECT_TRUE(WaitForClose(silent, kTimeout));
  EXPECT_TRUE(WaitForClose(served, kTimeout));
  // A connection that completes a request every 100 ms outlives many idle timeouts.
  HandleConnection busy = Connect();
  const auto until = std::chrono::steady_clock::now() + milliseconds(1200);
  for (uint32_t id = 100; std::chrono::steady_clock::now() < until; ++id) {
    ExpectAnswered(busy, "88.123.45/TCP-2", id);
    std::this_thread::sleep_for(milliseconds(100));  // the client's pace, not a wait
  }
}

TEST_F(TcpTest, ARequestMustArriveWholeWithinTheRequestTimeoutHoweverItTrickles) {
  const int64_t before =
      node_->Metric("idnode_tcp_connections_closed_total{reason=\"request_timeout\"}");
  HandleConnection trickler = Connect();
  const std::string request = Request("88.123.45/TCP-1", 41);
  // One byte every 50 ms: the request would take 2.9 s whole; the node stops waiting after
  // 200 ms from its first byte (checked every 50 ms), whatever keeps arriving.
  size_t sent = 0;
  bool closed = false;
  for (; sent < request.size() && !closed; ++sent) {
    if (send(trickler.fd(), request.data() + sent, 1, MSG_NOSIGNAL) != 1) break;
    closed = WaitForClose(trickler, milliseconds(50));
  }
  EXPECT_TRUE(closed || WaitForClose(trickler, kTimeout));
  EXPECT_LT(sent, request.size());
  EXPECT_EQ(node_->Metric("idnode_tcp_connections_closed_total{reason=\"request_timeout\"}"),
            before + 1);
}

TEST_F(TcpTest, AClientThatDoesNotTakeItsRepliesIsPausedThenClosed) {
  const std::string token = node_->ProvisionRegistrant("bulk", "88.123.46");
  ASSERT_FALSE(token.empty());
  ASSERT_TRUE(node_->Create(token, testing::LargeRecord("88.123.46/BIG", 40, 1000)).ok());
  // A small receive window, and 200 pipelined requests for 40 KB each that are never read.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_storage address;
  const socklen_t length = Server().ToSockaddr(address);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  std::string pipelined;
  for (uint32_t id = 1; id <= 200; ++id) pipelined += Request("88.123.46/BIG", id);
  ASSERT_EQ(send(fd, pipelined.data(), pipelined.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(pipelined.size()));
  // The node stops answering once 16 KiB wait unsent, and closes the connection when they are
  // still not taken after the 500 ms write timeout.
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  int64_t closed = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         (closed = node_->Metric(
              "idnode_tcp_connections_closed_total{reason=\"write_timeout\"}")) == 0) {
    std::this_thread::sleep_for(milliseconds(50));  // polling the condition
  }
  EXPECT_EQ(closed, 1);
  EXPECT_GE(node_->Metric("idnode_tcp_read_pauses_total"), 1);
  close(fd);
  // Others are served meanwhile and after.
  HandleConnection other = Connect();
  ExpectAnswered(other, "88.123.45/TCP-1", 90);
}

TEST_F(TcpTest, AtTheCapTheConnectionIdleLongestGivesWay) {
  // Four connections (two per source address, the share of each), each served once.
  const uint32_t kOther = 0x7f000002;  // 127.0.0.2
  std::vector<HandleConnection> open;
  for (uint32_t i = 0; i < 4; ++i) {
    open.push_back(Connect(i < 2 ? 0 : kOther));
    ExpectAnswered(open.back(), "88.123.45/TCP-1", 40 + i);
  }
  // All but the second are served again: the second is now the one idle longest.
  for (uint32_t i : {0u, 2u, 3u}) ExpectAnswered(open[i], "88.123.45/TCP-2", 50 + i);
  HandleConnection newcomer = Connect(0x7f000003);
  ExpectAnswered(newcomer, "88.123.45/TCP-3", 59);
  EXPECT_TRUE(WaitForClose(open[1], kTimeout));
  for (uint32_t i : {0u, 2u, 3u}) ExpectAnswered(open[i], "88.123.45/TCP-1", 60 + i);
  EXPECT_EQ(node_->Metric("idnode_tcp_connections_closed_total{reason=\"evicted\"}"), 1);
}

TEST_F(TcpTest, OneSourceAddressHoldsAtMostItsShare) {
  HandleConnection first = Connect();
  HandleConnection second = Connect();
  ExpectAnswered(first, "88.123.45/TCP-1", 71);
  ExpectAnswered(second, "88.123.45/TCP-1", 72);
  HandleConnection third = Connect();  // the kernel accepts it; the node closes it at once
  third.Send(Request("88.123.45/TCP-1", 73)).IgnoreError();  // may find it closed
  EXPECT_TRUE(absl::IsUnavailable(third.Receive(73, kTimeout).status()));
  EXPECT_EQ(node_->Metric("idnode_tcp_connections_closed_total{reason=\"source_share\"}"), 1);
  // Another address is served, and so is this one once it holds fewer.
  HandleConnection other = Connect(0x7f000002);
  ExpectAnswered(other, "88.123.45/TCP-2", 74);
  first = Connect(0x7f000002);  // closes the first connection from 127.0.0.1
  HandleConnection again = Connect();
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  bool served = false;
  for (uint32_t id = 80; !served && std::chrono::steady_clock::now() < deadline; ++id) {
    again.Send(Request("88.123.45/TCP-3", id)).IgnoreError();
    served = again.Receive(id, milliseconds(500)).ok();
    if (!served) again = Connect();  // refused while the node had not seen the close yet
  }
  EXPECT_TRUE(served);
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
  auto reply = client::Query(Transport::kTcp, Server(), Resolution("88.123.45/TCP-3"), kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
}

TEST_F(TcpTest, GetSiteInfoAnswersThisNodesAddressAndPortOverBothTransports) {
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    HandleRequest request;
    request.opcode = wire::opcode::kGetSiteInfo;
    request.flags = 0;
    auto reply = client::Query(transport, Server(), request, kTimeout);
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
    // In the form the reference library and the SDKs take for IPv4: 12 zero bytes, then 4.
    EXPECT_EQ(site.servers[0].address, std::string(12, '\0') + std::string("\x7f\x00\x00\x01", 4));
    const uint32_t port = static_cast<uint32_t>(node_->handle_port());
    EXPECT_EQ(site.servers[0].interfaces,
              (std::vector<wire::SiteInterface>{{wire::site::kQuery, wire::site::kUdp, port},
                                                {wire::site::kQuery, wire::site::kTcp, port}}));
  }
}

// The serial of this node's site, from get-site-info over UDP to `node`; the reply header's site
// serial must agree with the record's.
int SiteSerial(const testing::NodeProcess& node) {
  HandleRequest request;
  request.opcode = wire::opcode::kGetSiteInfo;
  auto reply = client::Query(
      Transport::kUdp, {0x7f000001, static_cast<uint16_t>(node.handle_port())}, request, kTimeout);
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return -1;
  EXPECT_EQ(reply->header.site_serial, reply->site.serial);
  return reply->site.serial;
}

TEST(SiteSerialTest, GoesUpWhenTheAdvertisedSiteChangesAndOnlyThen) {
  testing::TempDir dir;
  testing::NodeOptions options;
  options.handle_port = testing::FreePort();
  auto serial_of_a_run = [&](testing::NodeOptions run) {
    testing::NodeProcess node(dir.Sub("node"), run);
    EXPECT_TRUE(node.Start());
    return SiteSerial(node);
  };
  const int first = serial_of_a_run(options);
  EXPECT_EQ(first, 1);                         // a new store
  EXPECT_EQ(serial_of_a_run(options), first);  // restarted with the same site
  testing::NodeOptions moved = options;
  moved.handle_port = testing::FreePort();  // clients must learn of the new port
  EXPECT_EQ(serial_of_a_run(moved), first + 1);
  std::string config = dir.Sub("mirror.toml");
  std::ofstream(config) << "[handle]\nmirrors = [\"127.0.0.2:2641\"]\n";
  moved.extra_args = {"--config", config};
  EXPECT_EQ(serial_of_a_run(moved), first + 2);
  EXPECT_EQ(serial_of_a_run(moved), first + 2);
}

}  // namespace
}  // namespace idnode
