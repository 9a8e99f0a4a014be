#pragma once

// The Handle protocol front ends as parts of the node (registry/base/component.h):
//   - RecursorPart ([federation] recursion): resolves, for clients that ask, handles this node
//     does not host through the top node; built before the front ends, whose query processor
//     hands it those requests, and drained before they close their sockets, which its replies
//     use;
//   - HandlePart ([handle]): UDP and TCP on one port, this node's HS_SITE (the serial goes up
//     when what it advertises changes) and the query processor that answers both.
// Both count towards the node's resolutions: HandlePart is a stats::ResolutionSource.

#include <memory>

#include "absl/status/statusor.h"
#include "api/node/context.h"
#include "registry/base/component.h"
#include "registry/stats/flush.h"
#include "resolver/query/query.h"
#include "resolver/query/recursion_cache.h"
#include "resolver/recursion/recursor.h"
#include "resolver/tcp/tcp_server.h"
#include "resolver/udp/udp_server.h"

namespace idnode::node {

class RecursorPart final : public Component {
 public:
  // Null unless federation.recursion is on.
  static absl::StatusOr<std::unique_ptr<RecursorPart>> Build(NodeContext& context);

  std::string_view name() const override { return "recursor"; }
  // Its replies are built by the query processor, which the front ends' part makes later.
  absl::Status Start() override;
  // Answers what still waits "server too busy" and finishes the walks under way, whose replies
  // go out over the front ends' sockets (still open until they close).
  void Drain(std::chrono::steady_clock::time_point deadline) override;
  void DescribeStats(MetricSink& sink) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&recursor_->guard());
  }

 private:
  explicit RecursorPart(const NodeContext& context) : context_(context) {}

  const NodeContext& context_;
  std::unique_ptr<query::RecursionCache> cache_;
  std::unique_ptr<recursion::Recursor> recursor_;
};

class HandlePart final : public Component, public stats::ResolutionSource {
 public:
  // Binds UDP, then TCP on the same port (when the port is 0, on the one the kernel picked for
  // UDP, retrying if TCP already has it taken), and makes the site from handle.advertise and the
  // bound port.
  static absl::StatusOr<std::unique_ptr<HandlePart>> Build(NodeContext& context);

  std::string_view name() const override { return "handle"; }
  absl::Status Start() override;
  // The UDP workers stop reading and the TCP listener closes; open TCP connections are served
  // until Close.
  void StopAccepting() override;
  void Close() override;
  void DescribeStats(MetricSink& sink) const override;
  void CheckHealth(HealthReport& report) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override;
  void AddResolutions(stats::ResolutionTotals& totals) const override;

  uint16_t port() const { return udp_->port(); }
  tcp::TcpStats tcp_stats() const { return tcp_->stats(); }

 private:
  HandlePart() = default;
  absl::Status MakeSite(NodeContext& context, const net::Endpoint& listen);

  store::Store* store_ = nullptr;
  std::unique_ptr<query::QueryProcessor> processor_;
  std::unique_ptr<udp::UdpServer> udp_;
  std::unique_ptr<tcp::TcpServer> tcp_;
};

}  // namespace idnode::node
