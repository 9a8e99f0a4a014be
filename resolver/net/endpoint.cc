#include "resolver/net/endpoint.h"

#include <arpa/inet.h>

#include <cstring>

#include "registry/base/strings.h"

namespace idnode::net {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ParsePort(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  uint32_t value = 0;
  for (char c : text) value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// An address without brackets or port, or false.
bool ParseHost(std::string_view text, Endpoint& out) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  const std::string host(text);
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    out = Endpoint(ntohl(v4.s_addr), 0);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), v6.s6_addr, 16);
    out = Endpoint::Ipv6(bytes, 0);
    return true;
  }
  return false;
}

}  // namespace

Endpoint::Endpoint(uint32_t ipv4, uint16_t port_number) : port(port_number) {
  std::memcpy(address.data(), kMappedPrefix.data(), kMappedPrefix.size());
  address[12] = static_cast<uint8_t>(ipv4 >> 24);
  address[13] = static_cast<uint8_t>(ipv4 >> 16);
  address[14] = static_cast<uint8_t>(ipv4 >> 8);
  address[15] = static_cast<uint8_t>(ipv4);
}

Endpoint Endpoint::Ipv6(const std::array<uint8_t, 16>& bytes, uint16_t port_number) {
  Endpoint out;
  out.address = bytes;
  out.port = port_number;
  return out;
}

bool Endpoint::is_v4() const {
  return std::memcmp(address.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

uint32_t Endpoint::ipv4() const {
  if (!is_v4()) return 0;
  return (uint32_t{address[12]} << 24) | (uint32_t{address[13]} << 16) |
         (uint32_t{address[14]} << 8) | uint32_t{address[15]};
}

bool Endpoint::wildcard() const {
  if (is_v4()) return ipv4() == 0;
  return address == std::array<uint8_t, 16>{};
}

bool Endpoint::loopback() const {
  if (is_v4()) return (ipv4() >> 24) == 127;
  std::array<uint8_t, 16> one{};
  one[15] = 1;
  return address == one;
}

socklen_t Endpoint::ToSockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(ipv4());
    in->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  std::memcpy(in6->sin6_addr.s6_addr, address.data(), 16);
  in6->sin6_port = htons(port);
  return sizeof(sockaddr_in6);
}

std::string Endpoint::AddressText() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    in_addr v4{htonl(ipv4())};
    inet_ntop(AF_INET, &v4, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, address.data(), text, sizeof text);
  }
  return text;
}

std::string Endpoint::ToString() const {
  return is_v4() ? StrCat(AddressText(), ":", port) : StrCat("[", AddressText(), "]:", port);
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view field, std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat(field, ": \"", text,
               "\" is not an address and port, e.g. 127.0.0.1:2641 or [2001:db8::10]:2641"));
  };
  Endpoint out;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return bad();  // [a.b.c.d]:port
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs brackets
  }
  if (!ParseHost(host, out) || !ParsePort(port, out.port)) return bad();
  return out;
}

absl::StatusOr<Endpoint> ParseAddress(std::string_view field, std::string_view text) {
  std::string_view host = text;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  Endpoint out;
  if (!ParseHost(host, out)) {
    return absl::InvalidArgumentError(StrCat(
        field, ": \"", text, "\" is not an IPv4 or IPv6 address, e.g. 192.0.2.10 or 2001:db8::10"));
  }
  return out;
}

Endpoint FromSockaddr(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return Endpoint(ntohl(in->sin_addr.s_addr), ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, 16);
    return Endpoint::Ipv6(bytes, ntohs(in6->sin6_port));
  }
  return Endpoint();
}

}  // namespace idnode::net
