#include "api/grpc/convert.h"
#include "api/grpc/services.h"
#include "registry/base/strings.h"
#include "resolver/lookup/lookup.h"
#include "resolver/query/resolve.h"

namespace idnode::rpc {

// The node's one resolution step (resolver/query/resolve.h), as the Handle front ends take it,
// encoded for gRPC: the values that pass the filter, or a status whose message says why not.
grpc::ServerUnaryReactor* ResolverService::Resolve(grpc::CallbackServerContext* context,
                                                   const v1::ResolveRequest* request,
                                                   v1::ResolveResponse* response) {
  auto* reactor = context->DefaultReactor();
  query::QueryOutcome outcome = query::QueryOutcome::kServerError;
  std::string counted_prefix;
  reactor->Finish(ToGrpc([&]() -> absl::Status {
    if (env_.rules == nullptr) return absl::UnavailableError("resolution is not set up yet");
    auto txn = env_.store.BeginRead();
    if (!txn.ok()) return txn.status();
    query::ResolveBuffers buffers;
    const query::Resolution resolved =
        query::Resolve(*env_.rules, *txn, request->identifier(), /*do_not_refer=*/false, buffers);
    outcome = resolved.outcome;
    counted_prefix = resolved.counted_prefix;
    const std::string& asked = request->identifier();
    switch (resolved.outcome) {
      case query::QueryOutcome::kFound:
        break;
      case query::QueryOutcome::kInvalidHandle:
        return absl::InvalidArgumentError(resolved.message);
      case query::QueryOutcome::kHandleNotFound:
        return absl::NotFoundError(StrCat("identifier ", asked, " is not registered",
                                          resolved.message.empty() ? "" : ": ", resolved.message));
      case query::QueryOutcome::kNotResponsible:
        return absl::NotFoundError(StrCat("identifier ", asked, ": ", resolved.message));
      case query::QueryOutcome::kReferral:
        return absl::NotFoundError(
            StrCat("identifier ", asked, " is served by another node: resolve ", resolved.handle,
                   " for its site (Handle response code ", resolved.response_code, ")"));
      default:
        return absl::InternalError(resolved.message);
    }
    response->set_identifier(std::string(resolved.handle));
    std::vector<std::string_view> types(request->types().begin(), request->types().end());
    lookup::ResolveFilter filter{
        std::span<const uint32_t>(request->indexes().data(), request->indexes().size()), types,
        /*public_only=*/true};
    auto matched = lookup::ForEachMatchingValue(
        resolved.values, filter, [&](const identifier::EncodedValue& value) {
          if (auto decoded = identifier::DecodeValue(value.bytes); decoded.ok()) {
            ToProto(*decoded, response->add_values());
          }
        });
    if (!matched.ok()) {
      outcome = query::QueryOutcome::kServerError;
      return absl::InternalError("stored value list is malformed");
    }
    if (*matched == 0) {
      outcome = query::QueryOutcome::kValuesNotFound;
      return absl::NotFoundError(
          StrCat("identifier ", asked, " has no public values matching the filter"));
    }
    return absl::OkStatus();
  }()));
  counters_.Add(outcome);
  if (!counted_prefix.empty()) prefixes_.Count(counted_prefix, outcome);
  return reactor;
}

}  // namespace idnode::rpc
