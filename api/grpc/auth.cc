#include "api/grpc/auth.h"

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

namespace idnode::api {

absl::StatusOr<Principal> AuthenticateCall(store::Store& store, const Clock& clock,
                                           const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  std::string_view token;
  if (it != metadata.end()) {
    std::string_view header(it->second.data(), it->second.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) {
      return absl::UnauthenticatedError("authorization: expected 'Bearer <token>'");
    }
    token = header.substr(kBearer.size());
  }
  ASSIGN_OR_RETURN(store::ReadTxn txn, store.BeginRead());
  return Authenticate(txn, token, clock.NowMillis());
}

absl::Status RequireRole(const Principal& principal, Role role) {
  if (principal.role == Role::kAdmin || principal.role == role) return absl::OkStatus();
  return absl::PermissionDeniedError(StrCat("account ", principal.account, " has role ",
                                            RoleName(principal.role), "; this call needs ",
                                            RoleName(role)));
}

}  // namespace idnode::api
