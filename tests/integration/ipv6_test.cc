// idnode on IPv6: real processes whose gRPC, Handle (UDP and TCP) and HTTP listeners are on
// [::1], resolved over both transports, publishing ::1 in HS_SITE, walked to over IPv6, and a
// second node on [::1] that resolves through the first by recursion.

#include <gtest/gtest.h>

#include <fstream>

#include "resolver/client/handle_client.h"
#include "resolver/client/walk.h"
#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using client::HandleRequest;
using client::Transport;

constexpr std::chrono::milliseconds kTimeout(5000);

net::Endpoint Loopback6(int port) {
  std::array<uint8_t, 16> one{};
  one[15] = 1;
  return net::Endpoint::Ipv6(one, static_cast<uint16_t>(port));
}

HandleRequest Resolution(const std::string& handle) {
  HandleRequest request;
  request.handle = handle;
  return request;
}

TEST(Ipv6Test, ServesResolvesPublishesAndWalksOverIpv6) {
  testing::TempDir dir;
  testing::NodeOptions options;
  options.host = "::1";
  testing::NodeProcess node(dir.Sub("a"), options);
  ASSERT_TRUE(node.Start()) << node.Log();
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");  // gRPC over [::1]
  ASSERT_FALSE(token.empty());
  const v1::CreateRequest create = testing::UrlRecord("88.123.45/V6-1", "https://example.com/v6/1");
  ASSERT_TRUE(node.Create(token, create).ok());
  const net::Endpoint server = Loopback6(node.handle_port());

  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    auto reply = client::Query(transport, server, Resolution("88.123.45/V6-1"), kTimeout);
    ASSERT_TRUE(reply.ok()) << client::TransportName(transport) << ": " << reply.status();
    EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
    ASSERT_EQ(reply->values.size(), 1u);
    EXPECT_EQ(reply->values[0].data, "https://example.com/v6/1");
  }
  // HS_SITE carries the 16 bytes of ::1.
  HandleRequest site;
  site.opcode = wire::opcode::kGetSiteInfo;
  auto info = client::Query(Transport::kTcp, server, site, kTimeout);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->site.servers.size(), 1u);
  EXPECT_EQ(info->site.servers[0].address, std::string(15, '\0') + '\1');
  EXPECT_EQ(wire::AddressText(info->site.servers[0].address), "::1");
  // The operator pages too.
  EXPECT_EQ(testing::HttpRequest(node.http_port(), "/healthz", "GET", "", "::1").status, 200);

  // The walk reads ::1 out of the site it is referred to and asks there, over both transports.
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    client::WalkOptions walk;
    walk.transport = transport;
    auto walked = client::Walk(server, Resolution("88.123.45/V6-1"), walk);
    ASSERT_TRUE(walked.ok()) << walked.status();
    EXPECT_EQ(walked->reply.header.response_code, wire::rc::kSuccess);
    ASSERT_EQ(walked->trace.size(), 2u);
    EXPECT_EQ(walked->trace[1].server, server);
  }

  // A second node on [::1], with an IPv6 mirror, resolves the first's identifier for its client
  // by recursion.
  std::string config = dir.Sub("b.toml");
  std::ofstream(config) << "[node]\nprefix = \"88.200\"\n"
                           "[handle]\nmirrors = [\"[2001:db8::2]:2641\"]\n"
                           "[federation]\nrecursion = true\ntop_handle = \"[::1]:"
                        << node.handle_port() << "\"\n";
  testing::NodeOptions recursive = options;
  recursive.extra_args = {"--config", config};
  testing::NodeProcess b(dir.Sub("b"), recursive);
  ASSERT_TRUE(b.Start()) << b.Log();
  auto recursed = client::Query(Transport::kUdp, Loopback6(b.handle_port()),
                                Resolution("88.123.45/V6-1"), kTimeout);
  ASSERT_TRUE(recursed.ok()) << recursed.status();
  EXPECT_EQ(recursed->header.response_code, wire::rc::kSuccess);
  ASSERT_EQ(recursed->values.size(), 1u);
  EXPECT_EQ(recursed->values[0].data, "https://example.com/v6/1");
  EXPECT_EQ(recursed->header.flags & wire::op_flag::kAuthoritative, 0u);
  auto b_site = client::Query(Transport::kUdp, Loopback6(b.handle_port()), site, kTimeout);
  ASSERT_TRUE(b_site.ok()) << b_site.status();
  ASSERT_EQ(b_site->site.servers.size(), 2u);
  EXPECT_EQ(wire::AddressText(b_site->site.servers[1].address), "2001:db8::2");
  EXPECT_EQ(b_site->site.servers[1].interfaces[0].port, 2641u);
}

}  // namespace
}  // namespace idnode
