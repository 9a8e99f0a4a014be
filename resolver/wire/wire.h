#pragma once

// The Handle protocol wire codec (RFC 3652, docs/architecture.md §6): pure functions over bytes.
//
// A message on the wire is a 20-byte envelope followed by the message proper: a 24-byte header,
// the body (header.body_length bytes) and a credential section (u32 length + bytes, 0 when
// unsigned). All integers are big-endian; strings are u32 length + bytes.
//
// What decoders tolerate, as the Handle.net reference decoder does (so that every client that
// works with it works here): bytes in a request body after its last field (id-pointer-sdk ends
// every resolution body with `u32 length + auth bytes`, 0 when it has none); a message that ends
// at its body or has fewer than 4 bytes after it (no credential: id-pointer-sdk's login request);
// and bytes after the credential section. A credential whose length runs past the message, or
// a non-empty one that does not decode, is an error. Encoders always write the credential.
//
// Decoders check every length against the bytes that remain before using it, and every count
// against the protocol's limits before reserving anything; they return a WireError (a code with
// a fixed message, no allocation) rather than throwing. Encoders append to a caller-owned
// std::string, so a worker that reuses its buffer does not allocate per message.
//
// Thread-safe: pure functions and value types.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idnode::wire {

inline constexpr size_t kEnvelopeBytes = 20;
inline constexpr size_t kHeaderBytes = 24;
inline constexpr size_t kMaxMessageBytes = 256 * 1024;
inline constexpr size_t kMaxHandleBytes = 2048;
inline constexpr uint32_t kMaxListItems = 2048;  // indexes, types, values
inline constexpr size_t kUdpPacketBytes = 512;
inline constexpr size_t kUdpPieceBytes = kUdpPacketBytes - kEnvelopeBytes;  // 492

// The protocol version this node speaks.
inline constexpr uint8_t kMajorVersion = 2;
inline constexpr uint8_t kMinorVersion = 11;

namespace envelope_flag {
inline constexpr uint8_t kCompressed = 0x80;
inline constexpr uint8_t kEncrypted = 0x40;
inline constexpr uint8_t kTruncated = 0x20;
}  // namespace envelope_flag

namespace op_flag {
inline constexpr uint32_t kAuthoritative = 0x80000000;  // AT
inline constexpr uint32_t kCertify = 0x40000000;        // CT
inline constexpr uint32_t kEncrypt = 0x20000000;        // ENC
inline constexpr uint32_t kRecursive = 0x10000000;      // REC
inline constexpr uint32_t kCacheCertify = 0x08000000;   // CA
inline constexpr uint32_t kContinuous = 0x04000000;     // CN
inline constexpr uint32_t kKeepAlive = 0x02000000;      // KC
inline constexpr uint32_t kPublicOnly = 0x01000000;     // PO
inline constexpr uint32_t kRequestDigest = 0x00800000;  // RD
inline constexpr uint32_t kOverwrite = 0x00400000;      // OVRW
inline constexpr uint32_t kMintNewSuffix = 0x00200000;  // MINT
inline constexpr uint32_t kDoNotRefer = 0x00100000;     // DNRF
}  // namespace op_flag

namespace opcode {
inline constexpr uint32_t kResolution = 1;
inline constexpr uint32_t kGetSiteInfo = 2;
}  // namespace opcode

namespace rc {
inline constexpr uint32_t kSuccess = 1;
inline constexpr uint32_t kError = 2;
inline constexpr uint32_t kServerTooBusy = 3;
inline constexpr uint32_t kProtocolError = 4;
inline constexpr uint32_t kOperationNotSupported = 5;
inline constexpr uint32_t kRecursionCountTooHigh = 6;
inline constexpr uint32_t kHandleNotFound = 100;
inline constexpr uint32_t kHandleAlreadyExists = 101;
inline constexpr uint32_t kInvalidHandle = 102;
inline constexpr uint32_t kValuesNotFound = 200;
inline constexpr uint32_t kServerNotResponsible = 301;
inline constexpr uint32_t kServiceReferral = 302;
inline constexpr uint32_t kPrefixReferral = 303;
}  // namespace rc

// Why a decode failed. Each has a fixed message (WireErrorMessage), usable in an error reply.
enum class WireError : uint8_t {
  kOk = 0,
  kShortEnvelope,      // fewer than 20 bytes
  kBadMessageLength,   // envelope length 0, above the limit, or not what arrived
  kShortHeader,        // fewer than 24 message bytes
  kBodyPastEnd,        // header body length runs past the message
  kLengthPastEnd,      // a string or list length runs past the body
  kHandleTooLong,      // handle above kMaxHandleBytes
  kTooManyItems,       // a count above kMaxListItems
  kTrailingBytes,      // bytes left over in a value that must be exact (HS_SITE)
  kCredentialPastEnd,  // the credential section's length runs past the message
  kBadCredential,      // a non-empty credential section that does not decode
  kUnsupported,        // compressed or encrypted envelope
};
std::string_view WireErrorMessage(WireError error);

