// The query processor fed raw request bytes (no sockets) over a real LMDB store.

#include "resolver/query/query.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "registry/base/bytes.h"
#include "registry/identifier/record.h"
#include "resolver/udp/reassembly.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"

namespace idnode::resolver {
namespace {

using testing::BuildRequest;
using testing::FromHex;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto txn = store_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    auto values = EncodeValueList(testing::ReferenceValues());
    ASSERT_TRUE(values.ok());
    ASSERT_TRUE(txn->Put(store::Db::kIds, "88.123.45/ABC-0001",
                         EncodeRecord({1, 1, 1, "88.123.45/ABC-0001", "acme", *values}))
                    .ok());
    auto hidden = testing::MakeValue(1, "URL", "https://internal");
    hidden.permissions = permission::kAdminRead | permission::kAdminWrite;
    auto hidden_values = EncodeValueList({hidden});
    ASSERT_TRUE(txn->Put(store::Db::kIds, "88.123.45/HIDDEN",
                         EncodeRecord({1, 1, 1, "88.123.45/HIDDEN", "acme", *hidden_values}))
                    .ok());
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

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::optional<store::ReadTxn> txn_;
  QueryProcessor processor_{QueryConfig{"88.123", {}, 1, "", false, "", "", {}}};
  QueryScratch scratch_;
};

TEST_F(QueryTest, AnswersLikeTheReferenceServerByteForByte) {
  EXPECT_EQ(Process(FromHex(testing::kResolutionRequestHex)), QueryOutcome::kFound);
  EXPECT_EQ(HexBytes(scratch_.reply), testing::kResolutionReplyHex);
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

TEST_F(QueryTest, AnswersNotResponsibleAndInvalidHandle) {
  EXPECT_EQ(Process(BuildRequest("86.100/X")), QueryOutcome::kNotResponsible);
  EXPECT_EQ(ReplyCode(), wire::rc::kServerNotResponsible);
  EXPECT_EQ(Process(BuildRequest("88.1234/X")), QueryOutcome::kNotResponsible);  // not under 88.123
  EXPECT_EQ(Process(BuildRequest("88.123.45/\xff\xfe")), QueryOutcome::kInvalidHandle);
  EXPECT_EQ(ReplyCode(), wire::rc::kInvalidHandle);
  EXPECT_NE(ReplyMessage().find("handle: invalid UTF-8 at byte offset 10"), std::string::npos)
      << ReplyMessage();
  EXPECT_EQ(Process(BuildRequest("88.123.45")), QueryOutcome::kInvalidHandle);
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

sockaddr_in Source(uint16_t port) {
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f000001);
  source.sin_port = htons(port);
  return source;
}

TEST_F(QueryTest, ReassemblesMultiPacketRequestsAndGivesUpOnMissingPieces) {
  std::vector<std::string_view> types(60, "SOME_LONG_TYPE_NAME");
  types.push_back("URL");
  std::string large = BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, types);
  std::vector<std::string> pieces = Pieces(large);
  ASSERT_EQ(pieces.size(), 3u);
  RequestReassembler reassembler(/*timeout_ms=*/2000);
  std::string_view whole;

  // Out of order and with a duplicate: complete once all three are in, and equal to the request.
  for (size_t i : {2u, 0u, 0u}) {
    EXPECT_EQ(reassembler.Feed(Source(1000), pieces[i], 10, whole),
              RequestReassembler::Result::kIncomplete);
  }
  ASSERT_EQ(reassembler.Feed(Source(1000), pieces[1], 10, whole),
            RequestReassembler::Result::kComplete);
  EXPECT_EQ(whole, large);
  EXPECT_EQ(Process(whole), QueryOutcome::kFound);
  EXPECT_EQ(ReplyCode(), wire::rc::kSuccess);
  EXPECT_EQ(reassembler.pending(), 0u);

  // A missing piece: nothing to process, and the request is given up after the timeout.
  for (size_t i : {0u, 2u}) {
    EXPECT_EQ(reassembler.Feed(Source(1001), pieces[i], 100, whole),
              RequestReassembler::Result::kIncomplete);
  }
  // The same request id from another source port is another request.
  EXPECT_EQ(reassembler.Feed(Source(1002), pieces[2], 100, whole),
            RequestReassembler::Result::kIncomplete);
  EXPECT_EQ(reassembler.pending(), 2u);
  EXPECT_EQ(reassembler.Expire(2100), 0u);
  EXPECT_EQ(reassembler.Expire(2101), 2u);
  EXPECT_EQ(reassembler.pending(), 0u);
  // A lone piece fed to the processor is incomplete: dropped, as before.
  EXPECT_EQ(Process(pieces[0]), QueryOutcome::kDropped);
}

TEST_F(QueryTest, ReassemblerRejectsPiecesThatCannotBeUsed) {
  std::vector<std::string_view> types(60, "SOME_LONG_TYPE_NAME");
  std::string large = BuildRequest("88.123.45/ABC-0001", 0x19000000, 9, {}, types);
  std::vector<std::string> pieces = Pieces(large);
  RequestReassembler reassembler;
  std::string_view whole;
  using Result = RequestReassembler::Result;
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
  // At most kSlots requests pending at once: the next is rejected until one expires.
  for (uint16_t port = 0; port < RequestReassembler::kSlots; ++port) {
    EXPECT_EQ(reassembler.Feed(Source(port), pieces[0], 0, whole), Result::kIncomplete);
  }
  EXPECT_EQ(reassembler.Feed(Source(999), pieces[0], 0, whole), Result::kRejected);
  EXPECT_EQ(reassembler.Expire(5000), RequestReassembler::kSlots);
  EXPECT_EQ(reassembler.Feed(Source(999), pieces[0], 5000, whole), Result::kIncomplete);
}

}  // namespace
}  // namespace idnode::resolver
