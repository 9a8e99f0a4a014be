#include "api/grpc/auth.h"

#include "api/grpc/services.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

namespace idnode::rpc {

namespace {

absl::StatusOr<accounts::Principal> CheckToken(const ServiceEnv& env,
                                               const grpc::CallbackServerContext& context,
                                               int64_t now_ms) {
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
  ASSIGN_OR_RETURN(store::ReadTxn txn, env.store.BeginRead());
  return accounts::Authenticate(txn, token, now_ms);
}

}  // namespace

absl::StatusOr<accounts::Principal> AuthenticateCall(const ServiceEnv& env,
                                                     const grpc::CallbackServerContext& context,
                                                     const char* method) {
  const int64_t now_ms = env.clock.NowMillis();
  if (env.auth_guard->Tracking()) RETURN_IF_ERROR(env.auth_guard->Admit(context.peer(), now_ms));
  auto principal = CheckToken(env, context, now_ms);
  if (!principal.ok() && principal.status().code() == absl::StatusCode::kUnauthenticated) {
    env.auth_guard->Failed(context.peer(), method, ToStd(principal.status().message()), now_ms);
  }
  return principal;
}

absl::Status RequireRole(const accounts::Principal& principal, accounts::Role role) {
  if (principal.role == accounts::Role::kAdmin || principal.role == role) return absl::OkStatus();
  return absl::PermissionDeniedError(StrCat("account ", principal.account, " has role ",
                                            accounts::RoleName(principal.role),
                                            "; this call needs ", RoleName(role)));
}

}  // namespace idnode::rpc
