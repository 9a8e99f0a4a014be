#pragma once

// Frames captured from a reference Handle server (v9.3.1) on loopback, kept here so the suite
// carries its own vectors. Hex of the UDP payload (envelope + message).

#include <string>
#include <string_view>

#include "registry/base/strings.h"
#include "resolver/wire/wire.h"

namespace idnode::testing {

// §1: resolution request for 88.123.45/ABC-0001, flags REC|CA|PO, request id 0x23186597.
inline constexpr std::string_view kResolutionRequestHex =
    "020b020b0000000023186597000000000000003a000000010000000019000000000100006b02af900000001e000000"
    "1238382e3132332e34352f4142432d30303031000000000000000000000000";

// §2: its reply, three values.
inline constexpr std::string_view kResolutionReplyHex =
    "020b020b000000002318659700000000000000d7000000010000000199000000000100006b02af90000000bb000000"
    "1238382e3132332e34352f4142432d3030303100000003000000016592008000000151800e0000000355524c000000"
    "1b687474703a2f2f6578616d706c652e636f6d2f6162632d3030303100000000000000026592008000000151800e00"
    "000005454d41494c0000000f6f7073406578616d706c652e636f6d00000000000000646592008000000151800e0000"
    "000848535f41444d494e000000190fff0000000f38382e3132332e34352f41444d494e0000012c000000000000000"
    "0";

// §3: request for 88.123.45/NOPE and its not-found (100) reply.
inline constexpr std::string_view kNotFoundRequestHex =
    "020b020b000000004af0bd9f0000000000000036000000010000000019000000000100006b02af940000001a000000"
    "0e38382e3132332e34352f4e4f5045000000000000000000000000";
inline constexpr std::string_view kNotFoundReplyHex =
    "020b020b000000004af0bd9f0000000000000020000000010000006499000000000100006b02af9400000004000000"
    "0000000000";

inline std::string FromHex(std::string_view hex) {
  std::string bytes;
  ParseHexBytes(hex, bytes);
  return bytes;
}

// A whole request (envelope + message) as a Handle client sends it.
inline std::string BuildRequest(std::string_view handle, uint32_t flags = 0x19000000,
                                uint32_t request_id = 7, std::span<const uint32_t> indexes = {},
                                std::span<const std::string_view> types = {},
                                uint32_t opcode = wire::opcode::kResolution,
                                uint8_t recursion_count = 0) {
  wire::Envelope envelope;
  envelope.request_id = request_id;
  wire::Header header;
  header.opcode = opcode;
  header.flags = flags;
  header.recursion_count = recursion_count;
  header.expiration = 0x6b02af90;
  std::string out;
  wire::ReplyWriter writer(out, envelope, header);
  wire::EncodeResolutionRequest(handle, indexes, types, writer.body());
  writer.Finish();
  return out;
}

}  // namespace idnode::testing
