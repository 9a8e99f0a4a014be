#include "api/node/node.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/federation/federation.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/submit.h"

namespace idnode {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("config ", key, ": cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

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

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const NodeConfig& config,
                                                  AdminTokenSink admin_token) {
  std::unique_ptr<Node> node(new Node());
  RETURN_IF_ERROR(node->Init(config, admin_token));
  return node;
}

absl::StatusOr<uint64_t> ResetAdminToken(const NodeConfig& config, const std::string& token) {
  RETURN_IF_ERROR(ValidateConfig(config));
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                   store::Store::Open(
                       store::StoreOptions{config.data_dir, size_t{config.initial_map_mib} << 20}));
  WriterOptions options;
  options.utc_offset_minutes = config.utc_offset_minutes;
  const Clock& clock = config.clock != nullptr ? *config.clock : SystemClock::Get();
  ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, Writer::Start(*store, clock, options));
  auto revoked = SubmitAndWait<absl::StatusOr<uint64_t>>(
      *writer, [&](auto done) { return MakeResetAdminTokenOp(token, std::move(done)); });
  writer->Stop();
  return revoked;
}

Node::~Node() { Shutdown(std::chrono::seconds(1)); }

absl::Status Node::Init(const NodeConfig& config, const AdminTokenSink& admin_token) {
  RETURN_IF_ERROR(ValidateConfig(config));
  const bool tls = !config.tls_cert_file.empty();
  if (!tls && !IsLoopbackListen(config.grpc_listen) && !config.allow_insecure_remote) {
    return absl::FailedPreconditionError(
        StrCat("grpc.listen ", config.grpc_listen,
               " is not a loopback address and no TLS certificate is configured: set "
               "grpc.tls_cert and grpc.tls_key, or grpc.allow_insecure_remote = true"));
  }
  ASSIGN_OR_RETURN(store_, store::Store::Open(store::StoreOptions{
                               config.data_dir, size_t{config.initial_map_mib} << 20}));
  WriterOptions writer_options;
  writer_options.max_batch_items = config.commit_max_items;
  writer_options.max_wait = std::chrono::microseconds(config.commit_max_wait_us);
  writer_options.max_queued_items = config.max_queued_items;
  writer_options.max_queued_bytes = size_t{config.max_queued_mib} << 20;
  writer_options.utc_offset_minutes = config.utc_offset_minutes;
  reserve_ = std::make_unique<store::DiskReserve>(config.data_dir, config.reserve_mib << 20);
  if (absl::Status reserved = reserve_->Acquire(); !reserved.ok()) {
    spdlog::warn("{}; starting without it (deletions may fail if the disk fills)",
                 std::string(reserved.message()));
  }
  writer_options.reserve = reserve_.get();
  clock_ = config.clock != nullptr ? config.clock : &SystemClock::Get();
  ASSIGN_OR_RETURN(writer_, Writer::Start(*store_, *clock_, writer_options));
  RETURN_IF_ERROR(Bootstrap(admin_token));

  env_ = std::make_unique<api::ServiceEnv>(
      api::ServiceEnv{*store_,
                      *writer_,
                      IdentifierOptions{config.case_sensitive_suffix},
                      *NormalizePrefix(config.node_prefix),
                      *clock_,
                      {},
                      {}});
  // The Handle front ends first: the site they make (address and bound port) is what the upward
  // registrations carry, and the prefix hook must be in place before any gRPC call can allocate.
  RETURN_IF_ERROR(StartHandle(config));
  RETURN_IF_ERROR(StartFederation(config));
  registry_service_ = std::make_unique<api::RegistryService>(*env_);
  resolver_service_ = std::make_unique<api::ResolverService>(*env_);
  admin_service_ = std::make_unique<api::AdminService>(*env_);
  templates_service_ = std::make_unique<api::TemplatesService>(*env_);
  stats_service_ = std::make_unique<api::StatsService>(*env_, *clock_, config.utc_offset_minutes,
                                                       config.thresholds);
  federation_service_ = std::make_unique<api::FederationService>(
      *env_, api::FederationSettings{config.role == "top", config.federation_top,
                                     [this] { return upward_stats(); }});

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (tls) {
    grpc::SslServerCredentialsOptions ssl;
    ASSIGN_OR_RETURN(std::string cert, ReadFile(config.tls_cert_file, "grpc.tls_cert"));
    ASSIGN_OR_RETURN(std::string key, ReadFile(config.tls_key_file, "grpc.tls_key"));
    RETURN_IF_ERROR(CheckTlsPair(cert, key));
    ssl.pem_key_cert_pairs.push_back({key, cert});
    credentials = grpc::SslServerCredentials(ssl);
  } else {
    credentials = grpc::InsecureServerCredentials();
    if (!IsLoopbackListen(config.grpc_listen)) {
      spdlog::warn(
          "gRPC on {} is plaintext (grpc.allow_insecure_remote): tokens cross the "
          "network unencrypted",
          config.grpc_listen);
    }
  }
  grpc::ServerBuilder builder;
  // Without this gRPC binds with SO_REUSEPORT, and a second node could take part of this one's
  // calls on the same port: a busy port is a start-up error, as for the Handle and HTTP ports.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.grpc_listen, credentials, &grpc_port_);
  builder.RegisterService(registry_service_.get());
  builder.RegisterService(resolver_service_.get());
  builder.RegisterService(admin_service_.get());
  builder.RegisterService(templates_service_.get());
  builder.RegisterService(stats_service_.get());
  builder.RegisterService(federation_service_.get());
  builder.SetMaxReceiveMessageSize(64 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(StrCat("grpc.listen: cannot listen on ", config.grpc_listen));
  }
  flusher_ = std::make_unique<stats::ResolutionFlusher>(
      *writer_, *clock_,
      stats::FlushOptions{std::chrono::milliseconds(config.stats_flush_interval_ms),
                          config.utc_offset_minutes},
      [this] { return resolution_totals(); });
  flusher_->Start();
  RETURN_IF_ERROR(StartUploader(config));
  RETURN_IF_ERROR(StartHttp(config));
  spdlog::info(
      "idnode: {} node, prefix {}, store {}, gRPC on {} (port {}){}, Handle UDP+TCP on {} (port "
      "{}), advertised as {}{}, HTTP {} (port {}), top node {}{}",
      config.role, env_->node_prefix, config.data_dir, config.grpc_listen, grpc_port_,
      tls ? " with TLS" : "", config.handle_listen, handle_port(),
      wire::AddressText(site_info_.servers[0].address),
      config.handle_mirrors.empty()
          ? ""
          : StrCat(" with mirrors ", absl::StrJoin(config.handle_mirrors, ", ")),
      config.http_listen.empty() ? "off" : config.http_listen, http_port(),
      config.federation_top.empty() ? "none" : config.federation_top,
      config.federation_recursion ? StrCat(", recursion through ", config.federation_top_handle)
                                  : "");
  return absl::OkStatus();
}

