#pragma once

// What the node's HTTP port serves (api/http/http_server.h), for operators and their monitoring:
//   /metrics     Prometheus text exposition: live request counters by transport and outcome,
//                connections, the writer and the statistics flusher, identifiers registered and
//                every policy threshold (measured, target, met); each family declared once below
//   /api/stats   the statistics report as JSON, the same document as `idctl report --format
//                json`; parameters from, to (YYYY-MM-DD) and by_prefix (true/false)
//   /healthz     200 when the store can be read, writes commit and the disk is not full, the
//                last statistics flush succeeded, no Handle worker is failing and no thread
//                caught an exception in the last minute; 503 otherwise; a JSON body names each
//                check
//   /dashboard   a page that draws daily resolutions and registered identifiers against their
//                threshold lines, with each threshold met or not met; self-contained (no network
//                beyond this port), it refreshes itself every 30 seconds
// Unknown paths get 404 and unknown or malformed parameters 400, with a message.
//
// Thread-safe: Handle() may run on any thread; it reads the store in one read transaction.

#include <cstdint>
#include <functional>
#include <string>

#include "api/http/http_server.h"
#include "registry/base/clock.h"
#include "registry/stats/report.h"

namespace idnode {

class Node;

class HttpEndpoints {
 public:
  struct Settings {
    int32_t utc_offset_minutes = 8 * 60;
    stats::Thresholds thresholds;
    std::string node_prefix;
  };

  // `node` and `clock` must outlive this.
  HttpEndpoints(const Node& node, const Clock& clock, Settings settings);

  http::Response Handle(const http::Request& request) const;

 private:
  http::Response Metrics() const;
  http::Response ApiStats(const http::Request& request) const;
  http::Response Health() const;
  absl::StatusOr<stats::Report> BuildReport(const store::ReadTxn& txn,
                                            const stats::ReportOptions& options) const;

  const Node& node_;
  const Clock& clock_;
  const Settings settings_;
  const int64_t started_ms_;
};

}  // namespace idnode
