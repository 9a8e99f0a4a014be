#pragma once

// net::Endpoint as Boost.Asio names it, for the front ends built on Asio (Handle TCP, HTTP).
//
// Thread-safe: pure functions.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <string>

#include "resolver/net/endpoint.h"

namespace idnode::net {

inline boost::asio::ip::tcp::endpoint ToAsio(const Endpoint& endpoint) {
  if (endpoint.is_v4()) {
    return {boost::asio::ip::address_v4(endpoint.ipv4()), endpoint.port};
  }
  boost::asio::ip::address_v6::bytes_type bytes;
  std::copy(endpoint.address.begin(), endpoint.address.end(), bytes.begin());
  return {boost::asio::ip::address_v6(bytes), endpoint.port};
}

// The source a connection from `peer` counts against for per-source bounds, as 16 bytes: an IPv4
// address (mapped), or an IPv6 address's /64 (one host has a /64 of addresses).
inline std::string SourceKey(const boost::asio::ip::address& peer) {
  boost::asio::ip::address_v6::bytes_type bytes =
      peer.is_v4()
          ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, peer.to_v4()).to_bytes()
          : peer.to_v6().to_bytes();
  if (!peer.is_v4() && !peer.to_v6().is_v4_mapped()) std::fill(bytes.begin() + 8, bytes.end(), 0);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Opens, binds and listens `acceptor` on `endpoint`: [::] serves IPv4 clients too (as mapped
// addresses), any other IPv6 address only itself.
inline boost::system::error_code Listen(boost::asio::ip::tcp::acceptor& acceptor,
                                        const Endpoint& endpoint) {
  const boost::asio::ip::tcp::endpoint bound = ToAsio(endpoint);
  boost::system::error_code error;
  acceptor.open(bound.protocol(), error);
  if (!error) acceptor.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), error);
  if (!error && !endpoint.is_v4()) {
    acceptor.set_option(boost::asio::ip::v6_only(!endpoint.wildcard()), error);
  }
  if (!error) acceptor.bind(bound, error);
  if (!error) acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  return error;
}

}  // namespace idnode::net
