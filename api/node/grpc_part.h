#pragma once

// The gRPC front end as a part of the node (registry/base/component.h, [grpc]): the services of
// api/grpc over one server, with TLS from grpc.tls_cert/grpc.tls_key (plaintext only on
// loopback unless grpc.allow_insecure_remote), authenticating through the accounts part's guard.
// It counts towards the node's resolutions (unary Resolve); its own statistics are, on a top
// node, the registrations from the nodes below.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "api/grpc/federation_service.h"
#include "api/grpc/services.h"
#include "api/node/context.h"
#include "registry/base/component.h"
#include "registry/stats/flush.h"

namespace idnode::node {

class GrpcPart final : public Component, public stats::ResolutionSource {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcPart>> Build(NodeContext& context);
  ~GrpcPart() override;

  std::string_view name() const override { return "grpc"; }
  // Listens and serves: UNAVAILABLE when the port cannot be bound.
  absl::Status Start() override;
  // Refuses new calls and waits for those in flight, until the deadline.
  void Drain(std::chrono::steady_clock::time_point deadline) override;
  void DescribeStats(MetricSink& sink) const override;
  void AddResolutions(stats::ResolutionTotals& totals) const override;

  int port() const { return port_; }

 private:
  GrpcPart() = default;

  std::string listen_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  std::unique_ptr<rpc::ServiceEnv> env_;
  std::unique_ptr<rpc::RegistryService> registry_;
  std::unique_ptr<rpc::ResolverService> resolver_;
  std::unique_ptr<rpc::AdminService> admin_;
  std::unique_ptr<rpc::TemplatesService> templates_;
  std::unique_ptr<rpc::StatsService> stats_;
  std::unique_ptr<rpc::FederationService> federation_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace idnode::node
