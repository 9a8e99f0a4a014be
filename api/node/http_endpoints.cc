#include "api/node/http_endpoints.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/grpc/convert.h"
#include "api/grpc/json.h"
#include "api/http/dashboard.h"
#include "api/http/prometheus.h"
#include "api/node/node.h"
#include "registry/base/strings.h"
#include "registry/federation/federation.h"
#include "registry/stats/metrics.h"
#include "registry/stats/upload.h"

#ifndef IDNODE_VERSION
#define IDNODE_VERSION "unknown"
#endif

namespace idnode {
namespace {

// How long /healthz fails after a thread's catch-all caught an exception.
constexpr std::chrono::seconds kRecentException{60};

using http::FamilyInfo;
using http::MetricType;

// Every family /metrics serves, declared once. Counters are since the process started; the
// durable per-day counts are in /api/stats.
constexpr FamilyInfo kBuildInfo{"idnode_build_info", MetricType::kGauge,
                                "Always 1; the version and node prefix are labels."};
constexpr FamilyInfo kStartTime{"idnode_start_time_seconds", MetricType::kGauge,
                                "When this process started, in seconds since the Unix epoch."};
constexpr FamilyInfo kRequests{
    "idnode_resolution_requests_total", MetricType::kCounter,
    "Resolution requests since the process started, by transport and outcome."};
constexpr FamilyInfo kTcpAccepted{"idnode_tcp_connections_accepted_total", MetricType::kCounter,
                                  "Handle TCP connections accepted."};
constexpr FamilyInfo kTcpRejected{
    "idnode_tcp_connections_rejected_total", MetricType::kCounter,
    "Handle TCP connections closed at once: over the cap with none to give way."};
constexpr FamilyInfo kTcpIdleClosed{"idnode_tcp_connections_idle_closed_total",
                                    MetricType::kCounter,
                                    "Handle TCP connections closed after the idle timeout."};
constexpr FamilyInfo kTcpClosed{
    "idnode_tcp_connections_closed_total", MetricType::kCounter,
    "Handle TCP connections the node closed to keep its bounds, by reason: evicted (gave way to "
    "a newcomer at the cap), source_share (its source address held its share), request_timeout "
    "(a request did not arrive whole in time), write_timeout (the client did not take its "
    "replies in time)."};
constexpr FamilyInfo kTcpReadPauses{
    "idnode_tcp_read_pauses_total", MetricType::kCounter,
    "Times the node stopped reading a Handle TCP connection until the client took its replies."};
constexpr FamilyInfo kWorkerErrors{
    "idnode_handle_worker_errors_total", MetricType::kCounter,
    "Failures of the Handle front ends' workers, by transport and kind: open (a worker could "
    "not open its read transaction; it tries again), renew (a read transaction could not be "
    "renewed; the requests of that batch or connection were not answered) and send (the kernel "
    "refused a reply). Exceptions: idnode_thread_exceptions_total."};
constexpr FamilyInfo kWorkersFailing{
    "idnode_handle_workers_failing", MetricType::kGauge,
    "Handle front-end workers whose last attempt failed (0 when healthy)."};
constexpr FamilyInfo kMapAdoptions{
    "idnode_store_map_adoptions_total", MetricType::kCounter,
    "Times the store adopted a map size another process gave it (MDB_MAP_RESIZED)."};
constexpr FamilyInfo kTcpOpen{"idnode_tcp_connections_open", MetricType::kGauge,
                              "Handle TCP connections open now."};
constexpr FamilyInfo kWriterCommits{"idnode_writer_commits_total", MetricType::kCounter,
                                    "Write transactions committed."};
constexpr FamilyInfo kWriterItems{"idnode_writer_items_total", MetricType::kCounter,
                                  "Write operations committed."};
constexpr FamilyInfo kWriterFailed{"idnode_writer_failed_commits_total", MetricType::kCounter,
                                   "Write transactions that failed to commit."};
constexpr FamilyInfo kWriterQueuedBytes{
    "idnode_writer_queued_bytes", MetricType::kGauge,
    "Bytes of records queued for commit (bounded by registry.max_queued_mib)."};
constexpr FamilyInfo kWriterHeapTrims{
    "idnode_writer_heap_trims_total", MetricType::kCounter,
    "Times the writer returned freed memory to the system after a load drained."};
constexpr FamilyInfo kWriterUntrimmedBytes{
    "idnode_writer_untrimmed_bytes", MetricType::kGauge,
    "Bytes of records committed since the last heap trim (trimmed once idle past 16 MiB)."};
constexpr FamilyInfo kDiskFull{
    "idnode_store_disk_full", MetricType::kGauge,
    "1 while the disk holding the store is full and only deletions are accepted."};
constexpr FamilyInfo kDiskFullRefused{
    "idnode_store_disk_full_refused_total", MetricType::kCounter,
    "Writes refused (RESOURCE_EXHAUSTED) because the disk holding the store was full."};
constexpr FamilyInfo kReserveHeld{
    "idnode_store_reserve_held", MetricType::kGauge,
    "1 while the node holds its disk reserve (storage.reserve_mib; 0 once released)."};
constexpr FamilyInfo kThreadExceptions{
    "idnode_thread_exceptions_total", MetricType::kCounter,
    "Exceptions a long-lived thread caught and survived, by thread (each is logged)."};
constexpr FamilyInfo kWriterGrowths{"idnode_writer_map_growths_total", MetricType::kCounter,
                                    "Times the store's memory map was grown."};
constexpr FamilyInfo kFlushes{"idnode_stats_flushes_total", MetricType::kCounter,
                              "Resolution counts flushed to the store."};
constexpr FamilyInfo kFlushFailures{"idnode_stats_flush_failures_total", MetricType::kCounter,
                                    "Flushes of resolution counts that failed (retried)."};
constexpr FamilyInfo kLastFlush{"idnode_stats_last_flush_timestamp_seconds", MetricType::kGauge,
                                "When the last successful flush began; 0 before the first."};
constexpr FamilyInfo kRegistered{"idnode_identifiers_registered", MetricType::kGauge,
                                 "Identifiers registered on this node now."};
constexpr FamilyInfo kCreatedToday{
    "idnode_identifiers_created_today", MetricType::kGauge,
    "Identifiers newly registered today (the reporting day, in the reporting offset)."};
constexpr FamilyInfo kResolutionsToday{
    "idnode_resolutions_today", MetricType::kGauge,
    "Resolutions counted toward the thresholds today, as flushed to the store."};
constexpr FamilyInfo kThresholdMeasured{"idnode_threshold_measured", MetricType::kGauge,
                                        "The value each policy threshold is judged on."};
constexpr FamilyInfo kThresholdTarget{"idnode_threshold_target", MetricType::kGauge,
                                      "The target each policy threshold must reach or exceed."};
constexpr FamilyInfo kThresholdMet{"idnode_threshold_met", MetricType::kGauge,
                                   "1 when the policy threshold is met, else 0."};
constexpr FamilyInfo kUploadPending{"idnode_upload_pending_reports", MetricType::kGauge,
                                    "Statistics reports spooled and not yet delivered."};
constexpr FamilyInfo kUploadDelivered{"idnode_upload_delivered_total", MetricType::kCounter,
                                      "Statistics reports the authority's receiver accepted."};
constexpr FamilyInfo kUploadFailures{"idnode_upload_failures_total", MetricType::kCounter,
                                     "Attempts to deliver a statistics report that failed."};
constexpr FamilyInfo kUpwardPending{"idnode_federation_pending_registrations", MetricType::kGauge,
                                    "Prefix registrations and removals waiting for the top node."};
constexpr FamilyInfo kUpwardDelivered{
    "idnode_federation_acknowledged_total", MetricType::kCounter,
    "Prefix registrations and removals the top node acknowledged."};
constexpr FamilyInfo kUpwardFailures{"idnode_federation_failures_total", MetricType::kCounter,
                                     "Attempts to register with the top node that failed."};
constexpr FamilyInfo kFederationRequests{
    "idnode_federation_requests_total", MetricType::kCounter,
    "Top node: prefix registrations from nodes below, by outcome."};
constexpr FamilyInfo kRecursionWalks{
    "idnode_recursion_walks_total", MetricType::kCounter,
    "Recursive requests resolved through the top node (cache misses), by how the walk ended."};
constexpr FamilyInfo kRecursionRefused{
    "idnode_recursion_refused_total", MetricType::kCounter,
    "Recursive requests answered 'server too busy' because too many were waiting."};
constexpr FamilyInfo kRecursionPending{"idnode_recursion_pending", MetricType::kGauge,
                                       "Recursive requests waiting for a walk."};
constexpr FamilyInfo kRecursionCache{"idnode_recursion_cache_lookups_total", MetricType::kCounter,
                                     "Recursion cache lookups, by result (hit, miss)."};
constexpr FamilyInfo kRecursionCacheEntries{"idnode_recursion_cache_entries", MetricType::kGauge,
                                            "Answers the recursion cache holds."};
constexpr FamilyInfo kHttpRequests{"idnode_http_requests_total", MetricType::kCounter,
                                   "Requests answered on this HTTP port."};
constexpr FamilyInfo kAuthFailures{
    "idnode_auth_failures_total", MetricType::kCounter,
    "gRPC calls refused at authentication, by result: refused (a missing, unknown, revoked or "
    "expired token; each is logged) and throttled (refused without a look at the token because "
    "the source had failed too often)."};
constexpr FamilyInfo kHttpClosed{
    "idnode_http_connections_closed_total", MetricType::kCounter,
    "HTTP connections the node closed to keep its bounds, by reason: evicted (gave way to a "
    "newcomer), rejected (a newcomer at the cap for which none could give way), request_timeout "
    "(a request did not arrive whole in time)."};

http::Response Error(unsigned status, std::string_view message) {
  // Replacing what is not UTF-8 (the server refuses such paths and parameters; this is the last
  // line of defence) rather than throwing.
  return http::Response::Json(
      status, nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace) +
                  "\n");
}

absl::StatusOr<bool> ParseBool(const std::string& text, std::string_view field) {
  if (text == "true" || text == "1" || text.empty()) return true;
  if (text == "false" || text == "0") return false;
  return absl::InvalidArgumentError(StrCat(field, ": \"", text, "\" is not true or false"));
}

}  // namespace

