// The query processor fed raw request bytes (no sockets) over a real LMDB store.

#include "resolver/query/query.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "registry/base/bytes.h"
#include "registry/identifier/record.h"
#include "resolver/client/handle_client.h"
#include "resolver/udp/reassembly.h"
#include "tests/support/fake_clock.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"
#include "tests/support/write_access.h"

namespace idnode::query {
namespace {

using testing::BuildRequest;
using testing::FromHex;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto txn = store_->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok());
    auto values = EncodeValueList(testing::ReferenceValues());
    ASSERT_TRUE(values.ok());
    ASSERT_TRUE(txn->Put(store::Db::kIds, "88.123.45/ABC-0001",
                         identifier::EncodeRecord({1, 1, 1, "88.123.45/ABC-0001", "acme", *values}))
                    .ok());
    auto hidden = testing::MakeValue(1, "URL", "https://internal");
    hidden.permissions = identifier::permission::kAdminRead | identifier::permission::kAdminWrite;
    auto hidden_values = identifier::EncodeValueList({hidden});
    ASSERT_TRUE(
        txn->Put(store::Db::kIds, "88.123.45/HIDDEN",
                 identifier::EncodeRecord({1, 1, 1, "88.123.45/HIDDEN", "acme", *hidden_values}))
            .ok());
    auto types = identifier::EncodeValueList({testing::MakeValue(1, "URL", "https://a"),
                                              testing::MakeValue(2, "URL.ALT", "https://b"),
                                              testing::MakeValue(3, "URLX", "https://c"),
                                              testing::MakeValue(4, "url.alt.deep", "https://d")});
    ASSERT_TRUE(types.ok());
    ASSERT_TRUE(txn->Put(store::Db::kIds, "88.123.45/TYPES",
                         identifier::EncodeRecord({1, 1, 1, "88.123.45/TYPES", "acme", *types}))
                    .ok());
    auto pump =
        identifier::EncodeValueList({testing::MakeValue(1, "URL", "https://example.com/pump/1")});
    ASSERT_TRUE(pump.ok());
    ASSERT_TRUE(
        txn->Put(store::Db::kIds, "88.123.45/PUMP-2026-000001",
                 identifier::EncodeRecord({1, 1, 1, "88.123.45/PUMP-2026-000001", "acme", *pump}))
            .ok());
    ASSERT_TRUE(txn->Put(store::Db::kPrefixes, "88.123.45", "allocated").ok());
    ASSERT_TRUE(txn->Commit().ok());
    auto read = store_->BeginRead();
    ASSERT_TRUE(read.ok());
    txn_.emplace(*std::move(read));
  }

  // Processes `request`; returns the outcome and leaves the reply in scratch_.reply.
  QueryOutcome Process(std::string_view request) {
    return processor_.Process(request, *txn_, scratch_);
  }

  // The reply's response code, and its error message when it has one (no digest).
  uint32_t ReplyCode() const {
    wire::Header header;
    std::string_view body;
    EXPECT_EQ(wire::DecodeHeader(std::string_view(scratch_.reply).substr(wire::kEnvelopeBytes),
                                 header, body),
              wire::WireError::kOk);
    return header.response_code;
  }
  std::string ReplyMessage() const {
    std::string_view body;
    wire::Header header;
    wire::DecodeHeader(std::string_view(scratch_.reply).substr(wire::kEnvelopeBytes), header, body);
    ByteReader r(body);
    std::string_view message;
    r.Bytes32(message, 1 << 20);
    return std::string(message);
  }

  // The values of a reply to `request` after Process: index list in order.
  std::vector<uint32_t> ReplyIndexes() const {
    auto reply = client::DecodeReply(scratch_.reply, wire::opcode::kResolution);
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<uint32_t> indexes;
    if (reply.ok()) {
      for (const identifier::HandleValue& value : reply->values) indexes.push_back(value.index);
    }
    return indexes;
  }
  wire::Header ReplyHeader() const {
    wire::Header header;
    std::string_view body;
    wire::DecodeHeader(std::string_view(scratch_.reply).substr(wire::kEnvelopeBytes), header, body);
    return header;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::optional<store::ReadTxn> txn_;
  // The reference reply was captured 12 hours before its expiration (the server's clock + 12 h).
  testing::FakeClock clock_{(int64_t{0x6b02af90} - 43200) * 1000};
  QueryProcessor processor_{QueryConfig{"88.123", {}, 1, "", false, "", "", {}, &clock_}};
  QueryScratch scratch_;
};

