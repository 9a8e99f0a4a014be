#include "api/grpc/convert.h"
#include "api/grpc/services.h"
#include "registry/base/strings.h"
#include "resolver/lookup/lookup.h"

namespace idnode::api {

grpc::ServerUnaryReactor* ResolverService::Resolve(grpc::CallbackServerContext* context,
                                                   const v1::ResolveRequest* request,
                                                   v1::ResolveResponse* response) {
  auto* reactor = context->DefaultReactor();
  resolver::QueryOutcome outcome = resolver::QueryOutcome::kServerError;
  std::string counted_prefix;  // as QueryScratch::counted_prefix
  reactor->Finish(ToGrpc([&]() -> absl::Status {
    auto id = Identifier::Parse(request->identifier(), env_.identifier_options);
    if (!id.ok()) {
      outcome = resolver::QueryOutcome::kInvalidHandle;
      return id.status();
    }
    std::vector<std::string_view> types(request->types().begin(), request->types().end());
    resolver::ResolveFilter filter{
        std::span<const uint32_t>(request->indexes().data(), request->indexes().size()), types,
        /*public_only=*/true};
    auto txn = env_.store.BeginRead();
    if (!txn.ok()) return txn.status();
    auto found = resolver::FindRecord(*txn, id->key());
    if (!found.ok() || found->has_value() ||
        txn->Get(store::Db::kPrefixes, id->prefix()).has_value()) {
      counted_prefix = id->prefix();  // the record exists, or at least its prefix does
    }
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      outcome = resolver::QueryOutcome::kHandleNotFound;
      return absl::NotFoundError(StrCat("identifier ", id->original(), " is not registered"));
    }
    const RecordView* record = &**found;
    response->set_identifier(std::string(record->original));
    auto matched =
        resolver::ForEachMatchingValue(record->values, filter, [&](const EncodedValue& value) {
          if (auto decoded = DecodeValue(value.bytes); decoded.ok()) {
            ToProto(*decoded, response->add_values());
          }
        });
    if (!matched.ok()) return matched.status();
    if (*matched == 0) {
      outcome = resolver::QueryOutcome::kValuesNotFound;
      return absl::NotFoundError(
          StrCat("identifier ", id->original(), " has no public values matching the filter"));
    }
    outcome = resolver::QueryOutcome::kFound;
    return absl::OkStatus();
  }()));
  counters_.Add(outcome);
  if (!counted_prefix.empty()) prefixes_.Count(counted_prefix, outcome);
  return reactor;
}

}  // namespace idnode::api