HttpEndpoints::HttpEndpoints(const Node& node, const Clock& clock, Settings settings)
    : node_(node), clock_(clock), settings_(std::move(settings)), started_ms_(clock.NowMillis()) {}

http::Response HttpEndpoints::Handle(const http::Request& request) const {
  const bool has_query = !request.query.empty();
  if (request.path == "/metrics" && !has_query) return Metrics();
  if (request.path == "/api/stats") return ApiStats(request);
  if (request.path == "/healthz" && !has_query) return Health();
  if (request.path == "/dashboard" || request.path == "/") {
    return http::Response{200, "text/html; charset=utf-8", std::string(http::kDashboardHtml)};
  }
  if (request.path == "/metrics" || request.path == "/healthz") {
    return Error(400, StrCat(request.path, " takes no parameters"));
  }
  return Error(404, StrCat("no such page: ", request.path,
                           " (try /dashboard, /api/stats, /metrics or /healthz)"));
}

absl::StatusOr<stats::Report> HttpEndpoints::BuildReport(
    const store::ReadTxn& txn, const stats::ReportOptions& options) const {
  return stats::BuildReport(txn, clock_.NowMillis(), settings_.utc_offset_minutes,
                            settings_.thresholds, options);
}

http::Response HttpEndpoints::ApiStats(const http::Request& request) const {
  for (const auto& [key, value] : request.query) {
    if (key != "from" && key != "to" && key != "by_prefix") {
      return Error(400, StrCat("unknown parameter \"", key, "\" (from, to, by_prefix)"));
    }
  }
  static const std::string kEmpty;
  const std::string* from = request.Param("from");
  const std::string* to = request.Param("to");
  bool by_prefix = false;
  if (const std::string* flag = request.Param("by_prefix")) {
    auto parsed = ParseBool(*flag, "by_prefix");
    if (!parsed.ok()) return Error(400, ToStd(parsed.status().message()));
    by_prefix = *parsed;
  }
  auto options = stats::ParseReportOptions(from ? *from : kEmpty, to ? *to : kEmpty, by_prefix);
  if (!options.ok()) return Error(400, ToStd(options.status().message()));
  auto txn = node_.store().BeginRead();
  if (!txn.ok()) return Error(500, ToStd(txn.status().message()));
  auto report = BuildReport(*txn, *options);
  if (!report.ok()) {
    const bool invalid = report.status().code() == absl::StatusCode::kInvalidArgument;
    return Error(invalid ? 400 : 500, ToStd(report.status().message()));
  }
  v1::StatsReport proto;
  api::ToProto(*report, &proto);
  proto.set_node_prefix(settings_.node_prefix);
  return http::Response::Json(200, api::ToJson(proto) + "\n");
}