// Request bytes captured from id-pointer-sdk 2.3.1 (`AbstractIdClient.resolveHandle`): a 42-byte
// body whose last 4 bytes are the SDK's `u32 length` of a recursion identity (0: none), after
// the standard handle, index list and type list; then the empty credential.
constexpr std::string_view kIdPointerResolutionHex =
    "020a020b00000000000000010000000000000046000000010000000019000000ffff00006b0fe9980000002a0000"
    "001a38382e3132332e34352f50554d502d323032362d30303030303100000000000000000000000000000000";
// The same SDK's bare-prefix lookup (`GlobalIdClientFactory.getPrefixHandleValues`): handle
// "88.123.45" with type HS_SITE, no 0.NA/ and no slash.
constexpr std::string_view kIdPointerPrefixHex =
    "020a020b00000000000000060000000000000040000000010000000019000000ffff00006b0fe998000000240000"
    "000938382e3132332e343500000000000000010000000748535f534954450000000000000000";

// `request` with its credential section replaced by `tail` (the bytes after the body), and the
// envelope's length fixed to match.
std::string WithTail(const std::string& request, std::string_view tail) {
  std::string out = request.substr(0, request.size() - 4);
  out.append(tail);
  ByteWriter(out).PatchU32(16, static_cast<uint32_t>(out.size() - wire::kEnvelopeBytes));
  return out;
}

// A credential section (u32 length + fields) as RFC 3652 lays it out.
std::string Credential(std::string_view type, std::string_view signature) {
  std::string fields;
  ByteWriter w(fields);
  w.U8(0);   // version
  w.U8(0);   // reserved
  w.U16(0);  // options
  w.Bytes32("88.123.45/ADMIN");
  w.U32(300);
  w.Bytes32(type);
  std::string signed_info;
  ByteWriter s(signed_info);
  s.Bytes32("SHA-256");
  s.Bytes32(signature);
  w.Bytes32(signed_info);
  std::string section;
  ByteWriter(section).Bytes32(fields);
  return section;
}

TEST_F(QueryTest, AnswersLikeTheReferenceServerByteForByte) {
  EXPECT_EQ(Process(FromHex(testing::kResolutionRequestHex)), QueryOutcome::kFound);
  EXPECT_EQ(HexBytes(scratch_.reply), testing::kResolutionReplyHex);
  clock_.Set((int64_t{0x6b02af94} - 43200) * 1000);  // captured 4 s later
  EXPECT_EQ(Process(FromHex(testing::kNotFoundRequestHex)), QueryOutcome::kHandleNotFound);
  EXPECT_EQ(HexBytes(scratch_.reply), testing::kNotFoundReplyHex);
}

TEST_F(QueryTest, NormalisesCaseAndFiltersByIndexAndType) {
  uint32_t indexes[] = {2};
  std::string_view types[] = {"hs_"};  // no sub-hierarchy: matches nothing
  ASSERT_EQ(Process(BuildRequest("88.123.45/abc-0001", 0x19000000, 9, indexes, types)),
            QueryOutcome::kFound);
  std::string_view body;
  wire::Header header;
  wire::DecodeHeader(std::string_view(scratch_.reply).substr(wire::kEnvelopeBytes), header, body);
  ByteReader r(body);
  std::string_view handle;
  uint32_t count = 0, index = 0;
  ASSERT_TRUE(r.Bytes32(handle, 4096) && r.U32(count) && r.U32(index));
  EXPECT_EQ(handle, "88.123.45/abc-0001");  // echoed as asked
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(index, 2u);

  std::string_view admin[] = {"HS_ADMIN"};
  ASSERT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, admin)),
            QueryOutcome::kFound);
  uint32_t nothing[] = {77};
  EXPECT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, nothing)),
            QueryOutcome::kValuesNotFound);
  EXPECT_EQ(ReplyCode(), wire::rc::kValuesNotFound);
}

TEST_F(QueryTest, NeverReturnsValuesThePublicMayNotRead) {
  for (uint32_t flags : {0x19000000u, 0x18000000u}) {  // with and without PO
    EXPECT_EQ(Process(BuildRequest("88.123.45/HIDDEN", flags)), QueryOutcome::kValuesNotFound);
    EXPECT_EQ(ReplyCode(), wire::rc::kValuesNotFound);
  }
}

