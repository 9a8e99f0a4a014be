#include "resolver/wire/wire.h"

#include <gtest/gtest.h>

#include "registry/base/bytes.h"
#include "tests/support/handle_vectors.h"

namespace idnode::wire {
namespace {

using testing::FromHex;

TEST(WireTest, DecodesTheReferenceResolutionRequest) {
  std::string packet = FromHex(testing::kResolutionRequestHex);
  Envelope envelope;
  ASSERT_EQ(DecodeEnvelope(packet, envelope), WireError::kOk);
  EXPECT_EQ(envelope.major, 2);
  EXPECT_EQ(envelope.minor, 11);
  EXPECT_EQ(envelope.flags, 0);
  EXPECT_EQ(envelope.suggested_major, 2);
  EXPECT_EQ(envelope.suggested_minor, 11);
  EXPECT_EQ(envelope.request_id, 0x23186597u);
  EXPECT_EQ(envelope.message_length, 58u);
  Header header;
  std::string_view body;
  ASSERT_EQ(DecodeHeader(std::string_view(packet).substr(kEnvelopeBytes), header, body),
            WireError::kOk);
  EXPECT_EQ(header.opcode, opcode::kResolution);
  EXPECT_EQ(header.flags, op_flag::kRecursive | op_flag::kCacheCertify | op_flag::kPublicOnly);
  EXPECT_EQ(header.site_serial, 1);
  EXPECT_EQ(header.expiration, 0x6b02af90u);
  EXPECT_EQ(header.body_length, 30u);
  ResolutionRequest request;
  ASSERT_EQ(DecodeResolutionRequest(body, request), WireError::kOk);
  EXPECT_EQ(request.handle, "88.123.45/ABC-0001");
  EXPECT_TRUE(request.indexes.empty());
  EXPECT_TRUE(request.types.empty());
}

TEST(WireTest, EncodesTheReferenceRequestByteForByte) {
  Envelope envelope;
  envelope.request_id = 0x23186597;
  Header header;
  header.opcode = opcode::kResolution;
  header.flags = 0x19000000;
  header.site_serial = 1;
  header.expiration = 0x6b02af90;
  std::string out;
  ReplyWriter writer(out, envelope, header);
  EncodeResolutionRequest("88.123.45/ABC-0001", {}, {}, writer.body());
  writer.Finish();
  EXPECT_EQ(HexBytes(out), testing::kResolutionRequestHex);
}

TEST(WireTest, RoundTripsFilters) {
  std::string body;
  uint32_t indexes[] = {1, 100};
  std::string_view types[] = {"URL", "HS_"};
  EncodeResolutionRequest("88.123.45/X", indexes, types, body);
  ResolutionRequest request;
  ASSERT_EQ(DecodeResolutionRequest(body, request), WireError::kOk);
  EXPECT_EQ(request.indexes, (std::vector<uint32_t>{1, 100}));
  ASSERT_EQ(request.types.size(), 2u);
  EXPECT_EQ(request.types[1], "HS_");
}

TEST(WireTest, RejectsEveryTruncationOfABody) {
  std::string body;
  uint32_t indexes[] = {7};
  std::string_view types[] = {"URL"};
  EncodeResolutionRequest("88.123.45/X", indexes, types, body);
  ResolutionRequest request;
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_NE(DecodeResolutionRequest(body.substr(0, cut), request), WireError::kOk) << cut;
  }
  // Bytes after the type list are ignored, as the reference decoder ignores them.
  const std::string with_auth_length = body + std::string(4, '\0');  // id-pointer-sdk's
  ASSERT_EQ(DecodeResolutionRequest(with_auth_length, request), WireError::kOk);
  EXPECT_EQ(request.handle, "88.123.45/X");
  EXPECT_EQ(request.types.size(), 1u);
}

TEST(WireTest, RejectsHugeCountsAndLengthsBeforeReserving) {
  std::string body;
  ByteWriter w(body);
  w.Bytes32("88.123.45/X");
  w.U32(0x7fffffff);  // index count
  ResolutionRequest request;
  EXPECT_EQ(DecodeResolutionRequest(body, request), WireError::kTooManyItems);
  body.clear();
  w.Bytes32("88.123.45/X");
  w.U32(2000);  // within the limit but the bytes are not there
  EXPECT_EQ(DecodeResolutionRequest(body, request), WireError::kLengthPastEnd);
  EXPECT_LT(request.indexes.capacity(), 2000u);
  body.clear();
  w.U32(0xffffffff);  // handle length: "negative"
  EXPECT_EQ(DecodeResolutionRequest(body, request), WireError::kHandleTooLong);
  body.clear();
  w.Bytes32(std::string(kMaxHandleBytes + 1, 'a'));
  w.U32(0);
  w.U32(0);
  EXPECT_EQ(DecodeResolutionRequest(body, request), WireError::kHandleTooLong);
}

TEST(WireTest, HeaderChecksBodyAndCredential) {
  std::string message = FromHex(testing::kResolutionRequestHex).substr(kEnvelopeBytes);
  Header header;
  std::string_view body;
  EXPECT_EQ(DecodeHeader(message.substr(0, 23), header, body), WireError::kShortHeader);
  EXPECT_EQ(DecodeHeader(message.substr(0, 40), header, body), WireError::kBodyPastEnd);
  // 0..3 bytes after the body: no credential section, which the reference decoder accepts.
  std::string_view credential = "unset";
  for (size_t cut = 1; cut <= 4; ++cut) {
    EXPECT_EQ(DecodeHeader(message.substr(0, message.size() - cut), header, body, &credential),
              WireError::kOk)
        << cut;
    EXPECT_TRUE(credential.empty());
  }
  // A credential length running past the end; one that fits, with a byte after it.
  std::string signed_message = message.substr(0, message.size() - 4);
  signed_message += std::string("\x00\x00\x00\x05", 4);
  EXPECT_EQ(DecodeHeader(signed_message + "abcd", header, body), WireError::kCredentialPastEnd);
  const std::string with_credential = signed_message + "abcdef";  // outlives the view into it
  EXPECT_EQ(DecodeHeader(with_credential, header, body, &credential), WireError::kOk);
  EXPECT_EQ(credential, "abcde");
  Envelope envelope;
  EXPECT_EQ(DecodeEnvelope(std::string(19, '\0'), envelope), WireError::kShortEnvelope);
}

TEST(WireTest, NegotiatesTheLowerVersion) {
  Envelope old_client;
  old_client.suggested_major = 2;
  old_client.suggested_minor = 5;
  uint8_t major = 0, minor = 0;
  NegotiateVersion(old_client, major, minor);
  EXPECT_EQ(major, 2);
  EXPECT_EQ(minor, 5);
  Envelope new_client;
  new_client.suggested_major = 3;
  new_client.suggested_minor = 0;
  NegotiateVersion(new_client, major, minor);
  EXPECT_EQ(major, 2);
  EXPECT_EQ(minor, 11);
  // A suggested major of 0 means the envelope's own version.
  std::string packet = FromHex(testing::kResolutionRequestHex);
  packet[1] = 9;
  packet[2] = 0;
  Envelope decoded;
  ASSERT_EQ(DecodeEnvelope(packet, decoded), WireError::kOk);
  EXPECT_EQ(decoded.suggested_major, 2);
  EXPECT_EQ(decoded.suggested_minor, 9);
}

TEST(WireTest, DigestsFollowTheVersion) {
  std::string out;
  AppendRequestDigest(2, 11, "abc", out);
  ASSERT_EQ(out.size(), 33u);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(HexBytes(out.substr(1)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // SHA-256("abc")
  out.clear();
  AppendRequestDigest(2, 5, "abc", out);
  ASSERT_EQ(out.size(), 21u);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(HexBytes(out.substr(1)), "a9993e364706816aba3e25717850c26c9cd0d89d");  // SHA-1
  out.clear();
  AppendRequestDigest(2, 0, "abc", out);
  EXPECT_EQ(HexBytes(out), "900150983cd24fb0d6963f7d28e17f72");  // MD5, no type byte
}

TEST(WireTest, SplitsLargeRepliesInto492BytePiecesLikeTheReferenceServer) {
  // The reference server sent a 1584-byte message as datagrams of 512, 512, 512 and 128 bytes.
  Envelope envelope;
  envelope.request_id = 42;
  envelope.message_length = 1584;
  std::string reply;
  EncodeEnvelope(envelope, reply);
  for (int i = 0; i < 1584; ++i) reply.push_back(static_cast<char>(i));
  std::string scratch;
  std::vector<std::string> datagrams;
  SplitForUdp(reply, scratch, [&](std::string_view head, std::string_view slice) {
    datagrams.push_back(std::string(head) + std::string(slice));
  });
  ASSERT_EQ(datagrams.size(), 4u);
  EXPECT_EQ(datagrams[0].size(), 512u);
  EXPECT_EQ(datagrams[2].size(), 512u);
  EXPECT_EQ(datagrams[3].size(), 128u);
  std::string reassembled;
  for (uint32_t i = 0; i < datagrams.size(); ++i) {
    Envelope piece;
    ASSERT_EQ(DecodeEnvelope(datagrams[i], piece), WireError::kOk);
    EXPECT_EQ(piece.sequence, i);
    EXPECT_EQ(piece.request_id, 42u);
    EXPECT_EQ(piece.message_length, 1584u);
    EXPECT_EQ(static_cast<uint8_t>(datagrams[i][2]), 0x22);  // truncated + suggested major 2
    reassembled += datagrams[i].substr(kEnvelopeBytes);
  }
  EXPECT_EQ(reassembled, reply.substr(kEnvelopeBytes));
  // A reply that fits goes out whole and unchanged.
  std::string small = reply.substr(0, 300);
  int pieces = 0;
  SplitForUdp(small, scratch, [&](std::string_view head, std::string_view slice) {
    ++pieces;
    EXPECT_EQ(std::string(head) + std::string(slice), small);
  });
  EXPECT_EQ(pieces, 1);
}

SiteInfo ExampleSite() {
  SiteInfo site;
  site.serial = 7;
  site.attributes = {{"desc", "idnode 88.123"}};
  SiteServer server;
  server.id = 1;
  server.address = SiteAddress(0xC000020A);  // 192.0.2.10
  server.public_key = "key";
  server.interfaces = {{site::kQuery, site::kUdp, 2641}, {site::kQuery, site::kTcp, 2641}};
  site.servers.push_back(server);
  server.id = 2;
  server.address = SiteAddress(0xC000020B);
  site.servers.push_back(server);
  return site;
}

TEST(WireTest, SiteInfoHasTheHandleLayoutAndRoundTrips) {
  std::string bytes;
  EncodeSiteInfo(ExampleSite(), bytes);
  // format 1, version 2.11, serial 7, primary, hash by all, empty filter, 1 attribute.
  EXPECT_EQ(bytes.substr(0, 16), std::string("\x00\x01\x02\x0b\x00\x07\x80\x02\x00\x00\x00\x00"
                                             "\x00\x00\x00\x01",
                                             16));
  SiteInfo decoded;
  ASSERT_EQ(DecodeSiteInfo(bytes, decoded), WireError::kOk);
  EXPECT_EQ(decoded, ExampleSite());
  EXPECT_EQ(AddressText(decoded.servers[0].address), "192.0.2.10");
  EXPECT_EQ(AddressText(std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01"),
            "2001:db8::1");
}

TEST(WireTest, SiteAddressesAreWrittenInTheZeroFormAndReadInBoth) {
  // What the Handle.net library's ServerInfo.isIPv4() accepts: the first 12 bytes zero.
  EXPECT_EQ(HexBytes(SiteAddress(0xC000020A)), "000000000000000000000000c000020a");
  std::string bytes;
  EncodeSiteInfo(ExampleSite(), bytes);
  EXPECT_NE(bytes.find(std::string(12, '\0') + std::string("\xc0\x00\x02\x0a", 4)),
            std::string::npos);
  EXPECT_EQ(bytes.find("\xff\xff\xc0"), std::string::npos);
  uint32_t ipv4 = 0;
  const std::string mapped = std::string(10, '\0') + std::string("\xff\xff\x7f\x00\x00\x01", 6);
  ASSERT_TRUE(SiteAddressIpv4(mapped, ipv4));
  EXPECT_EQ(ipv4, 0x7f000001u);
  EXPECT_EQ(AddressText(mapped), "127.0.0.1");
  ASSERT_TRUE(SiteAddressIpv4(SiteAddress(0x0a000001), ipv4));
  EXPECT_EQ(ipv4, 0x0a000001u);
  EXPECT_FALSE(SiteAddressIpv4(std::string("\x20\x01", 2) + std::string(14, '\0'), ipv4));
  EXPECT_FALSE(SiteAddressIpv4("short", ipv4));
  // ::1 has 12 zero bytes too, but 0.0.0.1 is no IPv4 destination: it is IPv6.
  EXPECT_FALSE(SiteAddressIpv4(std::string(15, '\0') + '\1', ipv4));
  EXPECT_EQ(AddressText(std::string(15, '\0') + '\1'), "::1");
  // 0.0.0.0 in either form is unspecified: a site naming it cannot be used.
  SiteInfo site = ExampleSite();
  site.servers[1].address = SiteAddress(0);
  EXPECT_NE(SiteUnusableReason(site).find("no usable address"), std::string::npos);
  site.servers[1].address = std::string(10, '\0') + "\xff\xff" + std::string(4, '\0');
  EXPECT_NE(SiteUnusableReason(site).find("no usable address"), std::string::npos);
}

TEST(WireTest, SiteInfoDecoderRejectsTruncationsHugeCountsAndTrailingBytes) {
  std::string bytes;
  EncodeSiteInfo(ExampleSite(), bytes);
  SiteInfo decoded;
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_NE(DecodeSiteInfo(std::string_view(bytes).substr(0, length), decoded), WireError::kOk)
        << length;
  }
  EXPECT_EQ(DecodeSiteInfo(bytes + "x", decoded), WireError::kTrailingBytes);
  // A server count of 0xffffffff right after the attributes.
  std::string huge;
  SiteInfo empty;
  EncodeSiteInfo(empty, huge);
  huge.replace(huge.size() - 4, 4, "\xff\xff\xff\xff");
  EXPECT_EQ(DecodeSiteInfo(huge, decoded), WireError::kTooManyItems);
  huge.replace(huge.size() - 4, 4, std::string("\x00\x00\x07\xff", 4));  // 2047 servers, no bytes
  EXPECT_EQ(DecodeSiteInfo(huge, decoded), WireError::kLengthPastEnd);
}

TEST(WireTest, DecodesTheReferenceRepliesAsAClient) {
  std::string found = FromHex(testing::kResolutionReplyHex);
  Envelope envelope;
  Header header;
  std::string_view body;
  ASSERT_EQ(DecodeMessage(found, envelope, header, body), WireError::kOk);
  EXPECT_EQ(header.response_code, rc::kSuccess);
  std::string_view handle, values;
  ASSERT_EQ(DecodeResolutionReply(body, handle, values), WireError::kOk);
  EXPECT_EQ(handle, "88.123.45/ABC-0001");
  EXPECT_EQ(values.substr(0, 4), std::string_view("\0\0\0\x03", 4));

  std::string missing = FromHex(testing::kNotFoundReplyHex);
  ASSERT_EQ(DecodeMessage(missing, envelope, header, body), WireError::kOk);
  EXPECT_EQ(header.response_code, rc::kHandleNotFound);
  std::string_view message = "unset";
  ASSERT_EQ(DecodeErrorMessage(body, message), WireError::kOk);
  EXPECT_EQ(message, "");
  // A reply whose envelope length disagrees with what arrived.
  EXPECT_EQ(DecodeMessage(missing.substr(0, missing.size() - 1), envelope, header, body),
            WireError::kBadMessageLength);
}

TEST(WireTest, SkipsEachKindOfRequestDigest) {
  for (auto [major, minor, first, length] :
       {std::tuple<uint8_t, uint8_t, char, size_t>{2, 11, '\x03', 33},
        {2, 5, '\x02', 21},
        {2, 5, '\x01', 17},
        {2, 0, '\xaa', 16}}) {
    std::string body(length, '\x55');
    body[0] = first;
    body += "rest";
    std::string_view view = body;
    ASSERT_EQ(SkipRequestDigest(major, minor, view), WireError::kOk) << length;
    EXPECT_EQ(view, "rest");
    std::string_view short_view = std::string_view(body).substr(0, length - 1);
    EXPECT_NE(SkipRequestDigest(major, minor, short_view), WireError::kOk) << length;
  }
  std::string_view unknown =
      "\x09"
      "abc";
  EXPECT_NE(SkipRequestDigest(2, 11, unknown), WireError::kOk);
}

}  // namespace
}  // namespace idnode::wire
