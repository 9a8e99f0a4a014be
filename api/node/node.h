#pragma once

// One running node: its parts (registry/base/component.h), built in dependency order from the
// config, started in that order and stopped phase by phase in the reverse order, so that nothing
// is lost: every front end stops accepting, then in-flight work drains (gRPC calls, recursive
// walks), then the last statistics flush runs, the writer commits what is queued and the store
// closes. The parts, in order (each its own file in this folder, where it reads its settings):
//   store, writer               store_part.h
//   accounts                    accounts_part.h
//   recursor, handle            handle_part.h   (the recursor only with federation.recursion)
//   grpc                        grpc_part.h
//   federation                  federation_part.h (only with federation.top)
//   stats-flush, upload         stats_part.h    (upload only with upload.url)
//   http                        http_endpoints.h (only with http.listen)
//
// Threads: Start() and Shutdown() from one controlling thread; the accessors from any.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/node/config.h"
#include "api/node/context.h"
#include "registry/base/component.h"
#include "registry/stats/flush.h"
#include "registry/store/store.h"
#include "resolver/query/query.h"
#include "resolver/tcp/tcp_server.h"
#include "resolver/wire/wire.h"

namespace idnode::node {

// Resolution counters by transport and outcome, summed over each front end's workers as they last
// published them (after every batch). Malformed requests are the protocol_error (answered with
// RC 4) and dropped (not answerable) outcomes; rate_limited is UDP only.
struct ResolutionCounters {
  query::QueryCounters udp;
  query::QueryCounters tcp;
  query::QueryCounters grpc;  // unary Resolve
  tcp::TcpStats tcp_connections;
};

class Node {
 public:
  // FAILED_PRECONDITION for a plaintext non-loopback listener without allow_insecure_remote,
  // store errors as the store reports them, UNAVAILABLE when a port cannot be bound; each
  // prefixed with the part that failed when it failed to start. On a store without an admin
  // account, `admin_token` receives the new admin's token before it is committed; without a
  // sink the token is only kept for bootstrap_token() (embedding, tests).
  static absl::StatusOr<std::unique_ptr<Node>> Start(const NodeConfig& config,
                                                     AdminTokenSink admin_token = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  int grpc_port() const;
  // The Handle port, the same for UDP and TCP.
  int handle_port() const;
  // The HTTP port (/metrics, /api/stats, /healthz, /dashboard); 0 when http.listen is off.
  int http_port() const;
  ResolutionCounters resolution_counters() const;
  // The same running totals with the per enterprise prefix breakdown, as the flusher reads them.
  stats::ResolutionTotals resolution_totals() const;
  // Writes the resolution counts not yet on disk now (they also go every flush interval and at
  // shutdown) and returns once they are durable.
  absl::Status FlushStats();
  store::Store& store() const { return *context_.store; }
  // This node's HS_SITE, as get-site-info answers it.
  const wire::SiteInfo& site_info() const { return context_.site_info; }
  // The admin token created on the first start of an empty store; empty on later starts.
  // (Also handed to Start's AdminTokenSink, before the commit.)
  const std::string& bootstrap_token() const { return context_.bootstrap_token; }
  // The running parts, and one of them by type (nullptr when it is not configured).
  const ComponentList& parts() const { return parts_; }
  template <typename Part>
  Part* Find() const {
    return parts_.Find<Part>();
  }

  // Stops the parts in phases (ComponentList::Stop), giving in-flight calls up to `grace`.
  // Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  Node(const NodeConfig& config, AdminTokenSink admin_token);
  absl::Status Init();
  template <typename Part>
  absl::Status Add();

  const NodeConfig config_;
  NodeContext context_;  // refers to config_ and parts_; outlives the parts
  ComponentList parts_;
};

// Offline recovery for a stopped node whose admin token is lost: opens the store of `config`
// (refused while a node holds it), gives account "admin" `token` and revokes its other tokens
// (MakeResetAdminTokenOp). Yields how many were revoked.
absl::StatusOr<uint64_t> ResetAdminToken(const NodeConfig& config, const std::string& token);

}  // namespace idnode::node
