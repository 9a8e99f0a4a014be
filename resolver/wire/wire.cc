#include "resolver/wire/wire.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "registry/base/bytes.h"

namespace idnode::wire {
namespace {

// Reads `u32 length + bytes` within `max` bytes.
bool ReadString(ByteReader& r, std::string_view& out, size_t max, WireError& error) {
  uint32_t length = 0;
  if (!r.U32(length)) {
    error = WireError::kLengthPastEnd;
    return false;
  }
  if (length > max) {
    error = max == kMaxHandleBytes ? WireError::kHandleTooLong : WireError::kLengthPastEnd;
    return false;
  }
  if (!r.Raw(length, out)) {
    error = WireError::kLengthPastEnd;
    return false;
  }
  return true;
}

bool ReadCount(ByteReader& r, uint32_t& count, size_t min_item_bytes, WireError& error) {
  if (!r.U32(count)) {
    error = WireError::kLengthPastEnd;
    return false;
  }
  if (count > kMaxListItems) {
    error = WireError::kTooManyItems;
    return false;
  }
  if (count * min_item_bytes > r.remaining()) {
    error = WireError::kLengthPastEnd;
    return false;
  }
  return true;
}

void Digest(const EVP_MD* md, std::string_view bytes, std::string& out) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, md, nullptr);
  out.append(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::string_view WireErrorMessage(WireError error) {
  switch (error) {
    case WireError::kOk:
      return "ok";
    case WireError::kShortEnvelope:
      return "message envelope is shorter than 20 bytes";
    case WireError::kBadMessageLength:
      return "envelope message length is zero, above 262144 or not what arrived";
    case WireError::kShortHeader:
      return "message is shorter than its 24-byte header";
    case WireError::kBodyPastEnd:
      return "header body length runs past the end of the message";
    case WireError::kLengthPastEnd:
      return "a length or count in the body runs past its end";
    case WireError::kHandleTooLong:
      return "handle is longer than 2048 bytes";
    case WireError::kTooManyItems:
      return "a list in the body has more than 2048 items";
    case WireError::kTrailingBytes:
      return "the value has bytes after its last field";
    case WireError::kCredentialPastEnd:
      return "the credential section's length runs past the end of the message";
    case WireError::kBadCredential:
      return "the credential section is malformed";
    case WireError::kUnsupported:
      return "compressed and encrypted messages are not supported";
  }
  return "malformed message";
}

WireError DecodeEnvelope(std::string_view packet, Envelope& out) {
  if (packet.size() < kEnvelopeBytes) return WireError::kShortEnvelope;
  ByteReader r(packet);
  uint8_t flags_and_major = 0;
  r.U8(out.major);
  r.U8(out.minor);
  r.U8(flags_and_major);
  r.U8(out.suggested_minor);
  r.U32(out.session_id);
  r.U32(out.request_id);
  r.U32(out.sequence);
  r.U32(out.message_length);
  out.flags = flags_and_major & 0xE0;
  out.suggested_major = flags_and_major & 0x03;
  if (out.suggested_major == 0) {
    out.suggested_major = out.major;
    out.suggested_minor = out.minor;
  }
  return WireError::kOk;
}

void EncodeEnvelope(const Envelope& envelope, std::string& out) {
  ByteWriter w(out);
  w.U8(envelope.major);
  w.U8(envelope.minor);
  w.U8(static_cast<uint8_t>((envelope.flags & 0xE0) | (envelope.suggested_major & 0x03)));
  w.U8(envelope.suggested_minor);
  w.U32(envelope.session_id);
  w.U32(envelope.request_id);
  w.U32(envelope.sequence);
  w.U32(envelope.message_length);
}

WireError DecodeHeader(std::string_view message, Header& out, std::string_view& body,
                       std::string_view* credential) {
  if (message.size() < kHeaderBytes) return WireError::kShortHeader;
  ByteReader r(message);
  uint8_t reserved = 0;
  r.U32(out.opcode);
  r.U32(out.response_code);
  r.U32(out.flags);
  r.U16(out.site_serial);
  r.U8(out.recursion_count);
  r.U8(reserved);
  r.U32(out.expiration);
  r.U32(out.body_length);
  if (out.body_length > r.remaining()) return WireError::kBodyPastEnd;
  r.Raw(out.body_length, body);
  if (credential != nullptr) *credential = {};
  uint32_t credential_length = 0;
  if (!r.U32(credential_length)) return WireError::kOk;  // 0..3 bytes after the body: none
  std::string_view bytes;
  if (!r.Raw(credential_length, bytes)) return WireError::kCredentialPastEnd;
  if (credential != nullptr) *credential = bytes;
  return WireError::kOk;
}

void EncodeHeader(const Header& header, std::string& out) {
  ByteWriter w(out);
  w.U32(header.opcode);
  w.U32(header.response_code);
  w.U32(header.flags);
  w.U16(header.site_serial);
  w.U8(header.recursion_count);
  w.U8(0);
  w.U32(header.expiration);
  w.U32(header.body_length);
}

WireError DecodeResolutionRequest(std::string_view body, ResolutionRequest& out) {
  out.indexes.clear();
  out.types.clear();
  ByteReader r(body);
  WireError error = WireError::kOk;
  if (!ReadString(r, out.handle, kMaxHandleBytes, error)) return error;
  uint32_t count = 0;
  if (!ReadCount(r, count, 4, error)) return error;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t index = 0;
    r.U32(index);  // the count check above guarantees the bytes
    out.indexes.push_back(index);
  }
  if (!ReadCount(r, count, 4, error)) return error;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view type;
    if (!ReadString(r, type, kMaxMessageBytes, error)) return error;
    out.types.push_back(type);
  }
  return WireError::kOk;  // what follows the type list is not ours to judge
}

