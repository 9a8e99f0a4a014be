// The pure parts of the client walk: choosing the server within a site by the Handle rule,
// reading sites out of referral values, and the interface a transport uses.

#include "resolver/client/walk.h"

#include <gtest/gtest.h>

namespace idnode::client {
namespace {

wire::SiteInfo SiteWithServers(size_t count, uint8_t hash_option) {
  wire::SiteInfo site;
  site.hash_option = hash_option;
  for (size_t i = 0; i < count; ++i) {
    wire::SiteServer server;
    server.id = static_cast<uint32_t>(i + 1);
    server.address = wire::SiteAddress(0x7f000001);
    server.interfaces = {{wire::site::kQuery, wire::site::kUdp, static_cast<uint32_t>(2641 + i)}};
    site.servers.push_back(server);
  }
  return site;
}

// Expected indexes computed independently (Python hashlib): MD5 of the upper-cased hash part,
// last four bytes as a signed big-endian int, absolute value, modulo the server count.
TEST(WalkTest, SelectsTheServerByTheHandleRule) {
  // By all: "88.123.45/PUMP-1" -> -2005199772; "88.123.45/PUMP-2" -> 512942639.
  EXPECT_EQ(SelectServer(SiteWithServers(3, wire::site::kHashByAll), "88.123.45/pump-1"), 0u);
  EXPECT_EQ(SelectServer(SiteWithServers(5, wire::site::kHashByAll), "88.123.45/pump-1"), 2u);
  EXPECT_EQ(SelectServer(SiteWithServers(3, wire::site::kHashByAll), "88.123.45/PUMP-2"), 2u);
  EXPECT_EQ(SelectServer(SiteWithServers(5, wire::site::kHashByAll), "88.123.45/PUMP-2"), 4u);
  // By prefix: "0.NA" -> 36223079; by suffix: "ABC" -> 891676978.
  EXPECT_EQ(SelectServer(SiteWithServers(3, wire::site::kHashByPrefix), "0.na/88.123.45"), 2u);
  EXPECT_EQ(SelectServer(SiteWithServers(5, wire::site::kHashBySuffix), "88.123.45/abc"), 3u);
  EXPECT_EQ(SelectServer(SiteWithServers(1, wire::site::kHashByAll), "anything"), 0u);
}

identifier::HandleValue SiteValue(uint32_t index, const std::string& type,
                                  const std::string& data) {
  identifier::HandleValue value;
  value.index = index;
  value.type = type;
  value.data = data;
  return value;
}

TEST(WalkTest, ReadsSitesFromReferralValuesAndNamesTheBadOne) {
  std::string two;
  wire::EncodeSiteInfo(SiteWithServers(2, wire::site::kHashByAll), two);
  auto sites = SitesFromValues(
      {SiteValue(1, "HS_SITE", two), SiteValue(2, "URL", "x"), SiteValue(3, "HS_SITE.PREFIX", two)},
      "HS_SITE");
  ASSERT_TRUE(sites.ok()) << sites.status();
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ(sites->front().servers.size(), 2u);

  auto garbage = SitesFromValues({SiteValue(4, "HS_SITE", "not a site")}, "HS_SITE");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("referral value 4 (HS_SITE) is malformed"),
            std::string::npos)
      << garbage.status();

  std::string none;
  wire::EncodeSiteInfo(SiteWithServers(0, wire::site::kHashByAll), none);
  auto empty = SitesFromValues({SiteValue(5, "HS_SITE", none)}, "HS_SITE");
  EXPECT_NE(empty.status().message().find("unusable: the site lists no servers"), std::string::npos)
      << empty.status();

  std::string oversized;
  wire::EncodeSiteInfo(SiteWithServers(wire::kMaxSiteServers + 1, wire::site::kHashByAll),
                       oversized);
  auto big = SitesFromValues({SiteValue(6, "HS_SITE", oversized)}, "HS_SITE");
  EXPECT_NE(big.status().message().find("33 servers; at most 32"), std::string::npos)
      << big.status();
}

TEST(WalkTest, UsesTheInterfaceOfTheAskedTransport) {
  wire::SiteServer server = SiteWithServers(1, wire::site::kHashByAll).servers[0];
  server.interfaces.push_back({wire::site::kAdmin, wire::site::kTcp, 9000});  // admin only
  auto udp = ServerEndpoint(server, Transport::kUdp);
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->ToString(), "127.0.0.1:2641");
  auto tcp = ServerEndpoint(server, Transport::kTcp);
  EXPECT_EQ(tcp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(tcp.status().message().find("has no tcp query interface"), std::string::npos)
      << tcp.status();
  // The reference library and the national SDKs write IPv4 as 12 zero bytes + 4; older idnode
  // sites wrote the mapped ::ffff: form. Both are IPv4.
  server.address = std::string(12, '\0') + std::string("\xc0\x00\x02\x0a", 4);
  EXPECT_EQ(ServerEndpoint(server, Transport::kUdp)->ToString(), "192.0.2.10:2641");
  server.address = std::string(10, '\0') + std::string("\xff\xff\xc0\x00\x02\x0b", 6);
  EXPECT_EQ(ServerEndpoint(server, Transport::kUdp)->ToString(), "192.0.2.11:2641");
  // IPv6 servers are reached over IPv6, ::1 among them (12 zero bytes, but not an IPv4 address).
  server.address = std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + '\1';
  EXPECT_EQ(ServerEndpoint(server, Transport::kUdp)->ToString(), "[2001:db8::1]:2641");
  server.address = std::string(15, '\0') + '\1';
  EXPECT_EQ(ServerEndpoint(server, Transport::kUdp)->ToString(), "[::1]:2641");
  server.address = "short";
  EXPECT_EQ(ServerEndpoint(server, Transport::kUdp).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace idnode::client