absl::Status Node::StartFederation(const NodeConfig& config) {
  if (config.federation_top.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string token,
                   ReadFile(config.federation_credential_file, "federation.credential_file"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty()) {
    return absl::InvalidArgumentError(StrCat(
        "config federation.credential_file: ", config.federation_credential_file, " is empty"));
  }
  GrpcUpstreamOptions upstream;
  upstream.target = config.federation_top;
  upstream.tls = !config.federation_plaintext;
  upstream.ca_file = config.federation_ca_file;
  upstream.token = std::move(token);
  upstream.timeout = std::chrono::milliseconds(config.federation_timeout_ms);
  ASSIGN_OR_RETURN(std::unique_ptr<UpstreamRegistrar> registrar,
                   MakeGrpcUpstreamRegistrar(upstream));
  std::string site;
  wire::EncodeSiteInfo(site_info_, site);
  ASSIGN_OR_RETURN(size_t spooled, SubmitAndWait<absl::StatusOr<size_t>>(*writer_, [&](auto done) {
                     return federation::MakeSyncUpwardOp(env_->node_prefix, site,
                                                         config.federation_top, std::move(done));
                   }));
  if (spooled > 0) {
    spdlog::info("federation: the site or top node changed; {} registrations spooled for {}",
                 spooled, config.federation_top);
  }
  env_->prefix_hook = federation::MakeUpwardSpoolHook(site);
  FederationClientOptions options;
  options.retry_initial = std::chrono::milliseconds(config.federation_retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(config.federation_retry_max_ms);
  federation_client_ =
      std::make_unique<FederationClient>(*store_, *writer_, *clock_, std::move(registrar), options);
  env_->prefix_committed = [client = federation_client_.get()] { client->Wake(); };
  federation_client_->Start();
  return absl::OkStatus();
}

api::UpwardStats Node::upward_stats() const {
  return federation_client_ != nullptr ? federation_client_->stats() : api::UpwardStats{};
}

api::FederationServerStats Node::federation_stats() const {
  return federation_service_ != nullptr ? federation_service_->stats()
                                        : api::FederationServerStats{};
}

absl::Status Node::StartUploader(const NodeConfig& config) {
  if (config.upload_url.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(config.upload_url, "upload.url"));
  UploadOptions options;
  options.url = config.upload_url;
  options.ca_file = config.upload_ca_file;
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file)) {
    return absl::NotFoundError(StrCat("config upload.ca_file: cannot read ", options.ca_file));
  }
  if (!config.upload_token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token, ReadFile(config.upload_token_file, "upload.token_file"));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    options.token = std::move(token);
  }
  options.interval_days = static_cast<uint32_t>(config.upload_interval_days);
  options.retry_initial = std::chrono::milliseconds(config.upload_retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(config.upload_retry_max_ms);
  options.timeout = std::chrono::milliseconds(config.upload_timeout_ms);
  stats::UploadIdentity who{
      config.upload_node_id.empty() ? env_->node_prefix : config.upload_node_id, env_->node_prefix,
      config.utc_offset_minutes};
  uploader_ = std::make_unique<Uploader>(*store_, *writer_, *clock_, std::move(who), std::move(url),
                                         std::move(options), [this] { return FlushStats(); });
  return uploader_->Start();
}

