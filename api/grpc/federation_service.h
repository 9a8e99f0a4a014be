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

namespace idnode::api {

// What the upward client reports (api/node/federation_client.h fills it in).
struct UpwardStats {
  uint64_t delivered = 0;
  uint64_t failures = 0;
  std::string last_error;
  int64_t last_success_ms = 0;
};

struct FederationServerStats {
  uint64_t accepted = 0;
  uint64_t rejected_credential = 0;
  uint64_t rejected_grant = 0;
  uint64_t rejected_site = 0;
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
  absl::StatusOr<Principal> CheckCaller(const grpc::CallbackServerContext& context,
                                        const std::string& prefix_text, std::string& prefix,
                                        const char* method);
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

}  // namespace idnode::api
