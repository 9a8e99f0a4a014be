#pragma once

// A blocking Handle protocol client over UDP or TCP, for operators (idctl resolve --udp/--tcp),
// the benchmarks and the tests: it builds requests, sends them, reassembles multi-packet UDP
// replies, and decodes what comes back.
//
// Thread-compatible: one HandleConnection per thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/identifier/value.h"
#include "resolver/net/endpoint.h"
#include "resolver/wire/wire.h"

namespace idnode::client {

enum class Transport : uint8_t { kUdp, kTcp };
std::string_view TransportName(Transport transport);

struct HandleRequest {
  uint32_t opcode = wire::opcode::kResolution;
  std::string handle;  // resolution; empty for get-site-info
  std::vector<uint32_t> indexes;
  std::vector<std::string> types;
  // What the Handle.net library sends by default: recursion, cache-certify, public only.
  uint32_t flags =
      wire::op_flag::kRecursive | wire::op_flag::kCacheCertify | wire::op_flag::kPublicOnly;
  uint32_t expiration = 0;
  uint8_t recursion_count = 0;  // a server resolving on a client's behalf sends its request's + 1
};

// Sets `out` to the whole message (envelope + message) of `request`; reusing `out` avoids
// allocating once its capacity suffices.
void EncodeRequest(const HandleRequest& request, uint32_t request_id, std::string& out);

struct HandleReply {
  wire::Envelope envelope;
  wire::Header header;
  std::string message;  // of an error reply
  std::string handle;   // of a resolution reply or a referral (302, 303: the referring record)
  std::vector<identifier::HandleValue>
      values;           // likewise (a referral's: HS_SITE, HS_SITE.PREFIX, ...)
  wire::SiteInfo site;  // of a get-site-info reply
  int pieces = 1;       // datagrams the reply came in (UDP)
};

// Decodes a whole reply. INVALID_ARGUMENT with the wire error when it is malformed.
absl::StatusOr<HandleReply> DecodeReply(std::string_view whole, uint32_t opcode);

// One socket to one server.
class HandleConnection {
 public:
  // UDP: a connected datagram socket; TCP: a connected stream (UNAVAILABLE naming the server
  // when it refuses or does not answer within `timeout`). From `source` (an IPv4 address in host
  // byte order, e.g. another loopback address) when it is not 0.
  static absl::StatusOr<HandleConnection> Open(Transport transport, const net::Endpoint& server,
                                               std::chrono::milliseconds timeout,
                                               uint32_t source = 0);
  HandleConnection(HandleConnection&& other) noexcept;
  HandleConnection& operator=(HandleConnection&& other) noexcept;
  ~HandleConnection();

  // Sends one whole message. Over UDP a message above 512 bytes goes as 492-byte pieces with
  // the truncated flag, as the protocol describes.
  absl::Status Send(std::string_view whole);
  // Waits up to `timeout` for the whole reply to `request_id` (replies to other ids are
  // skipped) and returns envelope + message. DEADLINE_EXCEEDED on timeout; UNAVAILABLE when a
  // TCP peer closes first.
  absl::StatusOr<std::string> Receive(uint32_t request_id, std::chrono::milliseconds timeout,
                                      int* pieces = nullptr);
  int fd() const { return fd_; }
  Transport transport() const { return transport_; }

 private:
  HandleConnection(Transport transport, int fd) : transport_(transport), fd_(fd) {}
  Transport transport_;
  int fd_ = -1;
  std::string buffer_;  // TCP bytes received past the last reply
};

// Sends `request` and waits for its reply: over UDP it resends every 500 ms (as Handle clients
// do) until `timeout`; over TCP it opens one connection for the exchange.
absl::StatusOr<HandleReply> Query(Transport transport, const net::Endpoint& server,
                                  const HandleRequest& request,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(3));

// The Handle protocol's name of a response code ("HANDLE_NOT_FOUND"), or "RC_<n>".
std::string ResponseCodeName(uint32_t code);

}  // namespace idnode::client
