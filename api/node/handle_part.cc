#include "api/node/handle_part.h"

#include <set>

#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/federation/federation.h"
#include "registry/writer/submit.h"
#include "resolver/net/endpoint.h"
#include "resolver/wire/wire.h"

namespace idnode::node {
namespace {

// HS_SITE's 16 bytes: IPv4 in the form the reference library reads (wire::SiteAddress).
std::string SiteAddress(const net::Endpoint& endpoint) {
  return endpoint.is_v4() ? wire::SiteAddress(endpoint.ipv4())
                          : std::string(endpoint.address.begin(), endpoint.address.end());
}

// handle.mirrors: distinct HOST:PORT entries (IPv4 or [IPv6]) that clients can reach, as many as
// fit in one HS_SITE beside this node.
absl::Status CheckMirrors(const std::vector<std::string>& mirrors) {
  if (mirrors.size() + 1 > wire::kMaxSiteServers) {
    return settings::KeyError(
        "handle.mirrors",
        StrCat("lists ", mirrors.size(), " servers; a site holds ", wire::kMaxSiteServers,
               " with this node, so at most ", wire::kMaxSiteServers - 1));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < mirrors.size(); ++i) {
    const std::string key = StrCat("handle.mirrors[", i, "]");
    ASSIGN_OR_RETURN(net::Endpoint mirror, net::ParseEndpoint(key, mirrors[i]));
    if (mirror.wildcard() || mirror.port == 0) {
      return settings::KeyError(
          key, StrCat("\"", mirrors[i],
                      "\" must be an address and port clients can reach, not 0.0.0.0, "
                      ":: or port 0"));
    }
    if (!seen.insert(mirror.ToString()).second) {
      return settings::KeyError(key, StrCat("\"", mirrors[i], "\" is listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HandleSection::Check(const HandleSection& section) {
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("handle.listen", section.listen));
  if (!section.advertise.empty()) {
    ASSIGN_OR_RETURN(net::Endpoint advertise,
                     net::ParseAddress("handle.advertise", section.advertise));
    if (advertise.wildcard()) {
      return settings::KeyError("handle.advertise",
                                "must be an address clients can reach, not 0.0.0.0 or ::");
    }
  } else if (listen.wildcard()) {
    return settings::KeyError(
        "handle.advertise",
        "must be set when handle.listen is a wildcard address: HS_SITE tells clients where to "
        "send queries, and a wildcard is not an address they can use");
  }
  return CheckMirrors(section.mirrors);
}

uint32_t HandleSection::EffectiveUdpRateLimit() const {
  if (udp_rate_limit >= 0) return static_cast<uint32_t>(udp_rate_limit);
  auto endpoint = net::ParseEndpoint("handle.listen", listen);
  return endpoint.ok() && endpoint->loopback() ? 0 : kDefaultUdpRateLimit;
}

absl::StatusOr<std::unique_ptr<RecursorPart>> RecursorPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  if (!config.federation.recursion) return nullptr;
  ASSIGN_OR_RETURN(net::Endpoint top,
                   net::ParseEndpoint("federation.top_handle", config.federation.top_handle));
  std::unique_ptr<RecursorPart> part(new RecursorPart(context));
  part->cache_ = std::make_unique<query::RecursionCache>(config.federation.recursion_cache_entries);
  recursion::RecursorOptions options;
  options.top = top;
  options.workers = static_cast<int>(config.federation.recursion_workers);
  options.max_pending = config.federation.recursion_max_pending;
  options.timeout = std::chrono::milliseconds(config.federation.recursion_timeout_ms);
  options.negative_ttl = std::chrono::milliseconds(config.federation.recursion_negative_ttl_ms);
  part->recursor_ = std::make_unique<recursion::Recursor>(options, part->cache_.get());
  context.recursion = {part->recursor_.get(), part->cache_.get(),
                       static_cast<uint8_t>(config.federation.recursion_limit)};
  return part;
}

absl::Status RecursorPart::Start() {
  if (context_.query_processor == nullptr) {
    return absl::FailedPreconditionError("recursion needs the Handle front ends");
  }
  recursor_->Start(*context_.query_processor);
  return absl::OkStatus();
}

void RecursorPart::Drain(std::chrono::steady_clock::time_point) { recursor_->Stop(); }

void RecursorPart::DescribeStats(MetricSink& sink) const {
  DescribeRows(sink, recursion::kRecursorStatRows, recursor_->stats());
  DescribeRows(sink, query::kRecursionCacheRows, cache_->stats());
}

absl::StatusOr<std::unique_ptr<HandlePart>> HandlePart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("handle.listen", config.handle.listen));
  udp::UdpOptions udp_options;
  udp_options.listen = listen;
  udp_options.workers = static_cast<int>(config.handle.udp_workers);
  udp_options.max_reply_bytes = config.handle.udp_max_reply_bytes;
  udp_options.rate_limit = config.handle.EffectiveUdpRateLimit();
  udp_options.rate_burst = static_cast<uint32_t>(config.handle.udp_rate_burst);
  udp_options.realtime_priority = static_cast<int>(config.handle.realtime_priority);
  tcp::TcpOptions tcp_options;
  tcp_options.workers = static_cast<int>(config.handle.tcp_workers);
  tcp_options.max_connections = config.handle.tcp_max_connections;
  tcp_options.max_message_bytes = config.handle.tcp_max_message_bytes;
  tcp_options.max_per_source_percent = config.handle.tcp_max_per_source_percent;
  tcp_options.max_pending_reply_bytes = config.handle.tcp_max_pending_reply_bytes;
  tcp_options.idle_timeout = std::chrono::milliseconds(config.handle.tcp_idle_timeout_ms);
  tcp_options.request_timeout = std::chrono::milliseconds(config.handle.tcp_request_timeout_ms);
  tcp_options.write_timeout = std::chrono::milliseconds(config.handle.tcp_write_timeout_ms);
  tcp_options.realtime_priority = static_cast<int>(config.handle.realtime_priority);
  std::unique_ptr<HandlePart> part(new HandlePart());
  part->store_ = context.store;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(part->udp_, udp::UdpServer::Bind(udp_options));
    tcp_options.listen = listen;
    tcp_options.listen.port = part->udp_->port();
    auto bound = tcp::TcpServer::Bind(tcp_options);
    if (bound.ok()) {
      part->tcp_ = std::move(*bound);
      break;
    }
    part->udp_.reset();
    if (listen.port != 0 || attempt == 20) return bound.status();
  }
  RETURN_IF_ERROR(part->MakeSite(context, listen));

