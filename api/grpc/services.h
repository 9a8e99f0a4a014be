#pragma once

// The gRPC services (callback API). Handlers never block: reads run in a short LMDB read
// transaction on the calling thread; writes are handed to the Writer and the RPC finishes from
// the writer's completion, after the commit is durable.
//
// Authentication: `authorization: Bearer <token>` on every Registry and Admin call and on
// Templates.PublishTemplate; Resolver and the Templates reads are public. Authorisation: Admin
// calls need the admin role (ListPrefixes also serves a registrant's own prefixes); Registry writes
// and template publishing need a registrant owning the prefix, or an admin.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "api/grpc/auth_guard.h"
#include "idnode/v1/idnode.grpc.pb.h"
#include "registry/base/clock.h"
#include "registry/identifier/identifier.h"
#include "registry/stats/report.h"
#include "registry/store/store.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/writer.h"
#include "resolver/query/query.h"
#include "resolver/query/resolve.h"
#include "resolver/query/tally.h"

namespace idnode::rpc {

// What the services share; all referenced objects outlive the services.
struct ServiceEnv {
  store::Store& store;
  writer::Writer& writer;
  identifier::IdentifierOptions identifier_options;
  std::string node_prefix;         // normalised, e.g. 88.123
  const Clock& clock;              // token expiry
  writer::PrefixHook prefix_hook;  // runs with every prefix allocation and release; may be empty
  std::function<void()> prefix_committed;  // after such a change is durable; may be empty
  // Failed authentications: logged, counted, and slowed per source (api/grpc/auth_guard.h).
  std::shared_ptr<AuthGuard> auth_guard = std::make_shared<AuthGuard>();
  // How this node resolves (resolver/query/resolve.h), as the Handle front ends do; must be set
  // before Resolve is served.
  const query::ResolveRules* rules = nullptr;
};

class RegistryService final : public v1::Registry::CallbackService {
 public:
  explicit RegistryService(const ServiceEnv& env) : env_(env) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* context,
                                   const v1::CreateRequest* request,
                                   v1::CreateResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::Record* response) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* context,
                                   const v1::UpdateRequest* request,
                                   v1::UpdateResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListRequest* request,
                                 v1::ListResponse* response) override;
  grpc::ServerBidiReactor<v1::BatchCreateRequest, v1::BatchCreateResponse>* BatchCreate(
      grpc::CallbackServerContext* context) override;

 private:
  const ServiceEnv& env_;
};

class ResolverService final : public v1::Resolver::CallbackService {
 public:
  explicit ResolverService(const ServiceEnv& env) : env_(env) {}

  grpc::ServerUnaryReactor* Resolve(grpc::CallbackServerContext* context,
                                    const v1::ResolveRequest* request,
                                    v1::ResolveResponse* response) override;

  // Resolutions answered, by outcome (found, handle_not_found, values_not_found,
  // invalid_handle, server_error).
  query::QueryCounters counters() const { return counters_.Sum(); }
  // Per enterprise prefix, as query::SharedPrefixTally::ForEach (a prefix may come repeatedly).
  void ForEachPrefix(
      const std::function<void(std::string_view, const query::QueryCounters&)>& fn) const {
    prefixes_.ForEach(fn);
  }

 private:
  const ServiceEnv& env_;
  query::SharedCounters counters_;
  query::SharedPrefixTally prefixes_;
};

// The statistics report (registry/stats/report.h) for operators and admins. Resolution counts
// reach the store with each flush (stats.flush_interval_ms), so the report lags by at most that.
class StatsService final : public v1::Stats::CallbackService {
 public:
  StatsService(const ServiceEnv& env, const Clock& clock, int32_t utc_offset_minutes,
               const stats::Thresholds& thresholds)
      : env_(env),
        clock_(clock),
        utc_offset_minutes_(utc_offset_minutes),
        thresholds_(thresholds) {}

  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* context,
                                   const v1::StatsReportRequest* request,
                                   v1::StatsReport* response) override;
  grpc::ServerUnaryReactor* PendingUploads(grpc::CallbackServerContext* context,
                                           const v1::PendingUploadsRequest* request,
                                           v1::PendingUploadsResponse* response) override;

 private:
  const ServiceEnv& env_;
  const Clock& clock_;
  const int32_t utc_offset_minutes_;
  const stats::Thresholds thresholds_;
};

class AdminService final : public v1::Admin::CallbackService {
 public:
  explicit AdminService(const ServiceEnv& env) : env_(env) {}

  grpc::ServerUnaryReactor* CreateAccount(grpc::CallbackServerContext* context,
                                          const v1::CreateAccountRequest* request,
                                          v1::Account* response) override;
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* context,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* IssueToken(grpc::CallbackServerContext* context,
                                       const v1::IssueTokenRequest* request,
                                       v1::IssueTokenResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const v1::RevokeTokenRequest* request,
                                        v1::RevokeTokenResponse* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const v1::ListTokensRequest* request,
                                       v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* AllocatePrefix(grpc::CallbackServerContext* context,
                                           const v1::AllocatePrefixRequest* request,
                                           v1::Prefix* response) override;
  grpc::ServerUnaryReactor* ReleasePrefix(grpc::CallbackServerContext* context,
                                          const v1::ReleasePrefixRequest* request,
                                          v1::ReleasePrefixResponse* response) override;
  grpc::ServerUnaryReactor* ListPrefixes(grpc::CallbackServerContext* context,
                                         const v1::ListPrefixesRequest* request,
                                         v1::ListPrefixesResponse* response) override;

 private:
  const ServiceEnv& env_;
};

class TemplatesService final : public v1::Templates::CallbackService {
 public:
  explicit TemplatesService(const ServiceEnv& env) : env_(env) {}

  grpc::ServerUnaryReactor* PublishTemplate(grpc::CallbackServerContext* context,
                                            const v1::PublishTemplateRequest* request,
                                            v1::DataTemplate* response) override;
  grpc::ServerUnaryReactor* GetTemplate(grpc::CallbackServerContext* context,
                                        const v1::GetTemplateRequest* request,
                                        v1::DataTemplate* response) override;
  grpc::ServerUnaryReactor* ListTemplates(grpc::CallbackServerContext* context,
                                          const v1::ListTemplatesRequest* request,
                                          v1::ListTemplatesResponse* response) override;

 private:
  const ServiceEnv& env_;
};

}  // namespace idnode::rpc
