#pragma once

// Reassembly of multi-packet UDP requests (docs/architecture.md §6): a request above 512 bytes
// arrives as pieces 0..n-1, each a datagram with the truncated envelope flag, the same request id
// and total length, and the next 492 message bytes. Requests are small, so this is rare; it is
// bounded so that pieces cannot be used to make the node hold memory: a fixed number of pending
// requests per worker, at most kMaxPerSource of them from one source address (one /64 for IPv6)
// however many ports it uses, so that first pieces that never complete from one source cannot keep
// everyone else's requests out; each at most kMaxBytes, each given up `timeout_ms` after its
// first piece (and counted by the caller as dropped).
//
// No allocation after construction. Thread-compatible: one per UDP worker.

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace idnode::udp {

class RequestReassembler {
 public:
  static constexpr size_t kMaxBytes = 16 * 1024;  // whole message, envelope excluded
  static constexpr size_t kSlots = 32;
  static constexpr size_t kMaxPerSource = 4;

  enum class Result : uint8_t {
    kIncomplete,  // kept; more pieces are needed
    kComplete,    // `whole` holds envelope + message, valid until the next Feed
    kRejected,    // not a usable piece (bad sequence or length, too large, or no free slot)
  };

  explicit RequestReassembler(uint64_t timeout_ms = 2000);

  // Takes one datagram whose envelope has the truncated flag. `now_ms` is a monotonic clock.
  // `source` is the sender's sockaddr_in or sockaddr_in6.
  Result Feed(const sockaddr_in6& source, std::string_view datagram, uint64_t now_ms,
              std::string_view& whole);
  // Frees the slots of requests whose first piece came more than the timeout before `now_ms`;
  // returns how many were given up.
  size_t Expire(uint64_t now_ms);
  size_t pending() const { return pending_; }

 private:
  struct Slot {
    bool used = false;
    std::array<uint8_t, 16> address{};
    bool v6 = false;
    uint16_t port = 0;
    uint32_t request_id = 0;
    uint32_t length = 0;  // message bytes
    uint32_t pieces = 0;
    uint64_t received = 0;  // bit per piece
    uint64_t started_ms = 0;
    std::string buffer;  // envelope + message, kEnvelopeBytes + kMaxBytes reserved
  };
  uint64_t timeout_ms_;
  std::vector<Slot> slots_;
  size_t pending_ = 0;  // slots in use
};

}  // namespace idnode::udp
