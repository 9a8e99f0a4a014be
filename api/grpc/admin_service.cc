#include "api/grpc/auth.h"
#include "api/grpc/convert.h"
#include "api/grpc/internal/unary.h"
#include "api/grpc/services.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/writer/admin_ops.h"

namespace idnode::rpc {
namespace {

using internal::OpOrError;
using internal::RunRead;

void ToProto(const accounts::AccountEntry& entry, v1::Account* out) {
  out->set_id(entry.id);
  out->set_role(std::string(accounts::RoleName(entry.record.role)));
  out->set_created_ms(entry.record.created_ms);
  out->set_disabled(entry.record.disabled);
  for (const std::string& grant : entry.record.grants) out->add_grants(grant);
}

// Completes a prefix allocation or release: tells whoever waits for prefix changes (the upward
// registration client), then finishes the call.
auto FinishPrefixChange(const ServiceEnv& env, grpc::ServerUnaryReactor* reactor) {
  return [&env, reactor](absl::StatusOr<bool> result) {
    if (result.ok() && env.prefix_committed) env.prefix_committed();
    reactor->Finish(ToGrpc(result.status()));
  };
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::CreateAccount(grpc::CallbackServerContext* context,
                                                      const v1::CreateAccountRequest* request,
                                                      v1::Account* response) {
  return internal::RunWrite(
      env_, context, accounts::Role::kAdmin,
      [&](const accounts::Principal& caller, auto* reactor) -> OpOrError {
        auto role = accounts::ParseRole(request->role());
        if (!role.ok()) return role.status();
        if (absl::Status s = accounts::ValidateAccountId(request->id()); !s.ok()) return s;
        response->set_id(request->id());
        response->set_role(request->role());
        std::vector<std::string> grants(request->grants().begin(), request->grants().end());
        if (*role == accounts::Role::kNode) {
          auto normalized = accounts::NormalizeGrants(grants, "grants");
          if (!normalized.ok()) return normalized.status();
          for (const std::string& grant : *normalized) response->add_grants(grant);
        }
        return writer::MakeCreateAccountOp(
            caller.account, request->id(), *role, std::move(grants),
            [reactor](absl::StatusOr<bool> result) { reactor->Finish(ToGrpc(result.status())); });
      });
}

grpc::ServerUnaryReactor* AdminService::ListAccounts(grpc::CallbackServerContext* context,
                                                     const v1::ListAccountsRequest* /*request*/,
                                                     v1::ListAccountsResponse* response) {
  return RunRead(env_, context, accounts::Role::kAdmin,
                 [&](const accounts::Principal&, const store::ReadTxn& txn) {
                   ASSIGN_OR_RETURN(std::vector<accounts::AccountEntry> entries,
                                    accounts::ListAccounts(txn));
                   for (const accounts::AccountEntry& entry : entries)
                     ToProto(entry, response->add_accounts());
                   return absl::OkStatus();
                 });
}

grpc::ServerUnaryReactor* AdminService::IssueToken(grpc::CallbackServerContext* context,
                                                   const v1::IssueTokenRequest* request,
                                                   v1::IssueTokenResponse* response) {
  return internal::RunWrite(
      env_, context, accounts::Role::kAdmin,
      [&](const accounts::Principal& caller, auto* reactor) -> OpOrError {
        if (absl::Status s = accounts::ValidateAccountId(request->account()); !s.ok()) return s;
        auto token = accounts::GenerateToken();
        if (!token.ok()) return token.status();
        response->set_token(*token);
        if (request->valid_seconds() > uint64_t{100} * 365 * 86'400) {
          return absl::InvalidArgumentError("valid_seconds: at most 100 years");
        }
        return writer::MakeIssueTokenOp(
            caller.account, request->account(), *token, request->label(), request->valid_seconds(),
            [reactor, response](absl::StatusOr<writer::IssuedToken> result) {
              if (result.ok()) {
                response->set_token_id(result->token_id);
                response->set_expires_ms(result->expires_ms);
              } else {
                response->clear_token();
              }
              reactor->Finish(ToGrpc(result.status()));
            });
      });
}

grpc::ServerUnaryReactor* AdminService::RevokeToken(grpc::CallbackServerContext* context,
                                                    const v1::RevokeTokenRequest* request,
                                                    v1::RevokeTokenResponse* response) {
  return internal::RunWrite(env_, context, accounts::Role::kAdmin,
                            [&](const accounts::Principal& caller, auto* reactor) -> OpOrError {
                              return writer::MakeRevokeTokenOp(
                                  caller.account, request->token_id(),
                                  [reactor, response](absl::StatusOr<bool> result) {
                                    if (result.ok()) response->set_revoked(*result);
                                    reactor->Finish(ToGrpc(result.status()));
                                  });
                            });
}

grpc::ServerUnaryReactor* AdminService::ListTokens(grpc::CallbackServerContext* context,
                                                   const v1::ListTokensRequest* request,
                                                   v1::ListTokensResponse* response) {
  return RunRead(env_, context, accounts::Role::kAdmin,
                 [&](const accounts::Principal&, const store::ReadTxn& txn) {
                   ASSIGN_OR_RETURN(std::vector<accounts::TokenEntry> tokens,
                                    accounts::ListTokens(txn, request->account()));
                   for (const accounts::TokenEntry& entry : tokens) {
                     v1::TokenInfo* info = response->add_tokens();
                     info->set_token_id(entry.token_id);
                     info->set_account(entry.record.account);
                     info->set_label(entry.record.label);
                     info->set_issued_ms(entry.record.issued_ms);
                     info->set_revoked_ms(entry.record.revoked_ms);
                     info->set_expires_ms(entry.record.expires_ms);
                   }
                   return absl::OkStatus();
                 });
}

grpc::ServerUnaryReactor* AdminService::AllocatePrefix(grpc::CallbackServerContext* context,
                                                       const v1::AllocatePrefixRequest* request,
                                                       v1::Prefix* response) {
  return internal::RunWrite(
      env_, context, accounts::Role::kAdmin,
      [&](const accounts::Principal& caller, auto* reactor) -> OpOrError {
        auto prefix = identifier::NormalizePrefix(request->prefix(), "prefix");
        if (!prefix.ok()) return prefix.status();
        if (absl::Status s = accounts::ValidateAccountId(request->owner()); !s.ok()) return s;
        response->set_prefix(*prefix);
        response->set_owner(request->owner());
        response->set_quota(request->quota());
        return MakeAllocatePrefixOp(caller.account, env_.node_prefix, *prefix, request->owner(),
                                    request->quota(), env_.prefix_hook,
                                    FinishPrefixChange(env_, reactor));
      });
}

grpc::ServerUnaryReactor* AdminService::ReleasePrefix(grpc::CallbackServerContext* context,
                                                      const v1::ReleasePrefixRequest* request,
                                                      v1::ReleasePrefixResponse* /*response*/) {
  return internal::RunWrite(env_, context, accounts::Role::kAdmin,
                            [&](const accounts::Principal& caller, auto* reactor) -> OpOrError {
                              auto prefix =
                                  identifier::NormalizePrefix(request->prefix(), "prefix");
                              if (!prefix.ok()) return prefix.status();
                              return MakeReleasePrefixOp(caller.account, *prefix, env_.prefix_hook,
                                                         FinishPrefixChange(env_, reactor));
                            });
}

grpc::ServerUnaryReactor* AdminService::ListPrefixes(grpc::CallbackServerContext* context,
                                                     const v1::ListPrefixesRequest* request,
                                                     v1::ListPrefixesResponse* response) {
  return RunRead(env_, context, accounts::Role::kRegistrant,
                 [&](const accounts::Principal& caller, const store::ReadTxn& txn) -> absl::Status {
                   std::string owner = request->owner();
                   if (caller.role != accounts::Role::kAdmin) {
                     if (!owner.empty() && owner != caller.account) {
                       return absl::PermissionDeniedError(
                           "owner: registrants may list only their own prefixes");
                     }
                     owner = caller.account;
                   }
                   ASSIGN_OR_RETURN(std::vector<accounts::PrefixEntry> prefixes,
                                    accounts::ListPrefixes(txn, owner));
                   for (const accounts::PrefixEntry& entry : prefixes) {
                     v1::Prefix* out = response->add_prefixes();
                     out->set_prefix(entry.prefix);
                     out->set_owner(entry.record.owner);
                     out->set_quota(entry.record.quota);
                     out->set_created_ms(entry.record.created_ms);
                   }
                   return absl::OkStatus();
                 });
}

}  // namespace idnode::rpc
