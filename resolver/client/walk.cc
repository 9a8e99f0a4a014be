#include "resolver/client/walk.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"

namespace idnode::client {
namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  identifier::AsciiUpperInPlace(out);
  return out;
}

bool IsPrefixHandle(std::string_view handle) {
  return handle.size() > identifier::kNaPrefix.size() &&
         handle[identifier::kNaPrefix.size()] == '/' &&
         Upper(handle.substr(0, identifier::kNaPrefix.size())) == identifier::kNaPrefix;
}

// The handle the first HS_SERV value names, or "".
std::string ServiceHandle(const std::vector<identifier::HandleValue>& values) {
  for (const identifier::HandleValue& value : values) {
    if (Upper(value.type) == identifier::kServiceType && !value.data.empty()) return value.data;
  }
  return "";
}

bool IsReferral(uint32_t code) {
  return code == wire::rc::kServiceReferral || code == wire::rc::kPrefixReferral;
}

}  // namespace

size_t SelectServer(const wire::SiteInfo& site, std::string_view handle) {
  if (site.servers.size() <= 1) return 0;
  const size_t slash = handle.find('/');
  std::string_view part = handle;
  if (site.hash_option == wire::site::kHashByPrefix) {
    part = handle.substr(0, slash);
  } else if (site.hash_option == wire::site::kHashBySuffix) {
    part = slash == std::string_view::npos ? std::string_view() : handle.substr(slash + 1);
  }
  const std::string upper = Upper(part);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(upper.data(), upper.size(), digest, &length, EVP_md5(), nullptr);
  const int32_t last = static_cast<int32_t>(
      (uint32_t{digest[length - 4]} << 24) | (uint32_t{digest[length - 3]} << 16) |
      (uint32_t{digest[length - 2]} << 8) | uint32_t{digest[length - 1]});
  return static_cast<size_t>(std::llabs(int64_t{last}) % static_cast<int64_t>(site.servers.size()));
}

absl::StatusOr<std::vector<wire::SiteInfo>> SitesFromValues(
    const std::vector<identifier::HandleValue>& values, std::string_view type) {
  std::vector<wire::SiteInfo> sites;
  for (const identifier::HandleValue& value : values) {
    if (Upper(value.type) != type) continue;
    wire::SiteInfo site;
    if (wire::WireError error = wire::DecodeSiteInfo(value.data, site);
        error != wire::WireError::kOk) {
      return absl::InvalidArgumentError(StrCat("referral value ", value.index, " (", value.type,
                                               ") is malformed: ", wire::WireErrorMessage(error)));
    }
    if (std::string why = wire::SiteUnusableReason(site); !why.empty()) {
      return absl::InvalidArgumentError(
          StrCat("referral value ", value.index, " (", value.type, ") is unusable: ", why));
    }
    sites.push_back(std::move(site));
  }
  return sites;
}

absl::StatusOr<net::Endpoint> ServerEndpoint(const wire::SiteServer& server, Transport transport) {
  const std::string& a = server.address;
  if (a.size() != 16) {
    return absl::FailedPreconditionError(
        StrCat("server ", server.id, " has a ", a.size(), "-byte address, not 16"));
  }
  uint32_t ipv4 = 0;
  net::Endpoint endpoint;
  if (wire::SiteAddressIpv4(a, ipv4)) {
    endpoint = net::Endpoint(ipv4, 0);
  } else {
    std::array<uint8_t, 16> bytes;
    std::copy(a.begin(), a.end(), bytes.begin());
    endpoint = net::Endpoint::Ipv6(bytes, 0);
  }
  const uint8_t protocol = transport == Transport::kUdp ? wire::site::kUdp : wire::site::kTcp;
  for (const wire::SiteInterface& interface : server.interfaces) {
    if ((interface.type & wire::site::kQuery) == 0 || interface.protocol != protocol) continue;
    if (interface.port == 0 || interface.port > 65535) continue;
    endpoint.port = static_cast<uint16_t>(interface.port);
    return endpoint;
  }
  return absl::FailedPreconditionError(StrCat("server ", server.id, " at ", wire::AddressText(a),
                                              " has no ", TransportName(transport),
                                              " query interface"));
}

