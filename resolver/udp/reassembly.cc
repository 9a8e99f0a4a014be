#include "resolver/udp/reassembly.h"

#include <cstring>

#include "resolver/wire/wire.h"

namespace idnode::udp {

RequestReassembler::RequestReassembler(uint64_t timeout_ms)
    : timeout_ms_(timeout_ms), slots_(kSlots) {
  for (Slot& slot : slots_) slot.buffer.resize(wire::kEnvelopeBytes + kMaxBytes);
}

RequestReassembler::Result RequestReassembler::Feed(const sockaddr_in6& source,
                                                    std::string_view datagram, uint64_t now_ms,
                                                    std::string_view& whole) {
  static_assert((kMaxBytes + wire::kUdpPieceBytes - 1) / wire::kUdpPieceBytes <= 64,
                "the piece bitmap is 64 bits");
  wire::Envelope envelope;
  if (wire::DecodeEnvelope(datagram, envelope) != wire::WireError::kOk) return Result::kRejected;
  const std::string_view slice = datagram.substr(wire::kEnvelopeBytes);
  const uint32_t length = envelope.message_length;
  const uint32_t pieces =
      static_cast<uint32_t>((length + wire::kUdpPieceBytes - 1) / wire::kUdpPieceBytes);
  const uint32_t sequence = envelope.sequence;
  if (length == 0 || length > kMaxBytes || sequence >= pieces) return Result::kRejected;
  // Every piece but the last is full; the last holds the rest.
  const size_t expected = sequence + 1 < pieces ? wire::kUdpPieceBytes
                                                : length - size_t{sequence} * wire::kUdpPieceBytes;
  if (slice.size() != expected) return Result::kRejected;

  // Both families keep the port at the same offset; the address is compared as 16 bytes.
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
  const bool v6 = source.sin6_family != AF_INET;
  if (!v6) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(source);
    std::memcpy(address.data(), &v4.sin_addr, 4);
    port = v4.sin_port;
  } else {
    std::memcpy(address.data(), source.sin6_addr.s6_addr, 16);
    port = source.sin6_port;
  }
  // One source: the same IPv4 address, or the same IPv6 /64.
  auto same_source = [&](const Slot& other) {
    if (other.v6 != v6) return false;
    const size_t compared = v6 ? 8 : 4;
    return std::memcmp(other.address.data(), address.data(), compared) == 0;
  };
  Slot* slot = nullptr;
  Slot* free_slot = nullptr;
  size_t from_source = 0;
  for (Slot& candidate : slots_) {
    if (candidate.used && candidate.address == address && candidate.port == port &&
        candidate.request_id == envelope.request_id) {
      slot = &candidate;
      break;
    }
    if (candidate.used && same_source(candidate)) ++from_source;
    if (!candidate.used && free_slot == nullptr) free_slot = &candidate;
  }
  if (slot == nullptr) {
    if (free_slot == nullptr) return Result::kRejected;          // all busy: the client will retry
    if (from_source >= kMaxPerSource) return Result::kRejected;  // this source holds its share
    slot = free_slot;
    slot->used = true;
    ++pending_;
    slot->address = address;
    slot->v6 = v6;
    slot->port = port;
    slot->request_id = envelope.request_id;
    slot->length = length;
    slot->pieces = pieces;
    slot->received = 0;
    slot->started_ms = now_ms;
    envelope.flags &= static_cast<uint8_t>(~wire::envelope_flag::kTruncated);
    envelope.sequence = 0;
    std::string head;
    wire::EncodeEnvelope(envelope, head);  // 20 bytes: fits the small-string buffer
    std::memcpy(slot->buffer.data(), head.data(), wire::kEnvelopeBytes);
  } else if (slot->length != length) {
    slot->used = false;  // pieces that disagree: give the request up
    --pending_;
    return Result::kRejected;
  }
  std::memcpy(slot->buffer.data() + wire::kEnvelopeBytes + size_t{sequence} * wire::kUdpPieceBytes,
              slice.data(), slice.size());
  slot->received |= uint64_t{1} << sequence;
  const uint64_t all = pieces == 64 ? ~uint64_t{0} : (uint64_t{1} << pieces) - 1;
  if (slot->received != all) return Result::kIncomplete;
  slot->used = false;  // the bytes stay valid until the next Feed reuses the slot
  --pending_;
  whole = std::string_view(slot->buffer.data(), wire::kEnvelopeBytes + length);
  return Result::kComplete;
}

size_t RequestReassembler::Expire(uint64_t now_ms) {
  if (pending_ == 0) return 0;  // the common case, once per UDP batch
  size_t expired = 0;
  for (Slot& slot : slots_) {
    if (slot.used && now_ms - slot.started_ms > timeout_ms_) {
      slot.used = false;
      ++expired;
    }
  }
  pending_ -= expired;
  return expired;
}

}  // namespace idnode::udp