TEST_F(QueryTest, AnswersTheIdPointerSdkWhoseBodiesEndWithAnAuthLength) {
  ASSERT_EQ(Process(FromHex(kIdPointerResolutionHex)), QueryOutcome::kFound);
  auto reply = client::DecodeReply(scratch_.reply, wire::opcode::kResolution);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->envelope.request_id, 1u);
  EXPECT_EQ(reply->handle, "88.123.45/PUMP-2026-000001");
  ASSERT_EQ(reply->values.size(), 1u);
  EXPECT_EQ(reply->values[0].data, "https://example.com/pump/1");
  // The reply speaks the version the SDK suggested (2.11), not its envelope's 2.10.
  EXPECT_EQ(reply->envelope.minor, 11);
}

TEST_F(QueryTest, ToleratesTheTrailingLayoutsTheReferenceDecoderDoes) {
  const std::string good = BuildRequest("88.123.45/ABC-0001");
  // No credential at all (the message ends at the body), and 1..3 stray bytes after the body.
  for (std::string_view tail :
       {std::string_view(), std::string_view("\0", 1), std::string_view("\0\0\0", 3)}) {
    EXPECT_EQ(Process(WithTail(good, tail)), QueryOutcome::kFound) << tail.size();
  }
  // Bytes after an empty credential; a signed one (not verified for a public resolution).
  EXPECT_EQ(Process(WithTail(good, std::string(4, '\0') + "xyz")), QueryOutcome::kFound);
  EXPECT_EQ(Process(WithTail(good, Credential("HS_SIGNED", std::string(256, 's')))),
            QueryOutcome::kFound);
  // A credential length past the end, and a non-empty credential that is not one: RC 4.
  EXPECT_EQ(Process(WithTail(good, std::string("\x00\x00\x01\x00xx", 6))),
            QueryOutcome::kProtocolError);
  EXPECT_EQ(ReplyMessage(), "the credential section's length runs past the end of the message");
  EXPECT_EQ(Process(WithTail(good, std::string("\x00\x00\x00\x03"
                                               "abc",
                                               7))),
            QueryOutcome::kProtocolError);
  EXPECT_EQ(ReplyMessage(), "the credential section is malformed");
  std::string short_signed = Credential("HS_SIGNED", "sig");
  short_signed.resize(short_signed.size() - 2);
  ByteWriter(short_signed).PatchU32(0, static_cast<uint32_t>(short_signed.size() - 4));
  EXPECT_EQ(Process(WithTail(good, short_signed)), QueryOutcome::kProtocolError);
}

