#include "api/grpc/federation_service.h"

#include "api/grpc/auth.h"
#include "api/grpc/convert.h"
#include "api/grpc/internal/unary.h"
#include "registry/base/strings.h"
#include "registry/federation/federation.h"
#include "resolver/wire/wire.h"

namespace idnode::rpc {
namespace {

absl::Status NotTop() {
  return absl::FailedPreconditionError(
      "this node is not a top node (node.role = \"secondary\"); register prefixes with the top "
      "node configured in [federation]");
}

// The HS_SITE bytes a registration carries, decoded and checked for a usable server.
absl::Status CheckSite(const std::string& bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("site: HS_SITE data is required");
  wire::SiteInfo site;
  if (wire::WireError error = wire::DecodeSiteInfo(bytes, site); error != wire::WireError::kOk) {
    return absl::InvalidArgumentError(
        StrCat("site: HS_SITE data does not decode: ", wire::WireErrorMessage(error)));
  }
  if (std::string why = wire::SiteUnusableReason(site); !why.empty()) {
    return absl::InvalidArgumentError(StrCat("site: ", why));
  }
  return absl::OkStatus();
}

// A registration by service handle: the handle alone, valid, and not derived (HS_SITE.PREFIX
// needs the site itself).
absl::Status CheckService(const v1::RegisterPrefixRequest& request,
                          const identifier::IdentifierOptions& options) {
  if (!request.site().empty() || request.derived()) {
    return absl::InvalidArgumentError(
        "service: give either site (with derived) or a service handle, not both");
  }
  std::string normalized;
  size_t slash = 0;
  if (absl::Status valid = identifier::NormalizeIdentifierInto(request.service(), options,
                                                               "service", normalized, slash);
      !valid.ok()) {
    return valid;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<accounts::Principal> FederationService::CheckCaller(
    const grpc::CallbackServerContext& context, const std::string& prefix_text, std::string& prefix,
    const char* method) {
  auto principal = AuthenticateCall(env_, context, method);
  if (!principal.ok()) {
    rejected_credential_.fetch_add(1, std::memory_order_relaxed);
    return principal.status();
  }
  if (principal->role != accounts::Role::kNode && principal->role != accounts::Role::kAdmin) {
    rejected_credential_.fetch_add(1, std::memory_order_relaxed);
    return absl::PermissionDeniedError(StrCat("account ", principal->account, " has role ",
                                              RoleName(principal->role),
                                              "; registering prefixes needs a node account"));
  }
  auto normalized = identifier::NormalizePrefix(prefix_text, "prefix");
  if (!normalized.ok()) return normalized.status();
  prefix = *std::move(normalized);
  if (principal->role == accounts::Role::kNode &&
      !accounts::GrantCovers(principal->grants, prefix)) {
    rejected_grant_.fetch_add(1, std::memory_order_relaxed);
    std::string grants;
    for (const std::string& grant : principal->grants) {
      grants += (grants.empty() ? "" : ", ") + grant;
    }
    return absl::PermissionDeniedError(StrCat("prefix: ", prefix,
                                              " is outside the grants of node account ",
                                              principal->account, " (", grants, ")"));
  }
  return principal;
}

void FederationService::CountOutcome(const absl::Status& status) {
  if (status.ok()) {
    accepted_.fetch_add(1, std::memory_order_relaxed);
  } else if (status.code() == absl::StatusCode::kPermissionDenied) {
    rejected_grant_.fetch_add(1, std::memory_order_relaxed);  // another node's record
  }
}

template <typename MakeOp>
grpc::ServerUnaryReactor* FederationService::RunRecordWrite(grpc::CallbackServerContext* context,
                                                            const std::string& prefix_text,
                                                            MakeOp make_op, const char* method) {
  auto* reactor = context->DefaultReactor();
  absl::Status status = [&]() -> absl::Status {
    if (!settings_.top) return NotTop();
    std::string prefix;
    auto principal = CheckCaller(*context, prefix_text, prefix, method);
    if (!principal.ok()) return principal.status();
    auto op = make_op(principal->account, prefix, [this, reactor](const absl::Status& result) {
      CountOutcome(result);
      reactor->Finish(ToGrpc(result));
    });
    if (!op.ok()) return op.status();
    return env_.writer.Submit(*std::move(op));
  }();
  if (!status.ok()) reactor->Finish(ToGrpc(status));
  return reactor;
}

grpc::ServerUnaryReactor* FederationService::RegisterPrefix(
    grpc::CallbackServerContext* context, const v1::RegisterPrefixRequest* request,
    v1::RegisterPrefixResponse* response) {
  return RunRecordWrite(
      context, request->prefix(),
      [&](const std::string& account, const std::string& prefix,
          auto finish) -> absl::StatusOr<std::unique_ptr<writer::WriteOp>> {
        absl::Status valid = request->service().empty()
                                 ? CheckSite(request->site())
                                 : CheckService(*request, env_.identifier_options);
        if (!valid.ok()) {
          rejected_site_.fetch_add(1, std::memory_order_relaxed);
          return valid;
        }
        response->set_handle(federation::PrefixRecordHandle(prefix));
        return federation::MakePutPrefixRecordOp(
            account, prefix,
            federation::PrefixTarget{request->site(), request->derived(), request->service()},
            [response, finish](absl::StatusOr<federation::PrefixRecordChange> result) {
              if (result.ok()) response->set_changed(result->changed);
              finish(result.status());
            });
      });
}

grpc::ServerUnaryReactor* FederationService::RemovePrefix(grpc::CallbackServerContext* context,
                                                          const v1::RemovePrefixRequest* request,
                                                          v1::RemovePrefixResponse* response) {
  return RunRecordWrite(
      context, request->prefix(),
      [&](const std::string& account, const std::string& prefix,
          auto finish) -> absl::StatusOr<std::unique_ptr<writer::WriteOp>> {
        return federation::MakeRemovePrefixRecordOp(
            account, prefix,
            [response, finish](absl::StatusOr<federation::PrefixRecordChange> result) {
              if (result.ok()) response->set_removed(result->changed);
              finish(result.status());
            });
      });
}

grpc::ServerUnaryReactor* FederationService::Status(grpc::CallbackServerContext* context,
                                                    const v1::FederationStatusRequest* /*request*/,
                                                    v1::FederationStatusResponse* response) {
  return internal::RunRead(
      env_, context, accounts::Role::kOperator,
      [&](const accounts::Principal&, const store::ReadTxn& txn) {
        response->set_role(settings_.top ? "top" : "secondary");
        response->set_top(settings_.upstream);
        auto pending = federation::ListUpward(txn);
        if (!pending.ok()) return pending.status();
        for (const federation::PendingUpward& item : *pending) {
          v1::PendingRegistration* out = response->add_pending();
          out->set_prefix(item.entry.prefix);
          out->set_operation(std::string(federation::UpwardOpName(item.entry.op)));
          out->set_queued_ms(item.entry.queued_ms);
        }
        if (settings_.upward_stats) {
          UpwardStats upward = settings_.upward_stats();
          response->set_delivered(upward.delivered);
          response->set_failures(upward.failures);
          response->set_last_error(upward.last_error);
          response->set_last_success_ms(upward.last_success_ms);
        }
        FederationServerStats server = stats();
        response->set_accepted(server.accepted);
        response->set_rejected_credential(server.rejected_credential);
        response->set_rejected_grant(server.rejected_grant);
        response->set_rejected_site(server.rejected_site);
        return absl::OkStatus();
      });
}

FederationServerStats FederationService::stats() const {
  return FederationServerStats{accepted_.load(std::memory_order_relaxed),
                               rejected_credential_.load(std::memory_order_relaxed),
                               rejected_grant_.load(std::memory_order_relaxed),
                               rejected_site_.load(std::memory_order_relaxed)};
}

}  // namespace idnode::rpc