http::Response HttpEndpoints::Metrics() const {
  auto txn = node_.store().BeginRead();
  if (!txn.ok()) return Error(500, ToStd(txn.status().message()));
  auto report = BuildReport(*txn, stats::ReportOptions{});
  if (!report.ok()) return Error(500, ToStd(report.status().message()));
  http::Exposition out;
  out.Add(kBuildInfo, {{"version", IDNODE_VERSION}, {"node_prefix", settings_.node_prefix}},
          uint64_t{1});
  out.Add(kStartTime, {}, static_cast<double>(started_ms_) / 1000.0);

  const ResolutionCounters counters = node_.resolution_counters();
  const std::pair<stats::Transport, const resolver::QueryCounters*> transports[] = {
      {stats::Transport::kUdp, &counters.udp},
      {stats::Transport::kTcp, &counters.tcp},
      {stats::Transport::kGrpc, &counters.grpc}};
  for (const auto& [transport, counts] : transports) {
    for (size_t i = 0; i < stats::kOutcomeCount; ++i) {
      const auto outcome = static_cast<stats::Outcome>(i);
      out.Add(kRequests,
              {{"transport", stats::TransportName(transport)},
               {"outcome", stats::OutcomeName(outcome)}},
              (*counts)[outcome]);
    }
  }
  out.Add(kTcpAccepted, {}, counters.tcp_connections.accepted);
  out.Add(kTcpRejected, {}, counters.tcp_connections.rejected);
  out.Add(kTcpIdleClosed, {}, counters.tcp_connections.idle_closed);
  const resolver::TcpStats& tcp = counters.tcp_connections;
  out.Add(kTcpClosed, {{"reason", "evicted"}}, tcp.evicted);
  out.Add(kTcpClosed, {{"reason", "source_share"}}, tcp.source_rejected);
  out.Add(kTcpClosed, {{"reason", "request_timeout"}}, tcp.request_timeouts);
  out.Add(kTcpClosed, {{"reason", "write_timeout"}}, tcp.write_timeouts);
  out.Add(kTcpReadPauses, {}, tcp.read_pauses);
  out.Add(kTcpOpen, {}, counters.tcp_connections.open);
  const std::pair<const char*, net::WorkerHealthStats> handle_health[] = {
      {"udp", node_.udp_health()}, {"tcp", node_.tcp_health()}};
  for (const auto& [transport, health] : handle_health) {
    out.Add(kWorkerErrors, {{"transport", transport}, {"kind", "open"}}, health.open_failures);
    out.Add(kWorkerErrors, {{"transport", transport}, {"kind", "renew"}}, health.renew_failures);
    out.Add(kWorkerErrors, {{"transport", transport}, {"kind", "send"}}, health.send_failures);
  }
  for (const auto& [transport, health] : handle_health) {
    out.Add(kWorkersFailing, {{"transport", transport}}, health.failing);
  }
  out.Add(kMapAdoptions, {}, node_.store().map_adoptions());

  const WriterStats writer = node_.writer_stats();
  out.Add(kWriterCommits, {}, writer.commits);
  out.Add(kWriterItems, {}, writer.items);
  out.Add(kWriterFailed, {}, writer.failed_commits);
  out.Add(kWriterGrowths, {}, writer.map_growths);
  out.Add(kWriterQueuedBytes, {}, writer.queued_bytes);
  out.Add(kWriterHeapTrims, {}, writer.heap_trims);
  out.Add(kWriterUntrimmedBytes, {}, writer.untrimmed_bytes);
  out.Add(kDiskFull, {}, uint64_t{writer.disk_full ? 1u : 0u});
  out.Add(kDiskFullRefused, {}, writer.disk_full_refused);
  out.Add(kReserveHeld, {}, uint64_t{writer.reserve_held ? 1u : 0u});
  out.Add(kThreadExceptions, {{"thread", "writer"}}, writer.exceptions);
  out.Add(kThreadExceptions, {{"thread", "stats-flush"}}, node_.flush_stats().exceptions);
  for (const auto& [thread, caught] : node_.caught()) {
    out.Add(kThreadExceptions, {{"thread", thread}}, caught.exceptions);
  }

  const stats::FlushStats flush = node_.flush_stats();
  out.Add(kFlushes, {}, flush.flushes);
  out.Add(kFlushFailures, {}, flush.failures);
  out.Add(kLastFlush, {}, static_cast<double>(flush.last_flush_ms) / 1000.0);

  out.Add(kRegistered, {}, report->registered);
  const stats::DayRow* today = report->days.empty() ? nullptr : &report->days.back();
  out.Add(kCreatedToday, {}, today != nullptr ? today->created : 0);
  out.Add(kResolutionsToday, {}, today != nullptr ? today->resolutions : 0);
  for (const stats::ThresholdResult& t : report->thresholds) {
    out.Add(kThresholdMeasured, {{"threshold", t.id}}, t.measured);
    out.Add(kThresholdTarget, {{"threshold", t.id}}, t.target);
    out.Add(kThresholdMet, {{"threshold", t.id}}, uint64_t{t.met ? 1u : 0u});
  }
  out.Add(kUploadPending, {}, uint64_t{stats::CountPendingUploads(*txn)});
  const UploadStats upload = node_.upload_stats();
  out.Add(kUploadDelivered, {}, upload.delivered);
  out.Add(kUploadFailures, {}, upload.failures);
  out.Add(kUpwardPending, {}, uint64_t{federation::CountUpward(*txn)});
  const api::UpwardStats upward = node_.upward_stats();
  out.Add(kUpwardDelivered, {}, upward.delivered);
  out.Add(kUpwardFailures, {}, upward.failures);
  const api::FederationServerStats federation = node_.federation_stats();
  for (const auto& [outcome, count] :
       {std::pair{"accepted", federation.accepted},
        std::pair{"rejected_credential", federation.rejected_credential},
        std::pair{"rejected_grant", federation.rejected_grant},
        std::pair{"rejected_site", federation.rejected_site}}) {
    out.Add(kFederationRequests, {{"outcome", outcome}}, count);
  }
  const resolver::RecursorStats recursion = node_.recursor_stats();
  for (const auto& [end, count] :
       {std::pair{"found", recursion.found}, std::pair{"not_found", recursion.not_found},
        std::pair{"recursion_limit", recursion.limit}, std::pair{"failed", recursion.failed}}) {
    out.Add(kRecursionWalks, {{"result", end}}, count);
  }
  out.Add(kRecursionRefused, {}, recursion.refused);
  out.Add(kRecursionPending, {}, recursion.pending);
  const resolver::RecursionCacheStats cache = node_.recursion_cache_stats();
  out.Add(kRecursionCache, {{"result", "hit"}}, cache.hits);
  out.Add(kRecursionCache, {{"result", "miss"}}, cache.misses);
  out.Add(kRecursionCacheEntries, {}, cache.entries);
  const api::AuthGuardStats auth = node_.auth_stats();
  out.Add(kAuthFailures, {{"result", "refused"}}, auth.failures);
  out.Add(kAuthFailures, {{"result", "throttled"}}, auth.throttled);
  const http::HttpStats http_stats = node_.http_stats();
  out.Add(kHttpRequests, {}, http_stats.requests);
  out.Add(kHttpClosed, {{"reason", "evicted"}}, http_stats.evicted);
  out.Add(kHttpClosed, {{"reason", "rejected"}}, http_stats.rejected);
  out.Add(kHttpClosed, {{"reason", "request_timeout"}}, http_stats.timeouts);
  return http::Response{200, std::string(http::kExpositionContentType), out.Render()};
}