TEST_F(QueryTest, RepliesExpireTwelveHoursAfterTheServersClockWhateverTheRequestSays) {
  std::string request = BuildRequest("88.123.45/ABC-0001");
  ByteWriter(request).PatchU32(wire::kEnvelopeBytes + 16, 1000);  // long expired
  ASSERT_EQ(Process(request), QueryOutcome::kFound);
  EXPECT_EQ(ReplyHeader().expiration, 0x6b02af90u);
  clock_.Set(int64_t{2'000'000'000} * 1000);
  ASSERT_EQ(Process(BuildRequest("88.123.45/NOPE")), QueryOutcome::kHandleNotFound);
  EXPECT_EQ(ReplyHeader().expiration, 2'000'043'200u);
}

TEST_F(QueryTest, ATypeEndingInADotNamesTheTypeAndItsSubTypes) {
  static constexpr std::string_view kUrlTree[] = {"url."};
  ASSERT_EQ(Process(BuildRequest("88.123.45/TYPES", 0x19000000, 9, {}, kUrlTree)),
            QueryOutcome::kFound);
  EXPECT_EQ(ReplyIndexes(), (std::vector<uint32_t>{1, 2, 4}));  // not URLX
  static constexpr std::string_view kAltTree[] = {"URL.ALT."};
  ASSERT_EQ(Process(BuildRequest("88.123.45/TYPES", 0x19000000, 9, {}, kAltTree)),
            QueryOutcome::kFound);
  EXPECT_EQ(ReplyIndexes(), (std::vector<uint32_t>{2, 4}));
  static constexpr std::string_view kUrl[] = {"URL"};  // no dot: the type alone
  ASSERT_EQ(Process(BuildRequest("88.123.45/TYPES", 0x19000000, 9, {}, kUrl)),
            QueryOutcome::kFound);
  EXPECT_EQ(ReplyIndexes(), (std::vector<uint32_t>{1}));
}

TEST_F(QueryTest, EchoesOnlyTheFlagBitsItHonours) {
  // Each bit alone: echoed, set or cleared as the table in query.cc says.
  const uint32_t echoed = wire::op_flag::kRecursive | wire::op_flag::kCacheCertify |
                          wire::op_flag::kPublicOnly | wire::op_flag::kRequestDigest |
                          wire::op_flag::kDoNotRefer;
  for (int bit = 0; bit < 32; ++bit) {
    const uint32_t flag = uint32_t{1} << bit;
    ASSERT_EQ(Process(BuildRequest("88.123.45/ABC-0001", flag)), QueryOutcome::kFound) << bit;
    const uint32_t expected = (flag & echoed) | wire::op_flag::kAuthoritative;
    EXPECT_EQ(ReplyHeader().flags, expected) << "bit " << bit;
  }
  // ID-SDK's trusted query (0x2): not echoed, so the SDK reports "unknown", and never 0x1
  // ("verified"); ID-SDK's certified query (CT) is not answered as if signed.
  ASSERT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0x00000002)), QueryOutcome::kFound);
  EXPECT_EQ(ReplyHeader().flags & 0x3u, 0u);
  ASSERT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0x19000000 | wire::op_flag::kCertify)),
            QueryOutcome::kFound);
  EXPECT_EQ(ReplyHeader().flags, 0x99000000u);
  // Errors follow the same rule.
  ASSERT_EQ(Process(BuildRequest("88.123.45/NOPE", 0x1B000007)), QueryOutcome::kHandleNotFound);
  EXPECT_EQ(ReplyHeader().flags, 0x99000000u);
}

TEST_F(QueryTest, AnswersASlashLessHandleAsItsPrefixRecord) {
  std::string site_values =
      *identifier::EncodeValueList({testing::MakeValue(1, "HS_SITE", "SITE")});
  std::string node_values = *identifier::EncodeValueList(
      {testing::MakeValue(1, "HS_SITE", "SITE"), testing::MakeValue(2, "HS_SITE.PREFIX", "SITE")});
  QueryProcessor secondary(
      QueryConfig{"88.123", {}, 1, "", false, node_values, site_values, {}, &clock_});
  // Captured from id-pointer-sdk: "88.123.45" asking for HS_SITE.
  ASSERT_EQ(secondary.Process(FromHex(kIdPointerPrefixHex), *txn_, scratch_), QueryOutcome::kFound);
  auto reply = client::DecodeReply(scratch_.reply, wire::opcode::kResolution);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->handle, "88.123.45");  // echoed as asked
  ASSERT_EQ(reply->values.size(), 1u);
  EXPECT_EQ(reply->values[0].type, "HS_SITE");
  EXPECT_EQ(reply->values[0].data, "SITE");
  // The node's own prefix, all values.
  ASSERT_EQ(secondary.Process(BuildRequest("88.123"), *txn_, scratch_), QueryOutcome::kFound);
  EXPECT_EQ(ReplyIndexes(), (std::vector<uint32_t>{1, 2}));
  // Not allocated here: 100 naming why; outside this node: 301 naming why.
  ASSERT_EQ(secondary.Process(BuildRequest("88.123.99"), *txn_, scratch_),
            QueryOutcome::kHandleNotFound);
  EXPECT_EQ(ReplyMessage(), "prefix 88.123.99 is not allocated at this node");
  ASSERT_EQ(secondary.Process(BuildRequest("86.100"), *txn_, scratch_),
            QueryOutcome::kNotResponsible);
  EXPECT_NE(ReplyMessage().find("prefix 86.100 is not hosted here"), std::string::npos);
  // Not a valid prefix either way: 102.
  EXPECT_EQ(secondary.Process(BuildRequest("88.123.45\xff"), *txn_, scratch_),
            QueryOutcome::kInvalidHandle);
}