absl::Status Node::StartHttp(const NodeConfig& config) {
  if (config.http_listen.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("http.listen", config.http_listen));
  http_endpoints_ = std::make_unique<HttpEndpoints>(
      *this, *clock_,
      HttpEndpoints::Settings{config.utc_offset_minutes, config.thresholds, env_->node_prefix});
  http::HttpOptions options;
  options.listen = listen;
  ASSIGN_OR_RETURN(http_server_,
                   http::HttpServer::Bind(
                       options, [endpoints = http_endpoints_.get()](const http::Request& request) {
                         return endpoints->Handle(request);
                       }));
  http_server_->Start();
  return absl::OkStatus();
}

absl::Status Node::Bootstrap(const AdminTokenSink& admin_token) {
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, store_->BeginRead());
    for (const AccountEntry& account : ListAccounts(txn)) {
      if (account.record.role == Role::kAdmin) return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(std::string token, GenerateToken());
  // Delivered first: if the operator cannot be given the token, the store stays without an admin
  // and the next start tries again.
  if (admin_token) RETURN_IF_ERROR(admin_token(token));
  ASSIGN_OR_RETURN(bool created, SubmitAndWait<absl::StatusOr<bool>>(*writer_, [&](auto done) {
                     return MakeBootstrapAdminOp(token, std::move(done));
                   }));
  if (created) bootstrap_token_ = std::move(token);
  return absl::OkStatus();
}

