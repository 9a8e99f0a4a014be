// A node started in this process, so the test can read what it exposes to the statistics code:
// resolution counters by transport and outcome, fed by real UDP datagrams and TCP connections
// on 127.0.0.1, and the UDP per-source rate limit.

#include "api/node/node.h"

#include <gtest/gtest.h>

#include <thread>

#include "registry/base/strings.h"
#include "resolver/client/handle_client.h"
#include "resolver/recursion/recursor.h"
#include "tests/support/fake_clock.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/provision.h"
#include "tests/support/recording_sink.h"
#include "tests/support/temp_dir.h"

namespace idnode::node {
namespace {

using client::HandleConnection;
using client::HandleRequest;
using client::Transport;
using query::QueryCounters;
using query::QueryOutcome;
using std::chrono::milliseconds;

constexpr milliseconds kTimeout(5000);
const uint32_t kToday = *stats::ParseDay("2026-11-21", "test");

std::string Request(std::string_view handle, uint32_t request_id, bool keep_alive = false) {
  return testing::BuildRequest(handle, 0x19000000 | (keep_alive ? wire::op_flag::kKeepAlive : 0),
                               request_id);
}

// Waits until `done()` holds or `timeout` passes; returns whether it held.
template <typename Condition>
bool WaitFor(Condition done, milliseconds timeout = kTimeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

uint64_t Total(const QueryCounters& counters) {
  uint64_t total = 0;
  for (uint64_t n : counters.outcomes) total += n;
  return total;
}

class NodeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Node> StartNode(int64_t rate_limit) {
    NodeConfig config;
    config.storage.data_dir = dir_.Sub("data");
    config.grpc.listen = "127.0.0.1:0";
    config.handle.listen = "127.0.0.1:0";
    config.http.listen = "127.0.0.1:0";
    config.handle.udp_rate_limit = rate_limit;
    config.clock = &clock_;
    auto node = Node::Start(config);
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return nullptr;
    auto channel =
        idctl::Connect(idctl::ConnectOptions{StrCat("127.0.0.1:", (*node)->grpc_port()), ""});
    std::string token =
        testing::ProvisionRegistrant(channel, (*node)->bootstrap_token(), "acme", "88.123.45");
    EXPECT_FALSE(token.empty());
    v1::CreateRequest create;
    create.set_identifier("88.123.45/C-1");
    v1::Value* value = create.add_values();
    value->set_index(1);
    value->set_type("URL");
    value->set_data("https://example.com/c/1");
    EXPECT_TRUE(testing::Create(channel, token, create).ok());
    server_ = {0x7f000001, static_cast<uint16_t>((*node)->handle_port())};
    return std::move(*node);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{testing::LocalMillis(kToday, 10)};
  net::Endpoint server_;
};

// gRPC Resolve and the Handle protocol take the same resolution step (resolver/query/resolve.h):
// every handle gets the same outcome over both, counted alike.
TEST_F(NodeTest, GrpcAndTheHandleProtocolResolveEveryHandleAlike) {
  std::unique_ptr<Node> node = StartNode(0);
  ASSERT_NE(node, nullptr);
  auto channel = idctl::Connect(idctl::ConnectOptions{StrCat("127.0.0.1:", node->grpc_port()), ""});
  auto stub = v1::Resolver::NewStub(channel);
  auto udp = HandleConnection::Open(Transport::kUdp, server_, kTimeout);
  ASSERT_TRUE(udp.ok());
  struct Case {
    const char* handle;
    uint32_t rc;              // over the Handle protocol
    grpc::StatusCode status;  // over gRPC
    const char* message;      // in the gRPC status
  };
  const Case cases[] = {
      {"88.123.45/C-1", wire::rc::kSuccess, grpc::StatusCode::OK, ""},
      {"88.123.45/NOPE", wire::rc::kHandleNotFound, grpc::StatusCode::NOT_FOUND, "not registered"},
      {"88.123.77/X", wire::rc::kHandleNotFound, grpc::StatusCode::NOT_FOUND,
       "prefix 88.123.77 is not allocated at this node"},
      {"99.1/OTHER", wire::rc::kServerNotResponsible, grpc::StatusCode::NOT_FOUND,
       "prefix 99.1 is not hosted here"},
      {"88.123.45", wire::rc::kSuccess, grpc::StatusCode::OK, ""},  // 0.NA/88.123.45
      {"0.NA/88.123", wire::rc::kSuccess, grpc::StatusCode::OK, ""},
      {"0.NA/88.123.9", wire::rc::kHandleNotFound, grpc::StatusCode::NOT_FOUND,
       "prefix 88.123.9 is not allocated"},
      {"0.NA/99.1", wire::rc::kServerNotResponsible, grpc::StatusCode::NOT_FOUND,
       "not hosted here"},
      {"88 123/X", wire::rc::kInvalidHandle, grpc::StatusCode::INVALID_ARGUMENT, "handle"},
  };
  uint32_t id = 500;
  for (const Case& c : cases) {
    ASSERT_TRUE(udp->Send(Request(c.handle, ++id)).ok());
    auto whole = udp->Receive(id, kTimeout);
    ASSERT_TRUE(whole.ok()) << c.handle << ": " << whole.status();
    auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
    ASSERT_TRUE(reply.ok()) << c.handle << ": " << reply.status();
    EXPECT_EQ(reply->header.response_code, c.rc) << c.handle << ": " << reply->message;

    v1::ResolveRequest request;
    request.set_identifier(c.handle);
    v1::ResolveResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub->Resolve(&context, request, &response);
    EXPECT_EQ(status.error_code(), c.status) << c.handle << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.message), std::string::npos)
        << c.handle << ": " << status.error_message();
    if (status.ok()) {
      // The same values, in the same order.
      ASSERT_EQ(static_cast<size_t>(response.values_size()), reply->values.size()) << c.handle;
      for (int i = 0; i < response.values_size(); ++i) {
        EXPECT_EQ(response.values(i).index(), reply->values[i].index) << c.handle;
        EXPECT_EQ(response.values(i).type(), reply->values[i].type) << c.handle;
      }
    }
  }
  ResolutionCounters counters;
  ASSERT_TRUE(WaitFor([&] {
    counters = node->resolution_counters();
    return Total(counters.udp) == std::size(cases);
  }));
  EXPECT_EQ(counters.udp, counters.grpc);
  EXPECT_EQ(counters.grpc[QueryOutcome::kNotResponsible], 2u);
  EXPECT_EQ(counters.grpc[QueryOutcome::kFound], 3u);
}

TEST_F(NodeTest, CountsResolutionsByTransportAndOutcome) {
  std::unique_ptr<Node> node = StartNode(0);
  ASSERT_NE(node, nullptr);
  auto udp = HandleConnection::Open(Transport::kUdp, server_, kTimeout);
  ASSERT_TRUE(udp.ok());
  uint32_t id = 100;
  auto exchange = [&](HandleConnection& connection, const std::string& message) {
    ASSERT_TRUE(connection.Send(message).ok());
    ASSERT_TRUE(connection.Receive(id, kTimeout).ok()) << id;
  };
  for (int i = 0; i < 3; ++i, ++id) exchange(*udp, Request("88.123.45/C-1", id));
  for (int i = 0; i < 2; ++i, ++id) exchange(*udp, Request("88.123.45/NOPE", id));
  exchange(*udp, Request("99.1/OTHER", id));
  ++id;
  exchange(*udp, Request("88.123.77/UNALLOCATED", id));  // a miss under no allocated prefix
  ++id;
  std::string bad_body = Request("88.123.45/C-1", id);
  bad_body[wire::kEnvelopeBytes + wire::kHeaderBytes] = '\x7f';  // handle length past the end
  exchange(*udp, bad_body);
  ++id;
  ASSERT_TRUE(udp->Send("garbage").ok());  // too short for an envelope: dropped

  auto tcp = HandleConnection::Open(Transport::kTcp, server_, kTimeout);
  ASSERT_TRUE(tcp.ok());
  for (int i = 0; i < 2; ++i, ++id) exchange(*tcp, Request("88.123.45/C-1", id, true));
  exchange(*tcp, Request("88.123.45/NOPE", id, true));

  ResolutionCounters counters;
  ASSERT_TRUE(WaitFor([&] {
    counters = node->resolution_counters();
    return Total(counters.udp) == 9 && Total(counters.tcp) == 3;
  })) << Total(counters.udp)
      << " " << Total(counters.tcp);
  EXPECT_EQ(counters.udp[QueryOutcome::kFound], 3u);
  EXPECT_EQ(counters.udp[QueryOutcome::kHandleNotFound], 3u);
  EXPECT_EQ(counters.udp[QueryOutcome::kNotResponsible], 1u);
  EXPECT_EQ(counters.udp[QueryOutcome::kProtocolError], 1u);
  EXPECT_EQ(counters.udp[QueryOutcome::kDropped], 1u);
  EXPECT_EQ(counters.tcp[QueryOutcome::kFound], 2u);
  EXPECT_EQ(counters.tcp[QueryOutcome::kHandleNotFound], 1u);
  EXPECT_EQ(counters.tcp_connections.accepted, 1u);
  EXPECT_EQ(counters.tcp_connections.open, 1u);
  // The same numbers as the parts' statistics tables give them to /metrics.
  testing::RecordingSink sink;
  node->parts().DescribeStats(sink);
  EXPECT_EQ(sink.Count(stats::kRequests, {{"transport", "udp"}, {"outcome", "found"}}), 3);
  EXPECT_EQ(sink.Count(stats::kRequests, {{"transport", "udp"}, {"outcome", "dropped"}}), 1);
  EXPECT_EQ(sink.Count(stats::kRequests, {{"transport", "tcp"}, {"outcome", "found"}}), 2);
  EXPECT_EQ(sink.Count(tcp::kTcpAccepted), 1);
  EXPECT_EQ(sink.Count(tcp::kTcpOpen), 1);
  EXPECT_EQ(sink.Count(net::kWorkersFailing, {{"transport", "udp"}}), 0);
  EXPECT_GE(sink.Count(writer::kWriterCommits), 1);  // the prefix allocation at least
  EXPECT_EQ(sink.Count(kThreadExceptions, {{"thread", "writer"}}), 0);
  EXPECT_FALSE(sink.Get(recursion::kRecursionPending).has_value());  // recursion is off

  // Per enterprise prefix: only allocated prefixes, found or not.
  auto channel = idctl::Connect(idctl::ConnectOptions{StrCat("127.0.0.1:", node->grpc_port()), ""});
  v1::ResolveRequest resolve;
  resolve.set_identifier("88.123.45/C-1");
  v1::ResolveResponse resolved;
  grpc::ClientContext resolve_context;
  ASSERT_TRUE(v1::Resolver::NewStub(channel)->Resolve(&resolve_context, resolve, &resolved).ok());
  stats::ResolutionTotals totals = node->resolution_totals();
  ASSERT_EQ(totals.prefixes.size(), 3u);
  QueryCounters udp_prefix = totals.prefixes[{stats::Transport::kUdp, "88.123.45"}];
  EXPECT_EQ(udp_prefix[QueryOutcome::kFound], 3u);
  EXPECT_EQ(udp_prefix[QueryOutcome::kHandleNotFound], 2u);
  EXPECT_EQ(udp_prefix[QueryOutcome::kProtocolError], 0u);
  QueryCounters tcp_prefix = totals.prefixes[{stats::Transport::kTcp, "88.123.45"}];
  EXPECT_EQ(tcp_prefix[QueryOutcome::kFound], 2u);
  EXPECT_EQ(tcp_prefix[QueryOutcome::kHandleNotFound], 1u);
  EXPECT_EQ((totals.prefixes[{stats::Transport::kGrpc, "88.123.45"}][QueryOutcome::kFound]), 1u);

  // Flushed, they are in the report of the (injected) day.
  ASSERT_TRUE(node->FlushStats().ok());
  v1::StatsReportRequest request;
  request.set_by_prefix(true);
  request.set_from("2026-11-21");
  v1::StatsReport report;
  grpc::ClientContext context;
  idctl::Authorize(context, node->bootstrap_token());
  ASSERT_TRUE(v1::Stats::NewStub(channel)->Report(&context, request, &report).ok());
  ASSERT_EQ(report.days_size(), 1);
  EXPECT_EQ(report.days(0).date(), "2026-11-21");
  EXPECT_EQ(report.days(0).resolutions(), 3u + 2u + 1u);  // found, over UDP, TCP and gRPC
  EXPECT_EQ(report.days(0).requests(), 9u + 3u + 1u);
  EXPECT_EQ(report.days(0).created(), 1u);
  ASSERT_EQ(report.prefixes_size(), 1);
  EXPECT_EQ(report.prefixes(0).prefix(), "88.123.45");
  EXPECT_EQ(report.prefixes(0).requests(), 5u + 3u + 1u);
  node->Shutdown();
}

TEST_F(NodeTest, RateLimitsEachUdpSourceAndRecovers) {
  std::unique_ptr<Node> node = StartNode(/*rate_limit=*/10);  // burst 20
  ASSERT_NE(node, nullptr);
  auto udp = HandleConnection::Open(Transport::kUdp, server_, kTimeout);
  ASSERT_TRUE(udp.ok());
  constexpr uint32_t kSent = 60;
  auto started = std::chrono::steady_clock::now();
  for (uint32_t id = 1; id <= kSent; ++id)
    ASSERT_TRUE(udp->Send(Request("88.123.45/C-1", id)).ok());
  ResolutionCounters counters;
  ASSERT_TRUE(WaitFor([&] {
    counters = node->resolution_counters();
    return Total(counters.udp) == kSent;
  }));
  auto elapsed_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
  const uint64_t answered = counters.udp[QueryOutcome::kFound];
  // The burst of 20, plus at most 10 a second for the time the sends took.
  EXPECT_GE(answered, 20u);
  EXPECT_LE(answered, 20u + 1 + static_cast<uint64_t>(elapsed_ms) / 100);
  EXPECT_EQ(counters.udp[QueryOutcome::kRateLimited], kSent - answered);
  // The bucket refills: a request a little later is answered again.
  uint32_t id = 1000;
  bool answered_again = WaitFor([&] {
    ++id;
    return udp->Send(Request("88.123.45/C-1", id)).ok() && udp->Receive(id, milliseconds(150)).ok();
  });
  EXPECT_TRUE(answered_again);
  node->Shutdown();
}

}  // namespace
}  // namespace idnode::node
