#include "api/node/federation_client.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "idnode/v1/idnode.grpc.pb.h"
#include "registry/base/strings.h"
#include "registry/base/thread_name.h"
#include "registry/base/utf8.h"
#include "registry/writer/submit.h"

namespace idnode::node {
namespace {

class GrpcUpstreamRegistrar final : public UpstreamRegistrar {
 public:
  GrpcUpstreamRegistrar(std::shared_ptr<grpc::Channel> channel, GrpcUpstreamOptions options)
      : stub_(v1::Federation::NewStub(channel)), options_(std::move(options)) {}

  absl::Status Register(const federation::UpwardEntry& entry) override {
    v1::RegisterPrefixRequest request;
    request.set_prefix(entry.prefix);
    request.set_site(entry.site);
    request.set_derived(entry.derived);
    v1::RegisterPrefixResponse response;
    grpc::ClientContext context;
    Prepare(context);
    return FromGrpc(stub_->RegisterPrefix(&context, request, &response));
  }

  absl::Status Remove(const federation::UpwardEntry& entry) override {
    v1::RemovePrefixRequest request;
    request.set_prefix(entry.prefix);
    v1::RemovePrefixResponse response;
    grpc::ClientContext context;
    Prepare(context);
    return FromGrpc(stub_->RemovePrefix(&context, request, &response));
  }

 private:
  void Prepare(grpc::ClientContext& context) const {
    context.AddMetadata("authorization", "Bearer " + options_.token);
    context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  }
  absl::Status FromGrpc(const grpc::Status& status) const {
    if (status.ok()) return absl::OkStatus();
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        StrCat("top node ", options_.target, ": ", status.error_message()));
  }

  std::unique_ptr<v1::Federation::Stub> stub_;
  const GrpcUpstreamOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UpstreamRegistrar>> MakeGrpcUpstreamRegistrar(
    const GrpcUpstreamOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      std::ifstream in(options.ca_file);
      if (!in) {
        return absl::NotFoundError(
            StrCat("config federation.ca_file: cannot read ", options.ca_file));
      }
      std::stringstream pem;
      pem << in.rdbuf();
      ssl.pem_root_certs = pem.str();
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return std::unique_ptr<UpstreamRegistrar>(std::make_unique<GrpcUpstreamRegistrar>(
      grpc::CreateChannel(options.target, credentials), options));
}

FederationClient::FederationClient(store::Store& store, writer::Writer& writer, const Clock& clock,
                                   std::unique_ptr<UpstreamRegistrar> upstream,
                                   FederationClientOptions options)
    : store_(store),
      writer_(writer),
      clock_(clock),
      upstream_(std::move(upstream)),
      options_(options),
      loop_("federation", "sending upward registrations", options.retry_initial,
            options.retry_max) {}

FederationClient::~FederationClient() { Stop(); }

void FederationClient::Start() {
  // Once the spool is empty, it is looked at again every idle_poll (or at Wake()).
  loop_.Start([this]() -> std::optional<std::chrono::milliseconds> {
    if (!SendPending()) return std::nullopt;
    return options_.idle_poll;
  });
}

void FederationClient::Stop() { loop_.Stop(); }

void FederationClient::Wake() { loop_.Wake(); }

rpc::UpwardStats FederationClient::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

bool FederationClient::SendPending() {
  std::vector<federation::PendingUpward> pending;
  {
    auto txn = store_.BeginRead();
    if (!txn.ok()) return false;
    auto listed = federation::ListUpward(*txn);
    if (!listed.ok()) {
      spdlog::error("federation: {}", listed.status().ToString());
      return false;
    }
    pending = *std::move(listed);
  }
  for (federation::PendingUpward& item : pending) {
    if (loop_.stopping()) return false;
    const federation::UpwardEntry& entry = item.entry;
    absl::Status sent = entry.op == federation::UpwardOp::kRegister ? upstream_->Register(entry)
                                                                    : upstream_->Remove(entry);
    if (!sent.ok()) {
      std::string error = StrCat(federation::UpwardOpName(entry.op), " ", entry.prefix, ": ",
                                 ToStd(sent.message()));
      spdlog::warn("federation: {} (kept, retried)", EscapeForLog(error, 512));
      MutexLock lock(&mu_);
      ++stats_.failures;
      stats_.last_error = std::move(error);
      return false;
    }
    absl::Status removed =
        writer::SubmitAndWait(writer_, [&item](std::function<void(absl::Status)> done) {
          return federation::MakeUpwardAcknowledgedOp(item.entry.prefix, item.encoded,
                                                      std::move(done));
        });
    if (!removed.ok()) {
      spdlog::warn("federation: {} acknowledged, but not removed from the spool: {}", entry.prefix,
                   removed.ToString());
      return false;
    }
    spdlog::info("federation: {} {} acknowledged by the top node",
                 federation::UpwardOpName(entry.op), entry.prefix);
    loop_.ResetBackoff();
    MutexLock lock(&mu_);
    ++stats_.delivered;
    stats_.last_error.clear();
    stats_.last_success_ms = clock_.NowMillis();
  }
  return true;
}

}  // namespace idnode::node