TEST_F(QueryTest, AnswersNotResponsibleAndInvalidHandle) {
  EXPECT_EQ(Process(BuildRequest("86.100/X")), QueryOutcome::kNotResponsible);
  EXPECT_EQ(ReplyCode(), wire::rc::kServerNotResponsible);
  EXPECT_EQ(ReplyMessage(),
            "prefix 86.100 is not hosted here: this node serves 88.123 and the prefixes "
            "allocated under it; ask the top node");
  EXPECT_EQ(Process(BuildRequest("88.123.99/X")), QueryOutcome::kHandleNotFound);
  EXPECT_EQ(ReplyMessage(), "prefix 88.123.99 is not allocated at this node");
  EXPECT_EQ(Process(BuildRequest("88.1234/X")), QueryOutcome::kNotResponsible);  // not under 88.123
  EXPECT_EQ(Process(BuildRequest("88.123.45/\xff\xfe")), QueryOutcome::kInvalidHandle);
  EXPECT_EQ(ReplyCode(), wire::rc::kInvalidHandle);
  EXPECT_NE(ReplyMessage().find("handle: invalid UTF-8 at byte offset 10"), std::string::npos)
      << ReplyMessage();
  EXPECT_EQ(Process(BuildRequest("88.123.45/A\x01")), QueryOutcome::kInvalidHandle);
}

TEST_F(QueryTest, AddsTheRequestDigestWhenAsked) {
  std::string request =
      BuildRequest("88.123.45/ABC-0001", 0x19000000 | wire::op_flag::kRequestDigest);
  ASSERT_EQ(Process(request), QueryOutcome::kFound);
  std::string_view body;
  wire::Header header;
  wire::DecodeHeader(std::string_view(scratch_.reply).substr(wire::kEnvelopeBytes), header, body);
  EXPECT_NE(header.flags & wire::op_flag::kRequestDigest, 0u);
  ASSERT_GT(body.size(), 33u);
  EXPECT_EQ(body[0], 3);  // SHA-256
  std::string expected;
  std::string_view message = std::string_view(request).substr(wire::kEnvelopeBytes);
  wire::AppendRequestDigest(2, 11, message.substr(0, message.size() - 4), expected);
  EXPECT_EQ(HexBytes(body.substr(0, 33)), HexBytes(expected));
}

TEST_F(QueryTest, AnswersUnknownOpcodesWithOperationNotSupported) {
  EXPECT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0, 5, {}, {}, 100)),
            QueryOutcome::kUnsupported);
  EXPECT_EQ(ReplyCode(), wire::rc::kOperationNotSupported);
  EXPECT_EQ(Process(BuildRequest("88.123.45/ABC-0001", 0, 5, {}, {}, wire::opcode::kGetSiteInfo)),
            QueryOutcome::kUnsupported);  // no site configured in this test
  QueryProcessor with_site(QueryConfig{"88.123", {}, 3, "SITE-BYTES", false, "", "", {}});
  EXPECT_EQ(with_site.Process(BuildRequest("", 0, 5, {}, {}, wire::opcode::kGetSiteInfo), *txn_,
                              scratch_),
            QueryOutcome::kSiteInfo);
  EXPECT_NE(scratch_.reply.find("SITE-BYTES"), std::string::npos);
}

TEST_F(QueryTest, ReplacesAnswersAboveTheTransportBoundWithAnError) {
  std::string request = FromHex(testing::kResolutionRequestHex);
  EXPECT_EQ(processor_.Process(request, *txn_, scratch_, 235), QueryOutcome::kFound);
  EXPECT_EQ(scratch_.reply.size(), 235u);  // exactly at the bound
  EXPECT_EQ(processor_.Process(request, *txn_, scratch_, 234), QueryOutcome::kReplyTooLarge);
  EXPECT_EQ(ReplyCode(), wire::rc::kError);
  EXPECT_EQ(ReplyMessage(),
            "the answer is 235 bytes, above this transport's limit of 234; ask over TCP");
}