WireError DecodeCredential(std::string_view bytes, Credential& out) {
  out = Credential{};
  ByteReader r(bytes);
  uint8_t reserved = 0;
  uint32_t signed_length = 0;
  std::string_view signed_info;
  WireError error = WireError::kOk;
  if (!r.U8(out.version) || !r.U8(reserved) || !r.U16(out.options) ||
      !ReadString(r, out.signer_handle, kMaxHandleBytes, error) || !r.U32(out.signer_index) ||
      !ReadString(r, out.type, kMaxMessageBytes, error) || !r.U32(signed_length) ||
      !r.Raw(signed_length, signed_info)) {
    return WireError::kBadCredential;
  }
  ByteReader s(signed_info);
  if (!ReadString(s, out.digest_algorithm, kMaxMessageBytes, error) ||
      !ReadString(s, out.signature, kMaxMessageBytes, error)) {
    return WireError::kBadCredential;
  }
  return WireError::kOk;
}

void AppendString(std::string_view bytes, std::string& out) {
  ByteWriter w(out);
  w.Bytes32(bytes);
}

void EncodeResolutionRequest(std::string_view handle, std::span<const uint32_t> indexes,
                             std::span<const std::string_view> types, std::string& out) {
  ByteWriter w(out);
  w.Bytes32(handle);
  w.U32(static_cast<uint32_t>(indexes.size()));
  for (uint32_t index : indexes) w.U32(index);
  w.U32(static_cast<uint32_t>(types.size()));
  for (std::string_view type : types) w.Bytes32(type);
}

void AppendRequestDigest(uint8_t major, uint8_t minor, std::string_view header_and_body,
                         std::string& out) {
  auto at_least = [&](uint8_t want_major, uint8_t want_minor) {
    return major > want_major || (major == want_major && minor >= want_minor);
  };
  if (at_least(2, 7)) {
    out.push_back(3);
    Digest(EVP_sha256(), header_and_body, out);
  } else if (at_least(2, 1)) {
    out.push_back(2);
    Digest(EVP_sha1(), header_and_body, out);
  } else {
    Digest(EVP_md5(), header_and_body, out);
  }
}

void NegotiateVersion(const Envelope& request, uint8_t& major, uint8_t& minor) {
  major = request.suggested_major;
  minor = request.suggested_minor;
  if (major > kMajorVersion || (major == kMajorVersion && minor > kMinorVersion)) {
    major = kMajorVersion;
    minor = kMinorVersion;
  }
}

ReplyWriter::ReplyWriter(std::string& out, const Envelope& envelope, const Header& header)
    : out_(out) {
  out_.clear();
  EncodeEnvelope(envelope, out_);
  EncodeHeader(header, out_);
  body_start_ = out_.size();
}

