#pragma once

// IPv4 endpoints as the Handle front ends, the site-info record and the clients name them:
// "HOST:PORT" with a dotted-quad host. One parser, so every setting and flag reports a bad
// address the same way, naming the setting.
//
// Thread-safe: pure functions.

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace idnode::net {

struct Ipv4Endpoint {
  uint32_t address = 0;  // host byte order
  uint16_t port = 0;

  bool wildcard() const { return address == 0; }
  bool loopback() const { return (address >> 24) == 127; }
  sockaddr_in sockaddr() const;
  std::string ToString() const;
};

// Parses "a.b.c.d:port" (port 0..65535). INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<Ipv4Endpoint> ParseIpv4Endpoint(std::string_view field, std::string_view text);
// Parses "a.b.c.d". INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<uint32_t> ParseIpv4Address(std::string_view field, std::string_view text);

Ipv4Endpoint FromSockaddr(const sockaddr_in& address);

}  // namespace idnode::net