http::Response HttpEndpoints::Health() const {
  nlohmann::json checks;
  bool healthy = true;
  if (auto txn = node_.store().BeginRead(); txn.ok()) {
    checks["store"] = "ok";
  } else {
    healthy = false;
    checks["store"] = StrCat("cannot read: ", ToStd(txn.status().message()));
  }
  const stats::FlushStats flush = node_.flush_stats();
  if (flush.last_failed) {
    healthy = false;
    checks["stats_flush"] = "the last flush of resolution counts failed (it is retried)";
  } else {
    checks["stats_flush"] = "ok";
  }
  const WriterStats writer = node_.writer_stats();
  if (writer.disk_full) {
    healthy = false;
    checks["writes"] =
        StrCat("disk full: only deletions are accepted until there are ", writer.room_needed >> 20,
               " MiB of room (now ", writer.room_bytes >> 20, " MiB): ", writer.disk_full_reason);
  } else if (writer.last_commit_failed) {
    healthy = false;
    checks["writes"] = StrCat("the last commit failed: ", writer.last_error);
  } else {
    checks["writes"] = "ok";
  }
  for (const auto& [check, health] :
       {std::pair{"handle_udp", node_.udp_health()}, std::pair{"handle_tcp", node_.tcp_health()}}) {
    if (health.failing > 0) {
      healthy = false;
      checks[check] = StrCat(health.failing, " worker(s) failing: ", health.last_error);
    } else {
      checks[check] = "ok";
    }
  }
  // A thread's catch-all that caught an exception in the last minute: the thread went on, but
  // something is wrong that an operator should look at.
  std::string threads;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [thread, caught] : node_.caught()) {
    if (caught.exceptions == 0 || now - caught.last > kRecentException) continue;
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - caught.last);
    if (!threads.empty()) threads += "; ";
    threads += StrCat(thread, ": ", caught.exceptions, " exception(s), the last ", ago.count(),
                      " s ago: ", caught.last_error);
  }
  if (!threads.empty()) healthy = false;
  checks["threads"] = threads.empty() ? "ok" : threads;
  nlohmann::json body{{"status", healthy ? "ok" : "failing"}, {"checks", checks}};
  return http::Response::Json(
      healthy ? 200 : 503,
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace idnode
