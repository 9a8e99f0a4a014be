#include "registry/writer/registry_ops.h"

#include <algorithm>
#include <map>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/record.h"
#include "registry/writer/template_ops.h"

namespace idnode::writer {
namespace {

uint32_t Seconds(int64_t ms) { return static_cast<uint32_t>(ms / 1000); }

// Reads and decodes a stored record; NOT_FOUND when absent.
absl::StatusOr<identifier::RecordView> ReadRecord(const store::WriteTxn& txn,
                                                  const identifier::Identifier& id) {
  ASSIGN_OR_RETURN(std::optional<identifier::RecordView> record,
                   identifier::IdentifierTable::Get(txn, id.key()));
  if (!record) {
    return absl::NotFoundError(StrCat("identifier ", id.original(), " is not registered"));
  }
  return *record;
}

}  // namespace

absl::StatusOr<PreparedRecord> PrepareRecord(std::string_view identifier,
                                             std::vector<identifier::HandleValue> values,
                                             const identifier::IdentifierOptions& options) {
  ASSIGN_OR_RETURN(identifier::Identifier id, identifier::Identifier::Parse(identifier, options));
  RETURN_IF_ERROR(identifier::ValidateValues(values));
  ASSIGN_OR_RETURN(std::optional<uint32_t> template_version,
                   templates::NamedTemplateVersion(values));
  for (identifier::HandleValue& v : values) v.timestamp = 0;
  ASSIGN_OR_RETURN(std::string encoded, identifier::EncodeValueList(std::move(values)));
  return PreparedRecord{std::move(id), std::move(encoded), template_version.has_value()};
}

absl::Status AuthorizePrefixWrite(const store::WriteTxn& txn, const accounts::Principal& principal,
                                  std::string_view prefix, accounts::PrefixRecord* record) {
  ASSIGN_OR_RETURN(std::optional<accounts::PrefixRecord> stored,
                   accounts::PrefixTable::Get(txn, prefix));
  if (!stored) {
    return absl::NotFoundError(StrCat("prefix ", prefix, " is not allocated on this node"));
  }
  *record = std::move(*stored);
  if (principal.role != accounts::Role::kAdmin &&
      (principal.role != accounts::Role::kRegistrant || record->owner != principal.account)) {
    return absl::PermissionDeniedError(StrCat("account ", principal.account,
                                              " may not write under prefix ", prefix,
                                              ", which belongs to another account"));
  }
  return absl::OkStatus();
}

CreateOp::CreateOp(accounts::Principal principal, std::vector<absl::StatusOr<PreparedRecord>> items,
                   DoneFn done)
    : principal_(std::move(principal)),
      items_(std::move(items)),
      bytes_(BytesOf(items_)),
      done_(std::move(done)) {}

size_t CreateOp::BytesOf(const std::vector<absl::StatusOr<PreparedRecord>>& items) {
  size_t bytes = sizeof(CreateOp) + items.capacity() * sizeof(items[0]);
  for (const auto& item : items) {
    if (item.ok()) {
      bytes += item->id.original().capacity() + item->id.key().capacity() + item->values.capacity();
    }
  }
  return bytes;
}

absl::Status CreateOp::Apply(WriteContext& context) {
  outcomes_.assign(items_.size(), ItemOutcome{});
  store::WriteTxn& txn = context.txn();
  // Batches usually share one prefix: authorise it once.
  std::string last_prefix;
  absl::Status last_auth;
  accounts::PrefixRecord prefix_record;
  TemplateChecker templates;
  for (size_t i = 0; i < items_.size(); ++i) {
    ItemOutcome& outcome = outcomes_[i];
    if (!items_[i].ok()) {
      outcome.status = items_[i].status();
      continue;
    }
    PreparedRecord& item = *items_[i];
    std::string_view prefix = item.id.prefix();
    if (i == 0 || prefix != last_prefix) {
      last_prefix.assign(prefix);
      last_auth = AuthorizePrefixWrite(txn, principal_, prefix, &prefix_record);
      if (store::IsStoreError(last_auth)) return last_auth;
    }
    if (!last_auth.ok()) {
      outcome.status = last_auth;
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<identifier::RecordView> existing,
                     identifier::IdentifierTable::Get(txn, item.id.key()));
    if (existing) {
      const identifier::RecordView& record = *existing;
      if (identifier::SameValuesIgnoringTimestamps(record.values, item.values)) {
        outcome.unchanged = true;
        outcome.version = record.version;
      } else {
        outcome.status = absl::AlreadyExistsError(
            StrCat("identifier ", item.id.original(), " already exists with different values"));
      }
      continue;
    }
    int64_t quota_used = 0;
    if (prefix_record.quota != 0) {
      ASSIGN_OR_RETURN(quota_used, context.CounterValue(stats::Metric::kIdentifiersTotal,
                                                        stats::kAllTime, prefix));
    }
    if (prefix_record.quota != 0 && quota_used >= static_cast<int64_t>(prefix_record.quota)) {
      outcome.status = absl::ResourceExhaustedError(StrCat(
          "prefix ", prefix, " has reached its quota of ", prefix_record.quota, " identifiers"));
      continue;
    }
    if (item.names_template) {
      ASSIGN_OR_RETURN(std::vector<identifier::HandleValue> values,
                       identifier::DecodeValueList(item.values));
      outcome.status = templates.Check(txn, prefix, values);
      if (store::IsStoreError(outcome.status)) return outcome.status;
      if (!outcome.status.ok()) continue;
    }
    identifier::StampTimestamps(item.values, Seconds(context.now_ms()));
    std::string record = identifier::EncodeRecord(
        identifier::RecordView{context.now_ms(), context.now_ms(), 1, item.id.original(),
                               principal_.account, item.values});
    RETURN_IF_ERROR(txn.Put(store::Db::kIds, item.id.key(), record));
    RETURN_IF_ERROR(context.AppendChange(ChangeKind::kCreate, principal_.account, item.id.key()));
    context.CountRegistration(prefix, +1);
    outcome.version = 1;
  }
  return absl::OkStatus();
}

absl::Status ValidateUpdate(const UpdateRequest& request) {
  if (request.replace_all) return identifier::ValidateValues(request.replace);
  if (request.add.empty() && request.modify.empty() && request.remove.empty()) {
    return absl::InvalidArgumentError("update: nothing to change (give add, modify or remove)");
  }
  if (!request.add.empty()) RETURN_IF_ERROR(identifier::ValidateValues(request.add));
  if (!request.modify.empty()) RETURN_IF_ERROR(identifier::ValidateValues(request.modify));
  return absl::OkStatus();
}

namespace {

// Applies add / modify / remove to `values` (keyed by index). Changed values get `now` as
// their timestamp.
absl::Status EditValues(const UpdateRequest& request, uint32_t now,
                        std::map<uint32_t, identifier::HandleValue>& values) {
  for (uint32_t index : request.remove) {
    if (values.erase(index) == 0) {
      return absl::NotFoundError(StrCat("remove: value index ", index, " does not exist"));
    }
  }
  for (const identifier::HandleValue& v : request.modify) {
    auto it = values.find(v.index);
    if (it == values.end()) {
      return absl::NotFoundError(StrCat("modify: value index ", v.index, " does not exist"));
    }
    it->second = v;
    it->second.timestamp = now;
  }
  for (const identifier::HandleValue& v : request.add) {
    auto [it, inserted] = values.emplace(v.index, v);
    if (!inserted) {
      return absl::AlreadyExistsError(
          StrCat("add: value index ", v.index, " already exists (use modify)"));
    }
    it->second.timestamp = now;
  }
  if (values.empty()) {
    return absl::FailedPreconditionError(
        "update: would leave no values; delete the identifier instead");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UpdateOp::Apply(WriteContext& context) {
  outcome_ = ItemOutcome{};
  store::WriteTxn& txn = context.txn();
  const identifier::Identifier& id = request_.id;
  accounts::PrefixRecord prefix_record;
  absl::Status auth = AuthorizePrefixWrite(txn, principal_, id.prefix(), &prefix_record);
  if (store::IsStoreError(auth)) return auth;
  auto record = ReadRecord(txn, id);
  if (!auth.ok() || !record.ok()) {
    outcome_.status = !auth.ok() ? auth : record.status();
    return store::IsStoreError(outcome_.status) ? outcome_.status : absl::OkStatus();
  }
  const uint32_t now = Seconds(context.now_ms());
  std::vector<identifier::HandleValue> result;
  if (request_.replace_all) {
    result = request_.replace;
    for (identifier::HandleValue& v : result) v.timestamp = now;
  } else {
    ASSIGN_OR_RETURN(std::vector<identifier::HandleValue> stored,
                     identifier::DecodeValueList(record->values));
    std::map<uint32_t, identifier::HandleValue> by_index;
    for (identifier::HandleValue& v : stored) by_index.emplace(v.index, std::move(v));
    if (absl::Status s = EditValues(request_, now, by_index); !s.ok()) {
      outcome_.status = s;
      return absl::OkStatus();
    }
    for (auto& [index, v] : by_index) result.push_back(std::move(v));
  }
  absl::Status valid = identifier::ValidateValues(result);
  if (valid.ok()) valid = TemplateChecker().Check(txn, id.prefix(), result);
  if (store::IsStoreError(valid)) return valid;
  if (!valid.ok()) {
    outcome_.status = valid;
    return absl::OkStatus();
  }
  auto encoded = identifier::EncodeValueList(std::move(result));
  if (!encoded.ok()) {
    outcome_.status = encoded.status();
    return absl::OkStatus();
  }
  outcome_.version = record->version + 1;
  std::string bytes = identifier::EncodeRecord(
      identifier::RecordView{record->created_ms, context.now_ms(), outcome_.version, id.original(),
                             principal_.account, *encoded});
  RETURN_IF_ERROR(txn.Put(store::Db::kIds, id.key(), bytes));
  return context.AppendChange(ChangeKind::kUpdate, principal_.account, id.key());
}

absl::Status DeleteOp::Apply(WriteContext& context) {
  outcome_ = ItemOutcome{};
  store::WriteTxn& txn = context.txn();
  accounts::PrefixRecord prefix_record;
  absl::Status auth = AuthorizePrefixWrite(txn, principal_, id_.prefix(), &prefix_record);
  if (store::IsStoreError(auth)) return auth;
  auto record = ReadRecord(txn, id_);
  if (!auth.ok() || !record.ok()) {
    outcome_.status = !auth.ok() ? auth : record.status();
    return store::IsStoreError(outcome_.status) ? outcome_.status : absl::OkStatus();
  }
  outcome_.version = record->version;
  RETURN_IF_ERROR(txn.Delete(store::Db::kIds, id_.key()));
  RETURN_IF_ERROR(context.AppendChange(ChangeKind::kDelete, principal_.account, id_.key()));
  context.CountRegistration(id_.prefix(), -1);
  return absl::OkStatus();
}

}  // namespace idnode::writer
