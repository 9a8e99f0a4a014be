#include "api/node/node.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_join.h"
#include "api/node/accounts_part.h"
#include "api/node/federation_part.h"
#include "api/node/grpc_part.h"
#include "api/node/handle_part.h"
#include "api/node/http_endpoints.h"
#include "api/node/stats_part.h"
#include "api/node/store_part.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/submit.h"

namespace idnode::node {
namespace {

const Clock& ClockOf(const NodeConfig& config) {
  return config.clock != nullptr ? *config.clock : SystemClock::Get();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const NodeConfig& config,
                                                  AdminTokenSink admin_token) {
  std::unique_ptr<Node> node(new Node(config, std::move(admin_token)));
  RETURN_IF_ERROR(node->Init());
  return node;
}

Node::Node(const NodeConfig& config, AdminTokenSink admin_token)
    : config_(config), context_(config_, ClockOf(config_), std::move(admin_token), parts_) {}

Node::~Node() { Shutdown(std::chrono::seconds(1)); }

template <typename Part>
absl::Status Node::Add() {
  ASSIGN_OR_RETURN(std::unique_ptr<Part> part, Part::Build(context_));
  if (part != nullptr) parts_.Add(std::move(part));
  return absl::OkStatus();
}

// The parts in dependency order: each may use what those before it offer (NodeContext).
absl::Status Node::Init() {
  RETURN_IF_ERROR(ValidateConfig(config_));
  context_.node_prefix = *identifier::NormalizePrefix(config_.node.prefix);
  RETURN_IF_ERROR(Add<StorePart>());
  RETURN_IF_ERROR(Add<WriterPart>());
  RETURN_IF_ERROR(Add<AccountsPart>());
  RETURN_IF_ERROR(Add<RecursorPart>());
  RETURN_IF_ERROR(Add<HandlePart>());
  RETURN_IF_ERROR(Add<GrpcPart>());
  RETURN_IF_ERROR(Add<FederationPart>());
  RETURN_IF_ERROR(Add<FlusherPart>());
  RETURN_IF_ERROR(Add<UploadPart>());
  RETURN_IF_ERROR(Add<HttpEndpoints>());
  RETURN_IF_ERROR(parts_.Start());
  spdlog::info(
      "idnode: {} node, prefix {}, store {}, gRPC on {} (port {}){}, Handle UDP+TCP on {} (port "
      "{}), advertised as {}{}, HTTP {} (port {}), top node {}{}",
      config_.node.role, context_.node_prefix, config_.storage.data_dir, config_.grpc.listen,
      grpc_port(), config_.grpc.tls_cert.empty() ? "" : " with TLS", config_.handle.listen,
      handle_port(), wire::AddressText(context_.site_info.servers[0].address),
      config_.handle.mirrors.empty()
          ? ""
          : StrCat(" with mirrors ", absl::StrJoin(config_.handle.mirrors, ", ")),
      config_.http.listen.empty() ? "off" : config_.http.listen, http_port(),
      config_.federation.top.empty() ? "none" : config_.federation.top,
      config_.federation.recursion ? StrCat(", recursion through ", config_.federation.top_handle)
                                   : "");
  return absl::OkStatus();
}

int Node::grpc_port() const {
  const auto* grpc = Find<GrpcPart>();
  return grpc != nullptr ? grpc->port() : 0;
}

int Node::handle_port() const {
  const auto* handle = Find<HandlePart>();
  return handle != nullptr ? handle->port() : 0;
}

int Node::http_port() const {
  const auto* http = Find<HttpEndpoints>();
  return http != nullptr ? http->port() : 0;
}

stats::ResolutionTotals Node::resolution_totals() const { return SumResolutions(parts_); }

ResolutionCounters Node::resolution_counters() const {
  const stats::ResolutionTotals totals = resolution_totals();
  ResolutionCounters counters;
  counters.udp = totals.node[static_cast<size_t>(stats::Transport::kUdp)];
  counters.tcp = totals.node[static_cast<size_t>(stats::Transport::kTcp)];
  counters.grpc = totals.node[static_cast<size_t>(stats::Transport::kGrpc)];
  if (const auto* handle = Find<HandlePart>()) counters.tcp_connections = handle->tcp_stats();
  return counters;
}

absl::Status Node::FlushStats() {
  auto* flusher = Find<FlusherPart>();
  if (flusher == nullptr) return absl::FailedPreconditionError("the node is not running");
  return flusher->Flush();
}

void Node::Shutdown(std::chrono::milliseconds grace) {
  parts_.Stop(std::chrono::steady_clock::now() + grace);
}

absl::StatusOr<uint64_t> ResetAdminToken(const NodeConfig& config, const std::string& token) {
  RETURN_IF_ERROR(ValidateConfig(config));
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                   store::Store::Open(store::StoreOptions{
                       config.storage.data_dir, size_t{config.storage.initial_map_mib} << 20}));
  writer::WriterOptions options;
  options.utc_offset_minutes = config.stats.utc_offset_minutes;
  ASSIGN_OR_RETURN(std::unique_ptr<writer::Writer> writer,
                   writer::Writer::Start(*store, ClockOf(config), options));
  auto revoked = writer::SubmitAndWait<absl::StatusOr<uint64_t>>(
      *writer, [&](auto done) { return MakeResetAdminTokenOp(token, std::move(done)); });
  writer->Stop();
  return revoked;
}

}  // namespace idnode::node
