#include "api/node/federation_part.h"

#include <spdlog/spdlog.h>

#include "api/grpc/services.h"
#include "registry/base/files.h"
#include "registry/base/status_macros.h"
#include "registry/federation/federation.h"
#include "registry/writer/submit.h"

namespace idnode {

absl::StatusOr<std::unique_ptr<FederationPart>> FederationPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  if (config.federation_top.empty()) return nullptr;
  GrpcUpstreamOptions upstream;
  ASSIGN_OR_RETURN(upstream.token,
                   ReadSecretFile(config.federation_credential_file, "federation.credential_file"));
  upstream.target = config.federation_top;
  upstream.tls = !config.federation_plaintext;
  upstream.ca_file = config.federation_ca_file;
  upstream.timeout = std::chrono::milliseconds(config.federation_timeout_ms);
  ASSIGN_OR_RETURN(std::unique_ptr<UpstreamRegistrar> registrar,
                   MakeGrpcUpstreamRegistrar(upstream));
  ASSIGN_OR_RETURN(size_t spooled,
                   SubmitAndWait<absl::StatusOr<size_t>>(*context.writer, [&](auto done) {
                     return federation::MakeSyncUpwardOp(context.node_prefix, context.site_bytes,
                                                         config.federation_top, std::move(done));
                   }));
  if (spooled > 0) {
    spdlog::info("federation: the site or top node changed; {} registrations spooled for {}",
                 spooled, config.federation_top);
  }
  std::unique_ptr<FederationPart> part(new FederationPart());
  part->store_ = context.store;
  FederationClientOptions options;
  options.retry_initial = std::chrono::milliseconds(config.federation_retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(config.federation_retry_max_ms);
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
    sink.Add(api::kUpwardPending, {}, uint64_t{federation::CountUpward(*txn)});
  }
  DescribeRows(sink, api::kUpwardStatRows, client_->stats());
}

}  // namespace idnode
