#include "resolver/net/endpoint.h"

#include <arpa/inet.h>

#include "registry/base/strings.h"

namespace idnode::net {

sockaddr_in Ipv4Endpoint::sockaddr() const {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_addr.s_addr = htonl(address);
  out.sin_port = htons(port);
  return out;
}

std::string Ipv4Endpoint::ToString() const {
  return StrCat(address >> 24, ".", (address >> 16) & 0xff, ".", (address >> 8) & 0xff, ".",
                address & 0xff, ":", port);
}

absl::StatusOr<uint32_t> ParseIpv4Address(std::string_view field, std::string_view text) {
  in_addr parsed{};
  if (text.empty() || text.size() > 15 ||
      inet_pton(AF_INET, std::string(text).c_str(), &parsed) != 1) {
    return absl::InvalidArgumentError(
        StrCat(field, ": \"", text, "\" is not an IPv4 address, e.g. 192.0.2.10"));
  }
  return ntohl(parsed.s_addr);
}

absl::StatusOr<Ipv4Endpoint> ParseIpv4Endpoint(std::string_view field, std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat(field, ": \"", text, "\" is not an IPv4 HOST:PORT, e.g. 127.0.0.1:2641"));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad();
  }
  uint32_t port = 0;
  for (char c : port_text) port = port * 10 + static_cast<uint32_t>(c - '0');
  if (port > 65535) return bad();
  auto address = ParseIpv4Address(field, text.substr(0, colon));
  if (!address.ok()) return bad();
  return Ipv4Endpoint{*address, static_cast<uint16_t>(port)};
}

Ipv4Endpoint FromSockaddr(const sockaddr_in& address) {
  return Ipv4Endpoint{ntohl(address.sin_addr.s_addr), ntohs(address.sin_port)};
}

}  // namespace idnode::net