struct Envelope {
  uint8_t major = kMajorVersion;
  uint8_t minor = kMinorVersion;
  uint8_t flags = 0;  // envelope_flag bits
  uint8_t suggested_major = kMajorVersion;
  uint8_t suggested_minor = kMinorVersion;
  uint32_t session_id = 0;
  uint32_t request_id = 0;
  uint32_t sequence = 0;
  uint32_t message_length = 0;  // of the whole message, across all pieces
};

// Decodes the first 20 bytes of `packet`. A suggested version of 0 means "the envelope's".
WireError DecodeEnvelope(std::string_view packet, Envelope& out);
void EncodeEnvelope(const Envelope& envelope, std::string& out);

struct Header {
  uint32_t opcode = 0;
  uint32_t response_code = 0;
  uint32_t flags = 0;  // op_flag bits
  uint16_t site_serial = 0;
  uint8_t recursion_count = 0;
  uint32_t expiration = 0;
  uint32_t body_length = 0;
};

// Decodes the header of `message` (the bytes after the envelope) and checks that the body and
// the credential section, when there is one, fit. `body` is set to the body bytes and, when
// given, `credential` to the credential section's bytes after its length (empty when unsigned or
// absent).
WireError DecodeHeader(std::string_view message, Header& out, std::string_view& body,
                       std::string_view* credential = nullptr);

// A credential section (RFC 3652 §2.2.4): version, reserved, options, the signer (handle and
// index), the credential type (HS_SIGNED, HS_MAC, ...) and the signed info (digest algorithm and
// signature). Views point into the message.
struct Credential {
  uint8_t version = 0;
  uint16_t options = 0;
  std::string_view signer_handle;
  uint32_t signer_index = 0;
  std::string_view type;
  std::string_view digest_algorithm;
  std::string_view signature;
};
// Decodes the bytes DecodeHeader set `credential` to (non-empty); kBadCredential when they do not
// hold the fields above. Bytes after the signed info are ignored, as the reference decoder does.
WireError DecodeCredential(std::string_view bytes, Credential& out);
void EncodeHeader(const Header& header, std::string& out);

// A resolution request body: handle, indexes, types, and whatever follows them (ignored; see
// above). Views point into the message; the vectors keep their capacity between calls.
struct ResolutionRequest {
  std::string_view handle;
  std::vector<uint32_t> indexes;
  std::vector<std::string_view> types;
};
WireError DecodeResolutionRequest(std::string_view body, ResolutionRequest& out);
// Encodes a request body (for clients and tests).
void EncodeResolutionRequest(std::string_view handle, std::span<const uint32_t> indexes,
                             std::span<const std::string_view> types, std::string& out);

// The request digest of RFC 3652 §2.2.2: for protocol >= 2.7 a hash type byte 3 and SHA-256,
// for >= 2.1 type 2 and SHA-1, below that the 16 bytes of MD5 alone; each over the request's
// header and body. Appends to `out`.
void AppendRequestDigest(uint8_t major, uint8_t minor, std::string_view header_and_body,
                         std::string& out);

// The version to answer in: the client's suggested version, capped at ours.
void NegotiateVersion(const Envelope& request, uint8_t& major, uint8_t& minor);

// Appends `u32 length + bytes`.
void AppendString(std::string_view bytes, std::string& out);

// Builds a reply message in `out` (cleared first): envelope, header, then the body the caller
// appends, then the credential. Typical use:
//   ReplyWriter w(out, request_envelope, header);  // header.body_length is patched
//   w.body().append(...);
//   w.Finish();
class ReplyWriter {
 public:
  ReplyWriter(std::string& out, const Envelope& envelope, const Header& header);
  std::string& body() { return out_; }
  // Appends the empty credential and patches the body and message lengths.
  void Finish();

 private:
  std::string& out_;
  size_t body_start_;
};

// ---- HS_SITE (docs/architecture.md §6): the site-info record a get-site-info reply carries, and
// the data of HS_SITE values. Built once at start-up and by clients, so it owns its bytes.

namespace site {
inline constexpr uint8_t kPrimary = 0x80;
inline constexpr uint8_t kMultiPrimary = 0x40;
inline constexpr uint8_t kHashByPrefix = 0;
inline constexpr uint8_t kHashBySuffix = 1;
inline constexpr uint8_t kHashByAll = 2;
inline constexpr uint8_t kAdmin = 1;  // interface types
inline constexpr uint8_t kQuery = 2;
inline constexpr uint8_t kAdminAndQuery = 3;
inline constexpr uint8_t kUdp = 0;  // interface protocols
inline constexpr uint8_t kTcp = 1;
inline constexpr uint8_t kHttp = 2;
inline constexpr uint8_t kHttps = 3;
}  // namespace site

