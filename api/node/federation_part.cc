#include "api/node/federation_part.h"

#include <spdlog/spdlog.h>

#include "api/grpc/services.h"
#include "registry/base/files.h"
#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/federation/federation.h"
#include "registry/writer/submit.h"
#include "resolver/net/endpoint.h"

namespace idnode::node {

absl::Status FederationSection::Check(const FederationSection& section) {
  if (!section.top.empty()) {
    if (section.top.rfind(':') == std::string::npos) {
      return settings::KeyError("federation.top", "must be HOST:PORT of the top node's gRPC");
    }
    if (section.credential_file.empty()) {
      return settings::KeyError("federation.credential_file",
                                "is required with federation.top (the node credential the top "
                                "node's admin issued)");
    }
    if (section.plaintext && !IsLoopbackListen(section.top)) {
      return settings::KeyError("federation.plaintext",
                                "is allowed only to a loopback top node; node credentials must "
                                "cross the network over TLS");
    }
  }
  RETURN_IF_ERROR(settings::CheckRetry(kName, section.retry_initial_ms, section.retry_max_ms));
  if (!section.top_handle.empty()) {
    ASSIGN_OR_RETURN(net::Endpoint top,
                     net::ParseEndpoint("federation.top_handle", section.top_handle));
    if (top.wildcard() || top.port == 0) {
      return settings::KeyError(
          "federation.top_handle",
          "must be the top node's Handle address and port, not 0.0.0.0, :: or port 0");
    }
  } else if (section.recursion) {
    return settings::KeyError("federation.top_handle",
                              "is required with federation.recursion (the top node's Handle "
                              "HOST:PORT, where recursive resolution starts)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FederationPart>> FederationPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  if (config.federation.top.empty()) return nullptr;
  GrpcUpstreamOptions upstream;
  ASSIGN_OR_RETURN(upstream.token,
                   ReadSecretFile(config.federation.credential_file, "federation.credential_file"));
  upstream.target = config.federation.top;
  upstream.tls = !config.federation.plaintext;
  upstream.ca_file = config.federation.ca_file;
  upstream.timeout = std::chrono::milliseconds(config.federation.timeout_ms);
  ASSIGN_OR_RETURN(std::unique_ptr<UpstreamRegistrar> registrar,
                   MakeGrpcUpstreamRegistrar(upstream));
  ASSIGN_OR_RETURN(size_t spooled,
                   writer::SubmitAndWait<absl::StatusOr<size_t>>(*context.writer, [&](auto done) {
                     return federation::MakeSyncUpwardOp(context.node_prefix, context.site_bytes,
                                                         config.federation.top, std::move(done));
                   }));
  if (spooled > 0) {
    spdlog::info("federation: the site or top node changed; {} registrations spooled for {}",
                 spooled, config.federation.top);
  }
  std::unique_ptr<FederationPart> part(new FederationPart());
  part->store_ = context.store;
  FederationClientOptions options;
  options.retry_initial = std::chrono::milliseconds(config.federation.retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(config.federation.retry_max_ms);
  part->client_ = std::make_unique<FederationClient>(*context.store, *context.writer, context.clock,
                                                     std::move(registrar), options);
  // Installed before the gRPC part starts serving, so that no allocation misses the spool.
  context.env->prefix_hook = federation::MakeUpwardSpoolHook(context.site_bytes);
  context.env->prefix_committed = [client = part->client_.get()] { client->Wake(); };
  return part;
}

absl::Status FederationPart::Start() {
  client_->Start();
  return absl::OkStatus();
}

void FederationPart::DescribeStats(MetricSink& sink) const {
  if (auto txn = store_->BeginRead(); txn.ok()) {
    sink.Add(rpc::kUpwardPending, {}, uint64_t{federation::CountUpward(*txn)});
  }
  DescribeRows(sink, rpc::kUpwardStatRows, client_->stats());
}

}  // namespace idnode::node
