#pragma once

// Bearer-token authentication of a gRPC call against the store.

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "registry/accounts/accounts.h"
#include "registry/base/clock.h"
#include "registry/store/store.h"

namespace idnode::api {

// Reads `authorization: Bearer <token>` and checks it (expiry against `clock`). UNAUTHENTICATED
// with a reason otherwise.
absl::StatusOr<Principal> AuthenticateCall(store::Store& store, const Clock& clock,
                                           const grpc::CallbackServerContext& context);

// PERMISSION_DENIED unless `principal` has `role` (admins pass every check).
absl::Status RequireRole(const Principal& principal, Role role);

}  // namespace idnode::api