TEST_F(QueryTest, AnswersMalformedBodiesWithProtocolErrorAndDropsTheUnanswerable) {
  std::string good = BuildRequest("88.123.45/ABC-0001");
  // Truncated envelope, and a length that does not match what arrived: dropped.
  EXPECT_EQ(Process(good.substr(0, 19)), QueryOutcome::kDropped);
  EXPECT_EQ(Process(good.substr(0, good.size() - 1)), QueryOutcome::kDropped);
  EXPECT_EQ(Process(good + "x"), QueryOutcome::kDropped);
  // A handle length pointing past the end of the body: protocol error with the reason.
  std::string bad = good;
  bad[wire::kEnvelopeBytes + wire::kHeaderBytes + 3] = 0x7f;
  EXPECT_EQ(Process(bad), QueryOutcome::kProtocolError);
  EXPECT_EQ(ReplyCode(), wire::rc::kProtocolError);
  EXPECT_EQ(ReplyMessage(), "a length or count in the body runs past its end");
  // A huge ("negative") index count.
  std::string counts = good;
  size_t count_at = wire::kEnvelopeBytes + wire::kHeaderBytes + 4 + 18;
  counts.replace(count_at, 4, "\xff\xff\xff\xff", 4);
  EXPECT_EQ(Process(counts), QueryOutcome::kProtocolError);
  EXPECT_EQ(ReplyMessage(), "a list in the body has more than 2048 items");
  // The first piece of a multi-packet request (a long type list): incomplete, so dropped.
  std::vector<std::string_view> types(300, "SOME_LONG_TYPE_NAME");
  std::string large = BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, types);
  ASSERT_GT(large.size(), wire::kUdpPacketBytes);
  std::string piece = large.substr(0, wire::kUdpPacketBytes);
  piece[2] = static_cast<char>(piece[2] | wire::envelope_flag::kTruncated);
  EXPECT_EQ(Process(piece), QueryOutcome::kDropped);
  // Compressed and encrypted envelopes are not served.
  std::string compressed = good;
  compressed[2] = static_cast<char>(compressed[2] | wire::envelope_flag::kCompressed);
  EXPECT_EQ(Process(compressed), QueryOutcome::kDropped);
}

TEST_F(QueryTest, SurvivesRandomBytesAndRandomCorruption) {
  std::mt19937 random(20261121);
  std::string good = BuildRequest("88.123.45/ABC-0001");
  for (int i = 0; i < 20000; ++i) {
    std::string input = good;
    if (i % 2 == 0) {
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        input[random() % input.size()] = static_cast<char>(random());
      }
    } else {
      input.resize(random() % 200);
      for (char& c : input) c = static_cast<char>(random());
    }
    QueryOutcome outcome = Process(input);
    if (outcome != QueryOutcome::kDropped) {
      wire::Envelope envelope;
      ASSERT_EQ(wire::DecodeEnvelope(scratch_.reply, envelope), wire::WireError::kOk);
      ASSERT_EQ(envelope.message_length, scratch_.reply.size() - wire::kEnvelopeBytes);
    }
  }
  EXPECT_EQ(Process(good), QueryOutcome::kFound);
}

// The pieces a client sends for `request` (each envelope + slice, truncated flag set).
std::vector<std::string> Pieces(const std::string& request) {
  std::vector<std::string> pieces;
  std::string scratch;
  wire::SplitForUdp(request, scratch, [&](std::string_view head, std::string_view slice) {
    pieces.push_back(std::string(head) + std::string(slice));
  });
  return pieces;
}

// A sender's address as the UDP worker receives it (room for either family).
sockaddr_in6 Source(uint16_t port, uint32_t address = 0x7f000001) {
  sockaddr_in6 storage{};
  auto& source = reinterpret_cast<sockaddr_in&>(storage);
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(address);
  source.sin_port = htons(port);
  return storage;
}

sockaddr_in6 Ipv6Source(uint16_t port) {
  sockaddr_in6 source{};
  source.sin6_family = AF_INET6;
  source.sin6_addr = in6addr_loopback;
  source.sin6_port = htons(port);
  return source;
}

