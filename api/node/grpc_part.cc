#include "api/node/grpc_part.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "api/node/federation_part.h"
#include "registry/base/files.h"
#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

namespace idnode::node {
namespace {

// Checks that `cert_pem` holds a certificate and `key_pem` its private key, so that a bad pair
// is refused with a message naming the setting rather than a failed listen.
absl::Status CheckTlsPair(const std::string& cert_pem, const std::string& key_pem) {
  auto bio = [](const std::string& pem) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  };
  auto cert_bio = bio(cert_pem);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError("config grpc.tls_cert: not a PEM certificate");
  }
  auto key_bio = bio(key_pem);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError("config grpc.tls_key: not an unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        "config grpc.tls_key: does not match the certificate in grpc.tls_cert");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const NodeConfig& config) {
  if (config.grpc.tls_cert.empty()) {
    if (!IsLoopbackListen(config.grpc.listen)) {  // allowed: ValidateConfig
      spdlog::warn(
          "gRPC on {} is plaintext (grpc.allow_insecure_remote): tokens cross the "
          "network unencrypted",
          config.grpc.listen);
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl;
  ASSIGN_OR_RETURN(std::string cert, ReadConfigFile(config.grpc.tls_cert, "grpc.tls_cert"));
  ASSIGN_OR_RETURN(std::string key, ReadConfigFile(config.grpc.tls_key, "grpc.tls_key"));
  RETURN_IF_ERROR(CheckTlsPair(cert, key));
  ssl.pem_key_cert_pairs.push_back({key, cert});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::Status GrpcSection::Check(const GrpcSection& section) {
  if (section.listen.find(':') == std::string::npos) {
    return settings::KeyError("grpc.listen", "must be HOST:PORT");
  }
  if (section.tls_cert.empty() != section.tls_key.empty()) {
    return settings::KeyError("grpc.tls_cert", "tls_cert and tls_key must be given together");
  }
  if (section.tls_cert.empty() && !IsLoopbackListen(section.listen) &&
      !section.allow_insecure_remote) {
    return absl::FailedPreconditionError(
        StrCat("grpc.listen ", section.listen,
               " is not a loopback address and no TLS certificate is configured: set "
               "grpc.tls_cert and grpc.tls_key, or grpc.allow_insecure_remote = true"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GrpcPart>> GrpcPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  std::unique_ptr<GrpcPart> part(new GrpcPart());
  part->listen_ = config.grpc.listen;
  ASSIGN_OR_RETURN(part->credentials_, Credentials(config));
  part->env_ = std::make_unique<rpc::ServiceEnv>(
      rpc::ServiceEnv{*context.store,
                      *context.writer,
                      identifier::IdentifierOptions{config.registry.case_sensitive_suffix},
                      context.node_prefix,
                      context.clock,
                      {},
                      {},
                      context.auth_guard});
  part->env_->rules = &context.query_processor->rules();
  context.env = part->env_.get();
  const rpc::ServiceEnv& env = *part->env_;
  part->registry_ = std::make_unique<rpc::RegistryService>(env);
  part->resolver_ = std::make_unique<rpc::ResolverService>(env);
  part->admin_ = std::make_unique<rpc::AdminService>(env);
  part->templates_ = std::make_unique<rpc::TemplatesService>(env);
  part->stats_ = std::make_unique<rpc::StatsService>(
      env, context.clock, config.stats.utc_offset_minutes, config.stats.thresholds);
  part->federation_ = std::make_unique<rpc::FederationService>(
      env,
      rpc::FederationSettings{config.node.top(), config.federation.top, [&parts = context.parts] {
                                const auto* upward = parts.Find<FederationPart>();
                                return upward != nullptr ? upward->stats() : rpc::UpwardStats{};
                              }});
  return part;
}

GrpcPart::~GrpcPart() = default;

absl::Status GrpcPart::Start() {
  grpc::ServerBuilder builder;
  // Without this gRPC binds with SO_REUSEPORT, and a second node could take part of this one's
  // calls on the same port: a busy port is a start-up error, as for the Handle and HTTP ports.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(listen_, credentials_, &port_);
  builder.RegisterService(registry_.get());
  builder.RegisterService(resolver_.get());
  builder.RegisterService(admin_.get());
  builder.RegisterService(templates_.get());
  builder.RegisterService(stats_.get());
  builder.RegisterService(federation_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(StrCat("grpc.listen: cannot listen on ", listen_));
  }
  return absl::OkStatus();
}

void GrpcPart::Drain(std::chrono::steady_clock::time_point deadline) {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() +
                    (deadline - std::chrono::steady_clock::now()));
  server_.reset();
}

void GrpcPart::DescribeStats(MetricSink& sink) const {
  stats::DescribeRequests(sink, stats::Transport::kGrpc, resolver_->counters());
  DescribeRows(sink, rpc::kFederationServerRows, federation_->stats());
}

void GrpcPart::AddResolutions(stats::ResolutionTotals& totals) const {
  totals.node[static_cast<size_t>(stats::Transport::kGrpc)].Add(resolver_->counters());
  resolver_->ForEachPrefix(totals.PrefixAdder(stats::Transport::kGrpc));
}

}  // namespace idnode::node
