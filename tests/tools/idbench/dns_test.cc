// idbench's DNS query and reply header, against bytes written out from RFC 1035 §4.1.

#include "tools/idbench/dns.h"

#include <gtest/gtest.h>

namespace idnode::idbench {
namespace {

using namespace std::string_literals;

TEST(DnsTest, EncodesAnAQuery) {
  std::string out = "prefix";
  ASSERT_TRUE(AppendDnsQuery("b-5.bench", 0x1234, out));
  const std::string expected =
      "prefix"
      "\x12\x34"                          // ID
      "\x00\x00"                          // QR 0, opcode 0, RD 0
      "\x00\x01\x00\x00\x00\x00\x00\x00"  // QD 1, AN 0, NS 0, AR 0
      "\x03"
      "b-5"
      "\x05"
      "bench"
      "\x00"                // root
      "\x00\x01\x00\x01"s;  // A, IN
  EXPECT_EQ(out, expected);
}

TEST(DnsTest, TheRootDotIsOptional) {
  std::string with_dot, without_dot;
  ASSERT_TRUE(AppendDnsQuery("b-5.bench.", 7, with_dot));
  ASSERT_TRUE(AppendDnsQuery("b-5.bench", 7, without_dot));
  EXPECT_EQ(with_dot, without_dot);
}

TEST(DnsTest, RefusesBadNamesAndAppendsNothing) {
  std::string out = "kept";
  EXPECT_FALSE(AppendDnsQuery("a..bench", 1, out));
  EXPECT_FALSE(AppendDnsQuery(std::string(64, 'x') + ".bench", 1, out));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'y') + ".";
  EXPECT_FALSE(AppendDnsQuery(long_name, 1, out));  // 5 x 61 bytes > 255
  EXPECT_EQ(out, "kept");
  EXPECT_TRUE(AppendDnsQuery(std::string(63, 'x') + ".bench", 1, out));
}

TEST(DnsTest, ReadsAReplyHeader) {
  // ID 0xbeef, QR 1 AA 1, RCODE 3 (NXDOMAIN), QD 1, AN 0.
  const std::string nxdomain = "\xbe\xef\x84\x03\x00\x01\x00\x00\x00\x01\x00\x00"s;
  DnsReply reply;
  ASSERT_TRUE(ParseDnsReply(nxdomain, reply));
  EXPECT_EQ(reply.id, 0xbeef);
  EXPECT_EQ(reply.rcode, 3);
  EXPECT_EQ(reply.answers, 0);
  // ID 1, QR 1, NOERROR, AN 2.
  ASSERT_TRUE(ParseDnsReply("\x00\x01\x80\x00\x00\x01\x00\x02\x00\x00\x00\x00"s, reply));
  EXPECT_EQ(reply.id, 1);
  EXPECT_EQ(reply.rcode, 0);
  EXPECT_EQ(reply.answers, 2);
}

TEST(DnsTest, RefusesShortMessagesAndQueries) {
  DnsReply reply;
  EXPECT_FALSE(ParseDnsReply("\xbe\xef\x84\x03\x00\x01\x00\x00\x00\x01\x00"s, reply));
  std::string query;
  ASSERT_TRUE(AppendDnsQuery("b-5.bench", 9, query));
  EXPECT_FALSE(ParseDnsReply(query, reply));
}

}  // namespace
}  // namespace idnode::idbench
