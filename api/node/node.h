#pragma once

// One running node: the store, the writer, the gRPC server, the Handle UDP and TCP front ends and
// the HTTP endpoints for operators, started together and stopped in the order that loses nothing
// (stop accepting calls, let in-flight calls finish, drain the writer, close the store).
//
// Threads: Start() and Shutdown() from one controlling thread; the accessors from any.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/grpc/federation_service.h"
#include "api/grpc/services.h"
#include "api/http/http_server.h"
#include "api/node/config.h"
#include "api/node/federation_client.h"
#include "api/node/http_endpoints.h"
#include "api/node/uploader.h"
#include "registry/stats/flush.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"
#include "resolver/query/query.h"
#include "resolver/recursion/recursor.h"
#include "resolver/tcp/tcp_server.h"
#include "resolver/udp/udp_server.h"
#include "resolver/wire/wire.h"

namespace idnode {

// Resolution counters by transport and outcome, summed over each front end's workers as they last
// published them (after every batch). Malformed requests are the protocol_error (answered with
// RC 4) and dropped (not answerable) outcomes; rate_limited is UDP only.
struct ResolutionCounters {
  resolver::QueryCounters udp;
  resolver::QueryCounters tcp;
  resolver::QueryCounters grpc;  // unary Resolve
  resolver::TcpStats tcp_connections;
};

// Hands the operator the token of the admin account a new store is about to get: called once,
// before the account is committed, so that a token nobody received never becomes the only way
// in. An error stops the start-up with nothing committed.
using AdminTokenSink = std::function<absl::Status(const std::string& token)>;

class Node {
 public:
  // FAILED_PRECONDITION for a plaintext non-loopback listener without allow_insecure_remote,
  // store errors as the store reports them, UNAVAILABLE when the port cannot be bound. On a store
  // without an admin account, `admin_token` receives the new admin's token before it is
  // committed; without a sink the token is only kept for bootstrap_token() (embedding, tests).
  static absl::StatusOr<std::unique_ptr<Node>> Start(const NodeConfig& config,
                                                     AdminTokenSink admin_token = {});
  ~Node();

  int grpc_port() const { return grpc_port_; }
  // The Handle port, the same for UDP and TCP.
  int handle_port() const { return udp_server_ ? udp_server_->port() : 0; }
  ResolutionCounters resolution_counters() const;
  // The same running totals with the per enterprise prefix breakdown, as the flusher reads them.
  stats::ResolutionTotals resolution_totals() const;
  // Writes the resolution counts not yet on disk now (they also go every flush interval and at
  // shutdown) and returns once they are durable.
  absl::Status FlushStats();
  // The HTTP port (/metrics, /api/stats, /healthz, /dashboard); 0 when http.listen is off.
  int http_port() const { return http_server_ ? http_server_->port() : 0; }
  http::HttpStats http_stats() const;
  // gRPC calls refused for their token, and for their source's failing too often.
  api::AuthGuardStats auth_stats() const;
  stats::FlushStats flush_stats() const;
  WriterStats writer_stats() const;
  // The statistics upload (zeros when upload.url is not set), and a round of it now.
  UploadStats upload_stats() const;
  void WakeUploader();
  // Federation: the upward client (zeros without federation.top) and, on a top node, the
  // registrations accepted and refused.
  api::UpwardStats upward_stats() const;
  api::FederationServerStats federation_stats() const;
  // Recursion (zeros without federation.recursion): walks, their ends, and the cache.
  resolver::RecursorStats recursor_stats() const;
  resolver::RecursionCacheStats recursion_cache_stats() const;
  // The Handle front ends' own failures, UDP and TCP (zeros before they start).
  net::WorkerHealthStats udp_health() const;
  net::WorkerHealthStats tcp_health() const;
  // What the catch-alls of the long-lived threads caught (those with an ExceptionGuard: the
  // Handle workers, recursor, uploader, federation client, HTTP server), by thread name.
  std::vector<std::pair<std::string, CaughtStats>> caught() const;
  store::Store& store() const { return *store_; }
  // This node's HS_SITE, as get-site-info answers it.
  const wire::SiteInfo& site_info() const { return site_info_; }
  // The admin token created on the first start of an empty store; empty on later starts.
  // (Also handed to Start's AdminTokenSink, before the commit.)
  const std::string& bootstrap_token() const { return bootstrap_token_; }

  // Stops accepting calls, lets in-flight ones finish (up to `grace`), drains and stops the
  // writer. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  Node() = default;
  absl::Status Init(const NodeConfig& config, const AdminTokenSink& admin_token);
  absl::Status Bootstrap(const AdminTokenSink& admin_token);
  absl::Status StartHandle(const NodeConfig& config);
  absl::Status StartHttp(const NodeConfig& config);
  absl::Status StartUploader(const NodeConfig& config);
  absl::Status StartFederation(const NodeConfig& config);

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::DiskReserve> reserve_;  // used by the writer thread
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<api::ServiceEnv> env_;
  std::unique_ptr<api::RegistryService> registry_service_;
  std::unique_ptr<api::ResolverService> resolver_service_;
  std::unique_ptr<api::AdminService> admin_service_;
  std::unique_ptr<api::TemplatesService> templates_service_;
  std::unique_ptr<api::StatsService> stats_service_;
  std::unique_ptr<api::FederationService> federation_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<resolver::RecursionCache> recursion_cache_;
  std::unique_ptr<resolver::QueryProcessor> query_processor_;
  std::unique_ptr<resolver::UdpServer> udp_server_;
  std::unique_ptr<resolver::TcpServer> tcp_server_;
  // Stopped before, and destroyed before, the front ends whose sockets its replies go to.
  std::unique_ptr<resolver::Recursor> recursor_;
  std::unique_ptr<stats::ResolutionFlusher> flusher_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<FederationClient> federation_client_;
  std::unique_ptr<HttpEndpoints> http_endpoints_;
  std::unique_ptr<http::HttpServer> http_server_;
  const Clock* clock_ = nullptr;
  wire::SiteInfo site_info_;
  int grpc_port_ = 0;
  std::string bootstrap_token_;
};

// Offline recovery for a stopped node whose admin token is lost: opens the store of `config`
// (refused while a node holds it), gives account "admin" `token` and revokes its other tokens
// (MakeResetAdminTokenOp). Yields how many were revoked.
absl::StatusOr<uint64_t> ResetAdminToken(const NodeConfig& config, const std::string& token);

}  // namespace idnode
