#pragma once

// A one-request HTTP/1.1 client for the node's outgoing calls (the statistics upload): POST a
// body to a URL over HTTPS (OpenSSL, the peer's certificate checked against a CA file or the
// system's store, and its name or address against the URL's host), or plain HTTP to a loopback
// address. Each call opens its own connection and gives up after `timeout` in all.
//
// Thread-safe: each call is independent.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace idnode::http {

struct Url {
  bool tls = true;
  std::string host;  // a DNS name or an IPv4 address
  uint16_t port = 443;
  std::string target = "/";  // path and query
};

// https://host[:port][/path] or http://host[:port][/path] where host is a loopback address.
// INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<Url> ParseUrl(std::string_view text, std::string_view field);

struct PostOptions {
  std::string ca_file;  // PEM CA certificates to trust; empty: the system's store
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10'000};
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
};

// UNAVAILABLE for a connection, TLS or protocol failure and DEADLINE_EXCEEDED for the timeout,
// each with a message naming the step; a reply with any status is OK (the caller judges it).
absl::StatusOr<HttpResult> Post(const Url& url, std::string_view content_type, std::string body,
                                const PostOptions& options);

}  // namespace idnode::http