absl::StatusOr<WalkResult> Walk(const net::Endpoint& top, const HandleRequest& request,
                                const WalkOptions& options, std::vector<WalkStep>* trace_out) {
  WalkResult result;
  std::vector<WalkStep>& trace = trace_out != nullptr ? *trace_out : result.trace;
  trace.clear();
  int hops = 0;
  // Asks `server` for `handle` (the request's filters apply to the identifier only).
  auto ask = [&](const net::Endpoint& server, const std::string& handle,
                 bool identifier) -> absl::StatusOr<HandleReply> {
    if (++hops > options.max_hops) {
      return absl::ResourceExhaustedError(StrCat("gave up after ", options.max_hops,
                                                 " queries (a referral loop?) asking ",
                                                 server.ToString(), " for ", handle));
    }
    HandleRequest query;
    query.handle = handle;
    query.flags = options.flags;
    query.recursion_count = options.recursion_count;
    if (identifier) {
      query.indexes = request.indexes;
      query.types = request.types;
    }
    auto reply = Query(options.transport, server, query, options.timeout);
    if (!reply.ok()) {
      trace.push_back(WalkStep{server, handle, 0, std::string(ToStd(reply.status().message()))});
      return reply.status();
    }
    trace.push_back(WalkStep{server, handle, reply->header.response_code, ""});
    return reply;
  };
  // The next server: from the sites in `values` of the preferred type (falling back to HS_SITE),
  // the one SelectServer picks for `handle`.
  auto next_server = [&](const HandleReply& reply, std::string_view type,
                         const std::string& handle) -> absl::StatusOr<net::Endpoint> {
    auto sites = SitesFromValues(reply.values, type);
    if (sites.ok() && sites->empty() && type != identifier::kSiteType) {
      sites = SitesFromValues(reply.values, identifier::kSiteType);
    }
    if (!sites.ok()) return sites.status();
    std::string site_of = reply.handle;
    if (sites->empty()) {
      // A service handle (HS_SERV) instead: its own HS_SITE serves the prefix. It is resolved at
      // the top node, one level deep (a service handle's own HS_SERV is not followed).
      const std::string service = ServiceHandle(reply.values);
      if (!service.empty()) {
        trace.back().detail = StrCat("service handle ", service);
        auto served = ask(top, service, false);
        if (!served.ok()) return served.status();
        if (served->header.response_code != wire::rc::kSuccess) {
          return absl::FailedPreconditionError(
              StrCat("service handle ", service, " named by ", reply.handle, ": ",
                     ResponseCodeName(served->header.response_code),
                     served->message.empty() ? "" : " (" + served->message + ")"));
        }
        sites = SitesFromValues(served->values, identifier::kSiteType);
        if (!sites.ok()) return sites.status();
        site_of = service;
      }
    }
    if (sites->empty()) {
      return absl::InvalidArgumentError(StrCat("the answer for ", site_of, " carries no ", type,
                                               " value (nor ", identifier::kServiceType, ")"));
    }
    const wire::SiteInfo& site = sites->front();
    const size_t chosen = SelectServer(site, handle);
    auto endpoint = ServerEndpoint(site.servers[chosen], options.transport);
    if (!endpoint.ok()) return endpoint.status();
    trace.back().detail = StrCat("site of ", site_of, " (", site.servers.size(),
                                 site.servers.size() == 1 ? " server" : " servers",
                                 "), chose server ", chosen + 1, " ", endpoint->ToString());
    return endpoint;
  };

  net::Endpoint server = top;
  const size_t slash = request.handle.find('/');
  if (!IsPrefixHandle(request.handle) && slash != std::string::npos) {
    // 1. Where is the prefix served? Ask the top node for its prefix record.
    const std::string prefix_handle =
        StrCat(identifier::kNaPrefix, "/", request.handle.substr(0, slash));
    for (;;) {
      auto reply = ask(server, prefix_handle, false);
      if (!reply.ok()) return reply.status();
      const uint32_t code = reply->header.response_code;
      if (code == wire::rc::kSuccess || IsReferral(code)) {
        const std::string_view type =
            code == wire::rc::kPrefixReferral ? identifier::kPrefixSiteType : identifier::kSiteType;
        // A referral moves the prefix question on; a success answers it.
        auto next =
            next_server(*reply, type, code == wire::rc::kSuccess ? request.handle : prefix_handle);
        if (!next.ok()) return next.status();
        server = *next;
        if (code == wire::rc::kSuccess) break;
        continue;
      }
      result.reply = *std::move(reply);
      if (code == wire::rc::kHandleNotFound) {
        result.reply.message =
            StrCat("prefix ", request.handle.substr(0, slash), " is not registered (",
                   prefix_handle, " not found at ", server.ToString(),
                   result.reply.message.empty() ? "" : ": " + result.reply.message, ")");
      }
      if (trace_out != nullptr) result.trace = trace;
      return result;
    }
  }
  // 2. Ask the serving site for the identifier, following referrals.
  for (;;) {
    auto reply = ask(server, request.handle, true);
    if (!reply.ok()) return reply.status();
    const uint32_t code = reply->header.response_code;
    if (!IsReferral(code)) {
      result.reply = *std::move(reply);
      if (trace_out != nullptr) result.trace = trace;
      return result;
    }
    auto next = next_server(
        *reply,
        code == wire::rc::kPrefixReferral ? identifier::kPrefixSiteType : identifier::kSiteType,
        request.handle);
    if (!next.ok()) return next.status();
    server = *next;
  }
}

}  // namespace idnode::client
