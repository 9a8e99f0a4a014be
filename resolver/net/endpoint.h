#pragma once

// Network endpoints as the Handle front ends, the site-info record and the clients name them:
// "HOST:PORT" with a dotted-quad host, or "[IPv6]:PORT". One parser, so every setting and flag
// reports a bad address the same way, naming the setting.
//
// Thread-safe: value types and pure functions.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace idnode::net {

// An IPv4 or IPv6 address and a port. The address is kept in 16 bytes, an IPv4 address in the
// IPv4-mapped form (::ffff:a.b.c.d), so that both compare and hash alike.
struct Endpoint {
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;

  Endpoint() = default;
  // An IPv4 endpoint; `ipv4` in host byte order.
  Endpoint(uint32_t ipv4, uint16_t port_number);
  static Endpoint Ipv6(const std::array<uint8_t, 16>& bytes, uint16_t port_number);

  bool is_v4() const;
  uint32_t ipv4() const;  // host byte order; 0 for IPv6
  int family() const { return is_v4() ? AF_INET : AF_INET6; }
  bool wildcard() const;  // 0.0.0.0 or ::
  bool loopback() const;  // 127.0.0.0/8 or ::1
  // The socket address (sockaddr_in or sockaddr_in6) and its length.
  socklen_t ToSockaddr(sockaddr_storage& out) const;
  std::string AddressText() const;  // "a.b.c.d" or the RFC 5952 form
  std::string ToString() const;     // "a.b.c.d:port" or "[v6]:port"
  bool operator==(const Endpoint&) const = default;
};

// Parses "a.b.c.d:port" or "[v6]:port" (port 0..65535). INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view field, std::string_view text);
// Parses "a.b.c.d" or an IPv6 address (with or without brackets); the port is 0.
absl::StatusOr<Endpoint> ParseAddress(std::string_view field, std::string_view text);

// The endpoint of a socket address (AF_INET or AF_INET6; anything else is the empty endpoint).
Endpoint FromSockaddr(const sockaddr* address);

}  // namespace idnode::net
