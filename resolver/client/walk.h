#pragma once

// The client walk (docs/architecture.md §6): how a Handle client that knows only a top node finds
// the server that holds an identifier. For `P/S` it resolves 0.NA/P at the top node, following
// prefix referrals (303) to the site of a parent prefix; it takes the HS_SITE values of the answer
// (or, when the record names a service handle with HS_SERV instead, resolves that handle at the top
// node for its HS_SITE), chooses the server within the site by the Handle rule (SelectServer)
// and asks it for `P/S`, following service (302) and prefix (303) referrals. Every hop counts
// toward a limit, so a referral loop between misconfigured nodes ends with an error, never a
// hang.
//
// Thread-compatible: pure functions plus blocking queries on the calling thread.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "resolver/client/handle_client.h"

namespace idnode::client {

// The index of the server within `site` that answers for `handle`: MD5 of the site's hash part
// of the handle (prefix, suffix or all, by site.hash_option) in ASCII upper case; its last four
// bytes as a big-endian signed 32-bit number, made non-negative, modulo the number of servers.
// REQUIRES: site.servers is not empty.
size_t SelectServer(const wire::SiteInfo& site, std::string_view handle);

// The sites in `values` of type `type` (HS_SITE or HS_SITE.PREFIX). INVALID_ARGUMENT naming the
// value when one does not decode or lists no usable server (wire::SiteUnusableReason).
absl::StatusOr<std::vector<wire::SiteInfo>> SitesFromValues(
    const std::vector<identifier::HandleValue>& values, std::string_view type);

// The address of the chosen server's query interface over `transport`. FAILED_PRECONDITION
// when the server has no such interface (IPv4 or IPv6 alike).
absl::StatusOr<net::Endpoint> ServerEndpoint(const wire::SiteServer& server, Transport transport);

struct WalkStep {
  net::Endpoint server;
  std::string handle;      // what was asked
  uint32_t response_code;  // what came back
  std::string detail;      // e.g. "referred to site of 0.NA/88.123 (2 servers), chose server 2"
};

struct WalkOptions {
  Transport transport = Transport::kUdp;
  int max_hops = 8;                         // queries in all, the first included
  std::chrono::milliseconds timeout{3000};  // per query
  uint32_t flags = wire::op_flag::kCacheCertify | wire::op_flag::kPublicOnly;
  uint8_t recursion_count = 0;  // in every query's header
};

struct WalkResult {
  HandleReply reply;  // the last answer: success, or the error that ended the walk
  std::vector<WalkStep> trace;
};

// Walks from `top` to the answer for request.handle. An error status for a failed query, a
// malformed referral, or the hop limit (RESOURCE_EXHAUSTED); the trace so far is in `trace`.
absl::StatusOr<WalkResult> Walk(const net::Endpoint& top, const HandleRequest& request,
                                const WalkOptions& options, std::vector<WalkStep>* trace = nullptr);

}  // namespace idnode::client
