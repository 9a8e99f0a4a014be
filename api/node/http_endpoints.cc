#include "api/node/http_endpoints.h"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/grpc/convert.h"
#include "api/grpc/json.h"
#include "api/http/dashboard.h"
#include "api/http/prometheus.h"
#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

#ifndef IDNODE_VERSION
#define IDNODE_VERSION "unknown"
#endif

namespace idnode::node {
namespace {

// The families of the endpoints themselves: the process, and the durable statistics read from
// the store through the report. Every other family is declared by the part that keeps it.
constexpr MetricFamily kBuildInfo{"idnode_build_info", MetricType::kGauge,
                                  "Always 1; the version and node prefix are labels."};
constexpr MetricFamily kStartTime{"idnode_start_time_seconds", MetricType::kGauge,
                                  "When this process started, in seconds since the Unix epoch."};
constexpr MetricFamily kRegistered{"idnode_identifiers_registered", MetricType::kGauge,
                                   "Identifiers registered on this node now."};
constexpr MetricFamily kCreatedToday{
    "idnode_identifiers_created_today", MetricType::kGauge,
    "Identifiers newly registered today (the reporting day, in the reporting offset)."};
constexpr MetricFamily kResolutionsToday{
    "idnode_resolutions_today", MetricType::kGauge,
    "Resolutions counted toward the thresholds today, as flushed to the store."};
constexpr MetricFamily kThresholdMeasured{"idnode_threshold_measured", MetricType::kGauge,
                                          "The value each policy threshold is judged on."};
constexpr MetricFamily kThresholdTarget{"idnode_threshold_target", MetricType::kGauge,
                                        "The target each policy threshold must reach or exceed."};
constexpr MetricFamily kThresholdMet{"idnode_threshold_met", MetricType::kGauge,
                                     "1 when the policy threshold is met, else 0."};

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

absl::Status HttpSection::Check(const HttpSection& section) {
  if (section.listen.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("http.listen", section.listen));
  if (!listen.loopback() && !section.allow_remote) {
    return settings::KeyError(
        "http.listen",
        "is not a loopback address; the statistics pages have no login, so serving them to the "
        "network needs http.allow_remote = true");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpEndpoints>> HttpEndpoints::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  if (config.http.listen.empty()) return nullptr;
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("http.listen", config.http.listen));
  std::unique_ptr<HttpEndpoints> part(new HttpEndpoints(
      context.parts, *context.store, context.clock,
      Settings{config.stats.utc_offset_minutes, config.stats.thresholds, context.node_prefix}));
  http::HttpOptions options;
  options.listen = listen;
  ASSIGN_OR_RETURN(
      part->server_,
      http::HttpServer::Bind(options, [endpoints = part.get()](const http::Request& request) {
        return endpoints->Handle(request);
      }));
  return part;
}

HttpEndpoints::HttpEndpoints(const ComponentList& parts, store::Store& store, const Clock& clock,
                             Settings settings)
    : parts_(parts),
      store_(store),
      clock_(clock),
      settings_(std::move(settings)),
      started_ms_(clock.NowMillis()) {}

absl::Status HttpEndpoints::Start() {
  server_->Start();
  return absl::OkStatus();
}

void HttpEndpoints::StopAccepting() { server_->Stop(); }

void HttpEndpoints::DescribeStats(MetricSink& sink) const {
  DescribeRows(sink, http::kHttpStatRows, server_->stats());
}

void HttpEndpoints::ListGuards(std::vector<const ExceptionGuard*>& guards) const {
  guards.push_back(&server_->guard());
}

int HttpEndpoints::port() const { return server_->port(); }

http::HttpStats HttpEndpoints::stats() const { return server_->stats(); }

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
  auto txn = store_.BeginRead();
  if (!txn.ok()) return Error(500, ToStd(txn.status().message()));
  auto report = BuildReport(*txn, *options);
  if (!report.ok()) {
    const bool invalid = report.status().code() == absl::StatusCode::kInvalidArgument;
    return Error(invalid ? 400 : 500, ToStd(report.status().message()));
  }
  v1::StatsReport proto;
  rpc::ToProto(*report, &proto);
  proto.set_node_prefix(settings_.node_prefix);
  return http::Response::Json(200, rpc::ToJson(proto) + "\n");
}

http::Response HttpEndpoints::Metrics() const {
  auto txn = store_.BeginRead();
  if (!txn.ok()) return Error(500, ToStd(txn.status().message()));
  auto report = BuildReport(*txn, stats::ReportOptions{});
  if (!report.ok()) return Error(500, ToStd(report.status().message()));
  http::Exposition out;
  out.Add(kBuildInfo, {{"version", IDNODE_VERSION}, {"node_prefix", settings_.node_prefix}},
          uint64_t{1});
  out.Add(kStartTime, {}, static_cast<double>(started_ms_) / 1000.0);
  out.Add(kRegistered, {}, report->registered);
  const stats::DayRow* today = report->days.empty() ? nullptr : &report->days.back();
  out.Add(kCreatedToday, {}, today != nullptr ? today->created : 0);
  out.Add(kResolutionsToday, {}, today != nullptr ? today->resolutions : 0);
  for (const stats::ThresholdResult& t : report->thresholds) {
    out.Add(kThresholdMeasured, {{"threshold", t.id}}, t.measured);
    out.Add(kThresholdTarget, {{"threshold", t.id}}, t.target);
    out.Add(kThresholdMet, {{"threshold", t.id}}, uint64_t{t.met ? 1u : 0u});
  }
  parts_.DescribeStats(out);
  return http::Response{200, std::string(http::kExpositionContentType), out.Render()};
}

http::Response HttpEndpoints::Health() const {
  HealthReport report;
  parts_.CheckHealth(report, std::chrono::steady_clock::now());
  nlohmann::json checks = nlohmann::json::object();
  for (const HealthReport::Check& check : report.checks()) {
    checks[check.name] = check.problem.empty() ? "ok" : check.problem;
  }
  const bool healthy = report.healthy();
  nlohmann::json body{{"status", healthy ? "ok" : "failing"}, {"checks", checks}};
  return http::Response::Json(
      healthy ? 200 : 503,
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace idnode::node