struct SiteInterface {
  uint8_t type = site::kQuery;
  uint8_t protocol = site::kUdp;
  uint32_t port = 0;
  bool operator==(const SiteInterface&) const = default;
};

struct SiteServer {
  uint32_t id = 1;
  std::string address;  // 16 bytes; IPv4 as 12 zero bytes + the 4 address bytes (SiteAddress)
  std::string public_key;
  std::vector<SiteInterface> interfaces;
  bool operator==(const SiteServer&) const = default;
};

struct SiteInfo {
  uint16_t format_version = 1;
  uint8_t major = kMajorVersion;
  uint8_t minor = kMinorVersion;
  uint16_t serial = 1;
  uint8_t flags = site::kPrimary;
  uint8_t hash_option = site::kHashByAll;
  std::string hash_filter;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<SiteServer> servers;
  bool operator==(const SiteInfo&) const = default;
};

// A server's 16-byte address in HS_SITE. The Handle.net library and both national SDKs write an
// IPv4 address as 12 zero bytes followed by its 4 bytes and take an address as IPv4 exactly when
// its first 12 bytes are zero (an IPv4-mapped ::ffff:a.b.c.d they take for IPv6, and then find
// no usable interface on a host without IPv6). So this node writes the zero form, and reads both.
// The zero form overlaps IPv6's ::/96; an address there whose IPv4 part is in 0.0.0.0/8 (not an
// IPv4 destination), such as ::1, is read as IPv6. `ipv4` is in host byte order.
std::string SiteAddress(uint32_t ipv4);
// The IPv4 address of `address16` when it is in the zero form (outside 0.0.0.0/8) or the
// mapped form.
bool SiteAddressIpv4(std::string_view address16, uint32_t& ipv4);
// "a.b.c.d" for an IPv4 address in either form, RFC 5952 text for IPv6, hex for anything else.
std::string AddressText(std::string_view address16);

void EncodeSiteInfo(const SiteInfo& info, std::string& out);

// The most servers a site may list in a referral (mirrors of one node; the protocol allows more).
inline constexpr size_t kMaxSiteServers = 32;

// Why a client could not use `site` to reach a server, or "" when it can: it needs 1..
// kMaxSiteServers servers, each with a real (not unspecified) address and at least one query
// interface over UDP or TCP with a port in 1..65535.
std::string SiteUnusableReason(const SiteInfo& site);
// Decodes exactly one record; counts are bounded by kMaxListItems and addresses must be 16 bytes.
WireError DecodeSiteInfo(std::string_view data, SiteInfo& out);

// ---- Replies, for clients.

// Splits a whole message (envelope + message) into its parts; checks that the envelope length
// matches and the header, body and credential fit.
WireError DecodeMessage(std::string_view whole, Envelope& envelope, Header& header,
                        std::string_view& body);
// Skips the request digest at the start of a reply body whose header has RD set; `major` and
// `minor` are the reply envelope's version (below 2.1 the digest is a bare MD5).
WireError SkipRequestDigest(uint8_t major, uint8_t minor, std::string_view& body);
// An error reply's body (after any digest): `u32 length + message`.
WireError DecodeErrorMessage(std::string_view body, std::string_view& message);
// A resolution reply's body (after any digest): the handle, then `u32 count + values`, which is
// returned in `values` (the format registry/identifier DecodeValueList reads).
WireError DecodeResolutionReply(std::string_view body, std::string_view& handle,
                                std::string_view& values);

// Splits one whole reply (envelope + message) into UDP datagrams of at most 512 bytes: when it
// fits it is one piece unchanged; otherwise every piece repeats the envelope with the truncated
// flag and its sequence number 0..n-1 followed by the next 492 message bytes. Calls
// `emit(std::string_view envelope, std::string_view slice)` per piece; `envelope_scratch` is
// reused for the rewritten envelopes (20 bytes per piece).
template <typename Emit>
void SplitForUdp(std::string_view reply, std::string& envelope_scratch, Emit&& emit) {
  if (reply.size() <= kUdpPacketBytes) {
    emit(reply.substr(0, kEnvelopeBytes), reply.substr(kEnvelopeBytes));
    return;
  }
  std::string_view message = reply.substr(kEnvelopeBytes);
  Envelope envelope;
  DecodeEnvelope(reply, envelope);
  envelope.flags |= envelope_flag::kTruncated;
  for (uint32_t sequence = 0; sequence * kUdpPieceBytes < message.size(); ++sequence) {
    envelope.sequence = sequence;
    envelope_scratch.clear();
    EncodeEnvelope(envelope, envelope_scratch);
    emit(std::string_view(envelope_scratch),
         message.substr(sequence * kUdpPieceBytes, kUdpPieceBytes));
  }
}

}  // namespace idnode::wire