  const uint32_t now_seconds = static_cast<uint32_t>(context.clock.NowMillis() / 1000);
  query::QueryConfig query_config{
      context.node_prefix,
      identifier::IdentifierOptions{config.registry.case_sensitive_suffix},
      context.site_info.serial,
      context.site_bytes,
      config.node.top(),
      federation::PrefixRecordValues(context.site_bytes, true, now_seconds),
      federation::PrefixRecordValues(context.site_bytes, false, now_seconds),
      context.recursion};
  part->processor_ = std::make_unique<query::QueryProcessor>(std::move(query_config));
  context.query_processor = part->processor_.get();
  return part;
}

// This node's HS_SITE: its advertised address and bound port, then each mirror. The serial goes
// up whenever what the site advertises changes (addresses, ports, mirrors, description, keys),
// so that clients holding the old one learn of it.
absl::Status HandlePart::MakeSite(NodeContext& context, const net::Endpoint& listen) {
  const NodeConfig& config = context.config;
  net::Endpoint advertise = listen;
  if (!config.handle.advertise.empty()) {
    ASSIGN_OR_RETURN(advertise, net::ParseAddress("handle.advertise", config.handle.advertise));
  }
  const uint32_t port = udp_->port();
  wire::SiteInfo& site = context.site_info;
  site = wire::SiteInfo{};
  site.attributes.emplace_back("desc", config.handle.site_description.empty()
                                           ? StrCat("idnode ", context.node_prefix)
                                           : config.handle.site_description);
  wire::SiteServer server;
  server.id = 1;
  server.address = SiteAddress(advertise);
  server.interfaces = {{wire::site::kQuery, wire::site::kUdp, port},
                       {wire::site::kQuery, wire::site::kTcp, port}};
  site.servers.push_back(std::move(server));
  for (const std::string& text : config.handle.mirrors) {
    ASSIGN_OR_RETURN(net::Endpoint mirror, net::ParseEndpoint("handle.mirrors", text));
    wire::SiteServer& added = site.servers.emplace_back();
    added.id = static_cast<uint32_t>(site.servers.size());
    added.address = SiteAddress(mirror);
    added.interfaces = {{wire::site::kQuery, wire::site::kUdp, mirror.port},
                        {wire::site::kQuery, wire::site::kTcp, mirror.port}};
  }
  std::string numbered;
  site.serial = 0;
  wire::EncodeSiteInfo(site, numbered);
  ASSIGN_OR_RETURN(site.serial,
                   SubmitAndWait<absl::StatusOr<uint16_t>>(*context.writer, [&](auto done) {
                     return federation::MakeSiteSerialOp(numbered, std::move(done));
                   }));
  context.site_bytes.clear();
  wire::EncodeSiteInfo(site, context.site_bytes);
  return absl::OkStatus();
}

absl::Status HandlePart::Start() {
  RETURN_IF_ERROR(udp_->Start(*store_, *processor_));
  return tcp_->Start(*store_, *processor_);
}

void HandlePart::StopAccepting() {
  udp_->StopReading();
  tcp_->StopAccepting();
}

void HandlePart::Close() {
  udp_->Stop();
  tcp_->Stop();
}

void HandlePart::DescribeStats(MetricSink& sink) const {
  stats::DescribeRequests(sink, stats::Transport::kUdp, udp_->counters());
  stats::DescribeRequests(sink, stats::Transport::kTcp, tcp_->counters());
  DescribeRows(sink, tcp::kTcpStatRows, tcp_->stats());
  const Label udp[] = {{"transport", "udp"}};
  const Label tcp[] = {{"transport", "tcp"}};
  DescribeRows(sink, net::kWorkerHealthRows, udp_->health(), udp);
  DescribeRows(sink, net::kWorkerHealthRows, tcp_->health(), tcp);
}

void HandlePart::CheckHealth(HealthReport& report) const {
  for (const auto& [check, health] :
       {std::pair{"handle_udp", udp_->health()}, std::pair{"handle_tcp", tcp_->health()}}) {
    if (health.failing > 0) {
      report.Fail(check, StrCat(health.failing, " worker(s) failing: ", health.last_error));
    } else {
      report.Ok(check);
    }
  }
}

void HandlePart::ListGuards(std::vector<const ExceptionGuard*>& guards) const {
  guards.push_back(&udp_->guard());
  guards.push_back(&tcp_->guard());
}

void HandlePart::AddResolutions(stats::ResolutionTotals& totals) const {
  totals.node[static_cast<size_t>(stats::Transport::kUdp)].Add(udp_->counters());
  totals.node[static_cast<size_t>(stats::Transport::kTcp)].Add(tcp_->counters());
  udp_->ForEachPrefix(totals.PrefixAdder(stats::Transport::kUdp));
  tcp_->ForEachPrefix(totals.PrefixAdder(stats::Transport::kTcp));
}

}  // namespace idnode::node
