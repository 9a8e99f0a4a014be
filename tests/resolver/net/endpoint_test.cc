// Endpoints as every setting and flag names them: IPv4 HOST:PORT and [IPv6]:PORT, parsed,
// printed and turned into socket addresses.

#include "resolver/net/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace idnode::net {
namespace {

TEST(EndpointTest, ParsesIpv4AndBracketedIpv6) {
  auto v4 = ParseEndpoint("handle.listen", "192.0.2.10:2641");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->ipv4(), 0xC000020Au);
  EXPECT_EQ(v4->port, 2641);
  EXPECT_EQ(v4->ToString(), "192.0.2.10:2641");
  EXPECT_EQ(v4->family(), AF_INET);

  auto v6 = ParseEndpoint("handle.listen", "[2001:db8::10]:2641");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->address[0], 0x20);
  EXPECT_EQ(v6->address[15], 0x10);
  EXPECT_EQ(v6->ToString(), "[2001:db8::10]:2641");
  EXPECT_EQ(v6->AddressText(), "2001:db8::10");

  auto loopback = ParseEndpoint("x", "[::1]:0");
  ASSERT_TRUE(loopback.ok());
  EXPECT_TRUE(loopback->loopback());
  EXPECT_FALSE(loopback->wildcard());
  EXPECT_TRUE(ParseEndpoint("x", "[::]:2641")->wildcard());
  EXPECT_TRUE(ParseEndpoint("x", "0.0.0.0:2641")->wildcard());
  EXPECT_TRUE(ParseEndpoint("x", "127.0.0.2:1")->loopback());
  // An IPv4-mapped IPv6 address is that IPv4 address.
  auto mapped = ParseEndpoint("x", "[::ffff:192.0.2.1]:53");
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(mapped->is_v4());
  EXPECT_EQ(*mapped, Endpoint(0xC0000201, 53));
}

TEST(EndpointTest, RefusesMalformedTextNamingTheField) {
  for (const char* text :
       {"", "2641", "192.0.2.10", "192.0.2.10:", "192.0.2.10:65536", "192.0.2.10:-1", "::1:2641",
        "[::1]", "[::1]2641", "[192.0.2.1]:53", "[zz::1]:53", "host.example:2641", "1.2.3.4.5:1"}) {
    auto parsed = ParseEndpoint("handle.mirrors[0]", text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("handle.mirrors[0]: \"" + std::string(text) + "\""),
              std::string::npos)
        << parsed.status();
  }
  EXPECT_TRUE(ParseAddress("handle.advertise", "2001:db8::1").ok());
  EXPECT_TRUE(ParseAddress("handle.advertise", "[2001:db8::1]").ok());
  EXPECT_EQ(ParseAddress("handle.advertise", "192.0.2.7")->ipv4(), 0xC0000207u);
  EXPECT_FALSE(ParseAddress("handle.advertise", "192.0.2.7:1").ok());
  EXPECT_FALSE(ParseAddress("handle.advertise", "example.com").ok());
}

TEST(EndpointTest, RoundTripsThroughSocketAddresses) {
  for (const char* text : {"127.0.0.1:2641", "[::1]:2642", "[2001:db8::7]:65535"}) {
    auto endpoint = ParseEndpoint("x", text);
    ASSERT_TRUE(endpoint.ok());
    sockaddr_storage storage;
    const socklen_t length = endpoint->ToSockaddr(storage);
    EXPECT_EQ(length, endpoint->is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(storage.ss_family, endpoint->family());
    EXPECT_EQ(FromSockaddr(reinterpret_cast<const sockaddr*>(&storage)), *endpoint) << text;
  }
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x7f000001);
  v4.sin_port = htons(80);
  EXPECT_EQ(FromSockaddr(reinterpret_cast<const sockaddr*>(&v4)).ToString(), "127.0.0.1:80");
}

}  // namespace
}  // namespace idnode::net