// Binds UDP, then TCP on the same port (when the port is 0, on the one the kernel picked for UDP,
// retrying if TCP already has it taken), builds this node's HS_SITE from the advertised address
// and the bound port, and starts both front ends.
absl::Status Node::StartHandle(const NodeConfig& config) {
  ASSIGN_OR_RETURN(net::Endpoint listen, net::ParseEndpoint("handle.listen", config.handle_listen));
  resolver::UdpOptions udp;
  udp.listen = listen;
  udp.workers = static_cast<int>(config.udp_workers);
  udp.max_reply_bytes = config.udp_max_reply_bytes;
  udp.rate_limit = EffectiveUdpRateLimit(config);
  udp.rate_burst = static_cast<uint32_t>(config.udp_rate_burst);
  udp.realtime_priority = static_cast<int>(config.realtime_priority);
  resolver::TcpOptions tcp;
  tcp.workers = static_cast<int>(config.tcp_workers);
  tcp.max_connections = config.tcp_max_connections;
  tcp.max_message_bytes = config.tcp_max_message_bytes;
  tcp.max_per_source_percent = config.tcp_max_per_source_percent;
  tcp.max_pending_reply_bytes = config.tcp_max_pending_reply_bytes;
  tcp.idle_timeout = std::chrono::milliseconds(config.tcp_idle_timeout_ms);
  tcp.request_timeout = std::chrono::milliseconds(config.tcp_request_timeout_ms);
  tcp.write_timeout = std::chrono::milliseconds(config.tcp_write_timeout_ms);
  tcp.realtime_priority = static_cast<int>(config.realtime_priority);
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(udp_server_, resolver::UdpServer::Bind(udp));
    tcp.listen = listen;
    tcp.listen.port = udp_server_->port();
    auto bound = resolver::TcpServer::Bind(tcp);
    if (bound.ok()) {
      tcp_server_ = std::move(*bound);
      break;
    }
    udp_server_.reset();
    if (listen.port != 0 || attempt == 20) return bound.status();
  }

  net::Endpoint advertise = listen;
  if (!config.handle_advertise.empty()) {
    ASSIGN_OR_RETURN(advertise, net::ParseAddress("handle.advertise", config.handle_advertise));
  }
  // HS_SITE's 16 bytes: IPv4 in the form the reference library reads (wire::SiteAddress).
  auto site_address = [](const net::Endpoint& endpoint) {
    return endpoint.is_v4() ? wire::SiteAddress(endpoint.ipv4())
                            : std::string(endpoint.address.begin(), endpoint.address.end());
  };
  const uint32_t port = udp_server_->port();
  site_info_ = wire::SiteInfo{};
  site_info_.attributes.emplace_back("desc", config.site_description.empty()
                                                 ? StrCat("idnode ", env_->node_prefix)
                                                 : config.site_description);
  wire::SiteServer server;
  server.id = 1;
  server.address = site_address(advertise);
  server.interfaces = {{wire::site::kQuery, wire::site::kUdp, port},
                       {wire::site::kQuery, wire::site::kTcp, port}};
  site_info_.servers.push_back(std::move(server));
  for (const std::string& text : config.handle_mirrors) {
    ASSIGN_OR_RETURN(net::Endpoint mirror, net::ParseEndpoint("handle.mirrors", text));
    wire::SiteServer& added = site_info_.servers.emplace_back();
    added.id = static_cast<uint32_t>(site_info_.servers.size());
    added.address = site_address(mirror);
    added.interfaces = {{wire::site::kQuery, wire::site::kUdp, mirror.port},
                        {wire::site::kQuery, wire::site::kTcp, mirror.port}};
  }
  // The serial goes up whenever what the site advertises changes (addresses, ports, mirrors,
  // description, keys), so that clients holding the old one learn of it.
  std::string numbered;
  site_info_.serial = 0;
  wire::EncodeSiteInfo(site_info_, numbered);
  ASSIGN_OR_RETURN(site_info_.serial,
                   SubmitAndWait<absl::StatusOr<uint16_t>>(*writer_, [&](auto done) {
                     return federation::MakeSiteSerialOp(numbered, std::move(done));
                   }));
  std::string site_bytes;
  wire::EncodeSiteInfo(site_info_, site_bytes);

  resolver::RecursionConfig recursion;
  if (config.federation_recursion) {
    ASSIGN_OR_RETURN(net::Endpoint top,
                     net::ParseEndpoint("federation.top_handle", config.federation_top_handle));
    recursion_cache_ = std::make_unique<resolver::RecursionCache>(config.recursion_cache_entries);
    resolver::RecursorOptions options;
    options.top = top;
    options.workers = static_cast<int>(config.recursion_workers);
    options.max_pending = config.recursion_max_pending;
    options.timeout = std::chrono::milliseconds(config.recursion_timeout_ms);
    options.negative_ttl = std::chrono::milliseconds(config.recursion_negative_ttl_ms);
    recursor_ = std::make_unique<resolver::Recursor>(options, recursion_cache_.get());
    recursion = {recursor_.get(), recursion_cache_.get(),
                 static_cast<uint8_t>(config.recursion_limit)};
  }
  const uint32_t now_seconds = static_cast<uint32_t>(clock_->NowMillis() / 1000);
  resolver::QueryConfig query{env_->node_prefix,
                              env_->identifier_options,
                              site_info_.serial,
                              site_bytes,
                              config.role == "top",
                              federation::PrefixRecordValues(site_bytes, true, now_seconds),
                              federation::PrefixRecordValues(site_bytes, false, now_seconds),
                              recursion};
  query_processor_ = std::make_unique<resolver::QueryProcessor>(std::move(query));
  if (recursor_ != nullptr) recursor_->Start(*query_processor_);
  RETURN_IF_ERROR(udp_server_->Start(*store_, *query_processor_));
  return tcp_server_->Start(*store_, *query_processor_);
}

