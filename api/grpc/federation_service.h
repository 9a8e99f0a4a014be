#pragma once

// The Federation gRPC service (docs/architecture.md §6, §9).
//
// On a top node (node.role = "top"): RegisterPrefix / RemovePrefix store and remove prefix
// records 0.NA/<prefix> (registry/federation) for the nodes below. Callers authenticate with a
// node account's bearer token (a node credential the top node's admin issued, possibly with an
// expiry) and may only touch prefixes under that account's grants and records they registered
// themselves. The HS_SITE data must decode and name at least one usable server
// (wire::SiteUnusableReason). Every refusal has a message naming the field and is counted.
// On a secondary node both are FAILED_PRECONDITION.
//
// Status (operator role, on either kind of node): the role, and on a secondary the upward
// client's state (what waits in the spool, deliveries, the last error); on a top node the
// registrations accepted and refused since start.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <string>

#include "api/grpc/services.h"
#include "registry/base/stats_table.h"

namespace idnode::rpc {

// What the upward client reports (api/node/federation_client.h fills it in).
struct UpwardStats {
  uint64_t delivered = 0;
  uint64_t failures = 0;
  std::string last_error;
  int64_t last_success_ms = 0;
};

inline constexpr MetricFamily kUpwardPending{
    "idnode_federation_pending_registrations", MetricType::kGauge,
    "Prefix registrations and removals waiting for the top node."};
inline constexpr MetricFamily kUpwardDelivered{
    "idnode_federation_acknowledged_total", MetricType::kCounter,
    "Prefix registrations and removals the top node acknowledged."};
inline constexpr MetricFamily kUpwardFailures{
    "idnode_federation_failures_total", MetricType::kCounter,
    "Attempts to register with the top node that failed."};
inline constexpr StatRow<UpwardStats> kUpwardStatRows[] = {
    Stat<&UpwardStats::delivered>(kUpwardDelivered),
    Stat<&UpwardStats::failures>(kUpwardFailures),
};

struct FederationServerStats {
  uint64_t accepted = 0;
  uint64_t rejected_credential = 0;
  uint64_t rejected_grant = 0;
  uint64_t rejected_site = 0;
};

inline constexpr MetricFamily kFederationRequests{
    "idnode_federation_requests_total", MetricType::kCounter,
    "Top node: prefix registrations from nodes below, by outcome."};
inline constexpr StatRow<FederationServerStats> kFederationServerRows[] = {
    Stat<&FederationServerStats::accepted>(kFederationRequests, {"outcome", "accepted"}),
    Stat<&FederationServerStats::rejected_credential>(kFederationRequests,
                                                      {"outcome", "rejected_credential"}),
    Stat<&FederationServerStats::rejected_grant>(kFederationRequests,
                                                 {"outcome", "rejected_grant"}),
    Stat<&FederationServerStats::rejected_site>(kFederationRequests, {"outcome", "rejected_site"}),
};

struct FederationSettings {
  bool top = false;
  std::string upstream;                       // a secondary's top node (gRPC address), or ""
  std::function<UpwardStats()> upward_stats;  // may be empty
};

class FederationService final : public v1::Federation::CallbackService {
 public:
  FederationService(const ServiceEnv& env, FederationSettings settings)
      : env_(env), settings_(std::move(settings)) {}

  grpc::ServerUnaryReactor* RegisterPrefix(grpc::CallbackServerContext* context,
                                           const v1::RegisterPrefixRequest* request,
                                           v1::RegisterPrefixResponse* response) override;
  grpc::ServerUnaryReactor* RemovePrefix(grpc::CallbackServerContext* context,
                                         const v1::RemovePrefixRequest* request,
                                         v1::RemovePrefixResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::FederationStatusRequest* request,
                                   v1::FederationStatusResponse* response) override;

  FederationServerStats stats() const;

 private:
  // Authenticates a node and checks `prefix_text` against its grants; counts refusals. On success
  // `prefix` holds the normalised prefix. `method` names the call in the log of failures.
  absl::StatusOr<accounts::Principal> CheckCaller(const grpc::CallbackServerContext& context,
                                                  const std::string& prefix_text,
                                                  std::string& prefix, const char* method);
  void CountOutcome(const absl::Status& status);
  // The shape both writes share: top node only, the caller checked, then the op `make_op(account,
  // prefix, finish)` builds (or a refusal), whose completion calls finish(status).
  template <typename MakeOp>
  grpc::ServerUnaryReactor* RunRecordWrite(grpc::CallbackServerContext* context,
                                           const std::string& prefix_text, MakeOp make_op,
                                           const char* method = __builtin_FUNCTION());

  const ServiceEnv& env_;
  const FederationSettings settings_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_credential_{0};
  std::atomic<uint64_t> rejected_grant_{0};
  std::atomic<uint64_t> rejected_site_{0};
};

}  // namespace idnode::rpc
