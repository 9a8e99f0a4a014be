#pragma once

// Bearer-token authentication of a gRPC call against the store.

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "registry/accounts/accounts.h"
#include "registry/base/clock.h"
#include "registry/store/store.h"

namespace idnode::rpc {

struct ServiceEnv;

// Reads `authorization: Bearer <token>` and checks it (expiry against the env's clock).
// UNAUTHENTICATED with a reason otherwise, logged and counted by the env's AuthGuard with
// `method` (by default the name of the handler that asks: call it from the handler itself, or
// pass the handler's name on); RESOURCE_EXHAUSTED, before any token is looked at, while the
// caller's source is being slowed for failing too often.
absl::StatusOr<accounts::Principal> AuthenticateCall(const ServiceEnv& env,
                                                     const grpc::CallbackServerContext& context,
                                                     const char* method = __builtin_FUNCTION());

// PERMISSION_DENIED unless `principal` has `role` (admins pass every check).
absl::Status RequireRole(const accounts::Principal& principal, accounts::Role role);

}  // namespace idnode::rpc