TEST_F(QueryTest, ReassemblesMultiPacketRequestsAndGivesUpOnMissingPieces) {
  std::vector<std::string_view> types(60, "SOME_LONG_TYPE_NAME");
  types.push_back("URL");
  std::string large = BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, types);
  std::vector<std::string> pieces = Pieces(large);
  ASSERT_EQ(pieces.size(), 3u);
  udp::RequestReassembler reassembler(/*timeout_ms=*/2000);
  std::string_view whole;

  // Out of order and with a duplicate: complete once all three are in, and equal to the request.
  for (size_t i : {2u, 0u, 0u}) {
    EXPECT_EQ(reassembler.Feed(Source(1000), pieces[i], 10, whole),
              udp::RequestReassembler::Result::kIncomplete);
  }
  ASSERT_EQ(reassembler.Feed(Source(1000), pieces[1], 10, whole),
            udp::RequestReassembler::Result::kComplete);
  EXPECT_EQ(whole, large);
  EXPECT_EQ(Process(whole), QueryOutcome::kFound);
  EXPECT_EQ(ReplyCode(), wire::rc::kSuccess);
  EXPECT_EQ(reassembler.pending(), 0u);

  // A missing piece: nothing to process, and the request is given up after the timeout.
  for (size_t i : {0u, 2u}) {
    EXPECT_EQ(reassembler.Feed(Source(1001), pieces[i], 100, whole),
              udp::RequestReassembler::Result::kIncomplete);
  }
  // The same request id from another source port is another request, and so is one from the
  // same port over IPv6.
  EXPECT_EQ(reassembler.Feed(Source(1002), pieces[2], 100, whole),
            udp::RequestReassembler::Result::kIncomplete);
  EXPECT_EQ(reassembler.Feed(Ipv6Source(1002), pieces[2], 100, whole),
            udp::RequestReassembler::Result::kIncomplete);
  EXPECT_EQ(reassembler.pending(), 3u);
  EXPECT_EQ(reassembler.Expire(2100), 0u);
  EXPECT_EQ(reassembler.Expire(2101), 3u);
  EXPECT_EQ(reassembler.pending(), 0u);
  // A lone piece fed to the processor is incomplete: dropped, as before.
  EXPECT_EQ(Process(pieces[0]), QueryOutcome::kDropped);
}

TEST_F(QueryTest, ReassemblerRejectsPiecesThatCannotBeUsed) {
  std::vector<std::string_view> types(60, "SOME_LONG_TYPE_NAME");
  std::string large = BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, types);
  std::vector<std::string> pieces = Pieces(large);
  udp::RequestReassembler reassembler;
  std::string_view whole;
  using Result = udp::RequestReassembler::Result;
  // A short middle piece, a sequence past the last piece, a length above the bound, a piece
  // shorter than an envelope.
  EXPECT_EQ(reassembler.Feed(Source(1), pieces[1].substr(0, 100), 0, whole), Result::kRejected);
  std::string beyond = pieces[0];
  beyond[15] = 9;  // sequence 9 of 3
  EXPECT_EQ(reassembler.Feed(Source(1), beyond, 0, whole), Result::kRejected);
  std::string huge = pieces[0];
  huge.replace(16, 4, "\x00\x10\x00\x00", 4);  // 1 MiB
  EXPECT_EQ(reassembler.Feed(Source(1), huge, 0, whole), Result::kRejected);
  EXPECT_EQ(reassembler.Feed(Source(1), "short", 0, whole), Result::kRejected);
  // Pieces that disagree on the total length give the request up.
  EXPECT_EQ(reassembler.Feed(Source(1), pieces[0], 0, whole), Result::kIncomplete);
  std::string other_length = pieces[1];
  other_length[19] = static_cast<char>(other_length[19] + 1);
  EXPECT_EQ(reassembler.Feed(Source(1), other_length, 0, whole), Result::kRejected);
  EXPECT_EQ(reassembler.pending(), 0u);
  // One source address holds at most kMaxPerSource pending requests, however many ports it
  // uses: first pieces that never complete from one source cannot keep the others out.
  for (uint16_t port = 0; port < udp::RequestReassembler::kMaxPerSource; ++port) {
    EXPECT_EQ(reassembler.Feed(Source(port), pieces[0], 0, whole), Result::kIncomplete);
  }
  EXPECT_EQ(reassembler.Feed(Source(500), pieces[0], 0, whole), Result::kRejected);
  EXPECT_EQ(reassembler.Feed(Source(500, 0x7f000002), pieces[0], 0, whole), Result::kIncomplete);
  EXPECT_EQ(reassembler.Expire(5000), udp::RequestReassembler::kMaxPerSource + 1);
  // At most kSlots requests pending at once: the next is rejected until one expires.
  for (uint32_t i = 0; i < udp::RequestReassembler::kSlots; ++i) {
    EXPECT_EQ(reassembler.Feed(Source(1, 0x0a000000 + i), pieces[0], 5000, whole),
              Result::kIncomplete);
  }
  EXPECT_EQ(reassembler.Feed(Source(999, 0x0b000001), pieces[0], 5000, whole), Result::kRejected);
  EXPECT_EQ(reassembler.Expire(10000), udp::RequestReassembler::kSlots);
  EXPECT_EQ(reassembler.Feed(Source(999), pieces[0], 10000, whole), Result::kIncomplete);
}

}  // namespace
}  // namespace idnode::query