void ReplyWriter::Finish() {
  const size_t body_length = out_.size() - body_start_;
  ByteWriter w(out_);
  w.U32(0);  // credential: unsigned
  w.PatchU32(kEnvelopeBytes + kHeaderBytes - 4, static_cast<uint32_t>(body_length));
  w.PatchU32(16, static_cast<uint32_t>(out_.size() - kEnvelopeBytes));
}

std::string SiteAddress(uint32_t ipv4) {
  std::string address(12, '\0');
  ByteWriter(address).U32(ipv4);
  return address;
}

bool SiteAddressIpv4(std::string_view address16, uint32_t& ipv4) {
  static constexpr std::string_view kZero("\0\0\0\0\0\0\0\0\0\0\0\0", 12);
  static constexpr std::string_view kMapped("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
  if (address16.size() != 16) return false;
  const std::string_view head = address16.substr(0, 12);
  if (head != kZero && head != kMapped) return false;
  if (head == kZero && address16[12] == 0) return false;  // ::/104, e.g. ::1: IPv6
  ByteReader(address16.substr(12)).U32(ipv4);
  return true;
}

std::string AddressText(std::string_view address16) {
  uint32_t ipv4 = 0;
  if (SiteAddressIpv4(address16, ipv4)) {
    return fmt::format("{}.{}.{}.{}", ipv4 >> 24, (ipv4 >> 16) & 0xff, (ipv4 >> 8) & 0xff,
                       ipv4 & 0xff);
  }
  if (address16 == std::string_view("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16)) return "0.0.0.0";
  char text[INET6_ADDRSTRLEN] = {};
  if (address16.size() == 16 && inet_ntop(AF_INET6, address16.data(), text, sizeof text)) {
    return text;
  }
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : address16) {
    hex += kHex[static_cast<uint8_t>(c) >> 4];
    hex += kHex[static_cast<uint8_t>(c) & 0x0f];
  }
  return hex;
}

void EncodeSiteInfo(const SiteInfo& info, std::string& out) {
  ByteWriter w(out);
  w.U16(info.format_version);
  w.U8(info.major);
  w.U8(info.minor);
  w.U16(info.serial);
  w.U8(info.flags);
  w.U8(info.hash_option);
  w.Bytes32(info.hash_filter);
  w.U32(static_cast<uint32_t>(info.attributes.size()));
  for (const auto& [name, value] : info.attributes) {
    w.Bytes32(name);
    w.Bytes32(value);
  }
  w.U32(static_cast<uint32_t>(info.servers.size()));
  for (const SiteServer& server : info.servers) {
    w.U32(server.id);
    std::string address = server.address;
    address.resize(16, '\0');
    out.append(address);
    w.Bytes32(server.public_key);
    w.U32(static_cast<uint32_t>(server.interfaces.size()));
    for (const SiteInterface& interface : server.interfaces) {
      w.U8(interface.type);
      w.U8(interface.protocol);
      w.U32(interface.port);
    }
  }
}

WireError DecodeSiteInfo(std::string_view data, SiteInfo& out) {
  out = SiteInfo{};
  ByteReader r(data);
  WireError error = WireError::kOk;
  std::string_view bytes;
  if (!r.U16(out.format_version) || !r.U8(out.major) || !r.U8(out.minor) || !r.U16(out.serial) ||
      !r.U8(out.flags) || !r.U8(out.hash_option)) {
    return WireError::kLengthPastEnd;
  }
  if (!ReadString(r, bytes, kMaxMessageBytes, error)) return error;
  out.hash_filter = bytes;
  uint32_t count = 0;
  if (!ReadCount(r, count, 8, error)) return error;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name, value;
    if (!ReadString(r, name, kMaxMessageBytes, error) ||
        !ReadString(r, value, kMaxMessageBytes, error)) {
      return error;
    }
    out.attributes.emplace_back(name, value);
  }
  constexpr size_t kMinServerBytes = 4 + 16 + 4 + 4;
  if (!ReadCount(r, count, kMinServerBytes, error)) return error;
  for (uint32_t i = 0; i < count; ++i) {
    SiteServer& server = out.servers.emplace_back();
    if (!r.U32(server.id) || !r.Raw(16, bytes)) return WireError::kLengthPastEnd;
    server.address = bytes;
    if (!ReadString(r, bytes, kMaxMessageBytes, error)) return error;
    server.public_key = bytes;
    uint32_t interfaces = 0;
    if (!ReadCount(r, interfaces, 6, error)) return error;
    for (uint32_t k = 0; k < interfaces; ++k) {
      SiteInterface& interface = server.interfaces.emplace_back();
      r.U8(interface.type);  // the count check above guarantees the bytes
      r.U8(interface.protocol);
      r.U32(interface.port);
    }
  }
  if (r.remaining() != 0) return WireError::kTrailingBytes;
  return WireError::kOk;
}

WireError DecodeMessage(std::string_view whole, Envelope& envelope, Header& header,
                        std::string_view& body) {
  WireError error = DecodeEnvelope(whole, envelope);
  if (error != WireError::kOk) return error;
  std::string_view message = whole.substr(kEnvelopeBytes);
  if (envelope.message_length != message.size() || message.size() > kMaxMessageBytes) {
    return WireError::kBadMessageLength;
  }
  if ((envelope.flags & (envelope_flag::kCompressed | envelope_flag::kEncrypted)) != 0) {
    return WireError::kUnsupported;
  }
  return DecodeHeader(message, header, body);
}

WireError SkipRequestDigest(uint8_t major, uint8_t minor, std::string_view& body) {
  const bool typed = major > 2 || (major == 2 && minor >= 1);
  size_t length = 16;
  if (typed) {
    if (body.empty()) return WireError::kLengthPastEnd;
    switch (static_cast<uint8_t>(body[0])) {
      case 1:
        length = 1 + 16;  // MD5
        break;
      case 2:
        length = 1 + 20;  // SHA-1
        break;
      case 3:
        length = 1 + 32;  // SHA-256
        break;
      default:
        return WireError::kLengthPastEnd;
    }
  }
  if (body.size() < length) return WireError::kLengthPastEnd;
  body.remove_prefix(length);
  return WireError::kOk;
}

WireError DecodeErrorMessage(std::string_view body, std::string_view& message) {
  ByteReader r(body);
  WireError error = WireError::kOk;
  message = {};
  if (body.empty()) return WireError::kOk;  // some servers send no message at all
  if (!ReadString(r, message, kMaxMessageBytes, error)) return error;
  return WireError::kOk;
}

WireError DecodeResolutionReply(std::string_view body, std::string_view& handle,
                                std::string_view& values) {
  ByteReader r(body);
  WireError error = WireError::kOk;
  if (!ReadString(r, handle, kMaxHandleBytes, error)) return error;
  uint32_t count = 0;
  if (!r.Raw(r.remaining(), values)) return WireError::kLengthPastEnd;
  ByteReader counted(values);
  if (!ReadCount(counted, count, 4 + 4 + 1 + 4 + 1 + 4 + 4 + 4, error)) return error;
  return WireError::kOk;
}

std::string SiteUnusableReason(const SiteInfo& site) {
  if (site.servers.empty()) return "the site lists no servers";
  if (site.servers.size() > kMaxSiteServers) {
    return fmt::format("the site lists {} servers; at most {} are accepted", site.servers.size(),
                       kMaxSiteServers);
  }
  for (size_t i = 0; i < site.servers.size(); ++i) {
    const SiteServer& server = site.servers[i];
    uint32_t ipv4 = 1;
    if (server.address.size() != 16 || server.address == std::string(16, '\0') ||
        (SiteAddressIpv4(server.address, ipv4) && ipv4 == 0)) {
      return fmt::format("server {} (id {}) has no usable address ({})", i + 1, server.id,
                         AddressText(server.address));
    }
    bool usable = false;
    for (const SiteInterface& interface : server.interfaces) {
      usable |= (interface.type & site::kQuery) != 0 &&
                (interface.protocol == site::kUdp || interface.protocol == site::kTcp) &&
                interface.port >= 1 && interface.port <= 65535;
    }
    if (!usable) {
      return fmt::format(
          "server {} (id {}) has no usable interface (a query interface over UDP or TCP with a "
          "port in 1..65535)",
          i + 1, server.id);
    }
  }
  return "";
}

}  // namespace idnode::wire
