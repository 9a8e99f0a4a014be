#pragma once

// The node's HTTP port as a part of the node (registry/base/component.h, [http] listen; the
// server is api/http/http_server.h), for operators and their monitoring:
//   /metrics     Prometheus text exposition: the identifiers registered and every policy
//                threshold (measured, target, met), read from the store, then every part's own
//                statistics (each declared beside its counters: registry/base/stats_table.h)
//   /api/stats   the statistics report as JSON, the same document as `idctl report --format
//                json`; parameters from, to (YYYY-MM-DD) and by_prefix (true/false)
//   /healthz     200 when every part's checks pass (the store can be read, writes commit and the
//                disk is not full, the last statistics flush succeeded, no Handle worker is
//                failing) and no thread caught an exception in the last minute; 503 otherwise; a
//                JSON body names each check
//   /dashboard   a page that draws daily resolutions and registered identifiers against their
//                threshold lines, with each threshold met or not met; self-contained (no network
//                beyond this port), it refreshes itself every 30 seconds
// Unknown paths get 404 and unknown or malformed parameters 400, with a message.
//
// Thread-safe: Handle() may run on any thread; it reads the store in one read transaction. The
// HTTP part is the last built, so it stops accepting first: nothing scrapes a stopping part.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/http/http_server.h"
#include "api/node/context.h"
#include "registry/base/clock.h"
#include "registry/base/component.h"
#include "registry/stats/report.h"

namespace idnode::node {

class HttpEndpoints final : public Component {
 public:
  struct Settings {
    int32_t utc_offset_minutes = 8 * 60;
    stats::Thresholds thresholds;
    std::string node_prefix;
  };

  // Null without http.listen. Binds the port (UNAVAILABLE when it cannot).
  static absl::StatusOr<std::unique_ptr<HttpEndpoints>> Build(NodeContext& context);

  std::string_view name() const override { return "http"; }
  absl::Status Start() override;
  void StopAccepting() override;
  void DescribeStats(MetricSink& sink) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override;

  http::Response Handle(const http::Request& request) const;
  int port() const;
  http::HttpStats stats() const;

 private:
  // `parts`, `store` and `clock` must outlive this.
  HttpEndpoints(const ComponentList& parts, store::Store& store, const Clock& clock,
                Settings settings);
  http::Response Metrics() const;
  http::Response ApiStats(const http::Request& request) const;
  http::Response Health() const;
  absl::StatusOr<stats::Report> BuildReport(const store::ReadTxn& txn,
                                            const stats::ReportOptions& options) const;

  const ComponentList& parts_;
  store::Store& store_;
  const Clock& clock_;
  const Settings settings_;
  const int64_t started_ms_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace idnode::node