net::WorkerHealthStats Node::udp_health() const {
  return udp_server_ != nullptr ? udp_server_->health() : net::WorkerHealthStats{};
}

net::WorkerHealthStats Node::tcp_health() const {
  return tcp_server_ != nullptr ? tcp_server_->health() : net::WorkerHealthStats{};
}

std::vector<std::pair<std::string, CaughtStats>> Node::caught() const {
  std::vector<std::pair<std::string, CaughtStats>> out;
  const auto add = [&out](const auto& part) {
    if (part != nullptr) out.emplace_back(part->guard().thread(), part->guard().stats());
  };
  add(udp_server_);
  add(tcp_server_);
  add(recursor_);
  add(uploader_);
  add(federation_client_);
  add(http_server_);
  return out;
}

ResolutionCounters Node::resolution_counters() const {
  ResolutionCounters counters;
  if (resolver_service_ != nullptr) counters.grpc = resolver_service_->counters();
  if (udp_server_ != nullptr) counters.udp = udp_server_->counters();
  if (tcp_server_ != nullptr) {
    counters.tcp = tcp_server_->counters();
    counters.tcp_connections = tcp_server_->stats();
  }
  return counters;
}

stats::ResolutionTotals Node::resolution_totals() const {
  stats::ResolutionTotals totals;
  ResolutionCounters counters = resolution_counters();
  totals.node[static_cast<size_t>(stats::Transport::kUdp)] = counters.udp;
  totals.node[static_cast<size_t>(stats::Transport::kTcp)] = counters.tcp;
  totals.node[static_cast<size_t>(stats::Transport::kGrpc)] = counters.grpc;
  auto adder = [&totals](stats::Transport transport) {
    return [&totals, transport](std::string_view prefix, const resolver::QueryCounters& counts) {
      totals.prefixes[{transport, std::string(prefix)}].Add(counts);
    };
  };
  if (udp_server_ != nullptr) udp_server_->ForEachPrefix(adder(stats::Transport::kUdp));
  if (tcp_server_ != nullptr) tcp_server_->ForEachPrefix(adder(stats::Transport::kTcp));
  if (resolver_service_ != nullptr) {
    resolver_service_->ForEachPrefix(adder(stats::Transport::kGrpc));
  }
  return totals;
}

api::AuthGuardStats Node::auth_stats() const {
  return env_ != nullptr ? env_->auth_guard->stats() : api::AuthGuardStats{};
}

http::HttpStats Node::http_stats() const {
  return http_server_ != nullptr ? http_server_->stats() : http::HttpStats{};
}

stats::FlushStats Node::flush_stats() const {
  return flusher_ != nullptr ? flusher_->stats() : stats::FlushStats{};
}

resolver::RecursorStats Node::recursor_stats() const {
  return recursor_ != nullptr ? recursor_->stats() : resolver::RecursorStats{};
}

resolver::RecursionCacheStats Node::recursion_cache_stats() const {
  return recursion_cache_ != nullptr ? recursion_cache_->stats() : resolver::RecursionCacheStats{};
}

UploadStats Node::upload_stats() const {
  return uploader_ != nullptr ? uploader_->stats() : UploadStats{};
}

void Node::WakeUploader() {
  if (uploader_ != nullptr) uploader_->Wake();
}

WriterStats Node::writer_stats() const {
  return writer_ != nullptr ? writer_->stats() : WriterStats{};
}

absl::Status Node::FlushStats() {
  if (flusher_ == nullptr) return absl::FailedPreconditionError("the node is not running");
  return flusher_->Flush();
}

void Node::Shutdown(std::chrono::milliseconds grace) {
  if (http_server_ != nullptr) http_server_->Stop();
  if (recursor_ != nullptr) recursor_->Stop();  // its replies use the front ends' sockets
  if (udp_server_ != nullptr) udp_server_->Stop();
  if (tcp_server_ != nullptr) tcp_server_->Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_.reset();
  }
  if (uploader_ != nullptr) uploader_->Stop();  // it may be waiting on a receiver: at most timeout
  if (federation_client_ != nullptr) federation_client_->Stop();  // likewise on the top node
  if (flusher_ != nullptr) {
    (void)flusher_->Stop();  // the final counts, now that nothing answers any more
    flusher_.reset();
  }
  if (writer_ != nullptr) writer_->Stop();
}

}  // namespace idnode
