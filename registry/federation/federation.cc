#include "registry/federation/federation.h"

#include "registry/accounts/accounts.h"
#include "registry/base/bytes.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"
#include "registry/identifier/record.h"
#include "registry/identifier/value.h"
#include "registry/writer/function_op.h"

namespace idnode::federation {
namespace {

constexpr uint8_t kFormat = 1;
constexpr std::string_view kMetaSite = "federation_site";
constexpr std::string_view kMetaTop = "federation_top";
constexpr std::string_view kMetaSiteSerial = "site_serial";
constexpr std::string_view kMetaSiteNumbered = "site_numbered";

uint32_t Seconds(int64_t ms) { return static_cast<uint32_t>(ms / 1000); }

// The record under `handle` when `account` may change it: absent, or owned by `account`.
absl::StatusOr<std::optional<identifier::RecordView>> OwnedRecord(store::WriteTxn& txn,
                                                                  std::string_view handle,
                                                                  std::string_view account) {
  ASSIGN_OR_RETURN(std::optional<identifier::RecordView> stored,
                   identifier::IdentifierTable::Get(txn, handle));
  if (!stored) return std::optional<identifier::RecordView>();
  const identifier::RecordView& record = *stored;
  if (record.owner != account) {
    return absl::PermissionDeniedError(
        StrCat(handle, " is registered by node account ", record.owner, ", not ", account));
  }
  return std::optional<identifier::RecordView>(record);
}

}  // namespace

std::string PrefixRecordHandle(std::string_view prefix) {
  return StrCat(identifier::kNaPrefix, "/", prefix);
}

std::string PrefixRecordValues(std::string_view site, bool derived, uint32_t now_seconds) {
  std::string out;
  ByteWriter(out).U32(derived ? 2 : 1);
  auto append = [&](uint32_t index, std::string_view type) {
    identifier::HandleValue value;
    value.index = index;
    value.type = std::string(type);
    value.data = std::string(site);
    value.permissions = identifier::permission::kDefault;
    value.timestamp = now_seconds;
    identifier::EncodeValue(value, out);
  };
  append(1, identifier::kSiteType);
  if (derived) append(2, identifier::kPrefixSiteType);
  return out;
}

std::string PrefixTargetValues(const PrefixTarget& target, uint32_t now_seconds) {
  if (target.service.empty()) return PrefixRecordValues(target.site, target.derived, now_seconds);
  std::string out;
  ByteWriter(out).U32(1);
  identifier::HandleValue value;
  value.index = 1;
  value.type = std::string(identifier::kServiceType);
  value.data = target.service;
  value.permissions = identifier::permission::kDefault;
  value.timestamp = now_seconds;
  identifier::EncodeValue(value, out);
  return out;
}

std::unique_ptr<writer::WriteOp> MakePutPrefixRecordOp(
    std::string account, std::string prefix, PrefixTarget target,
    std::function<void(absl::StatusOr<PrefixRecordChange>)> done) {
  return writer::MakeFunctionOp<PrefixRecordChange>(
      [account = std::move(account), prefix = std::move(prefix), target = std::move(target)](
          writer::WriteContext& context) -> absl::StatusOr<PrefixRecordChange> {
        store::WriteTxn& txn = context.txn();
        const std::string handle = PrefixRecordHandle(prefix);
        ASSIGN_OR_RETURN(std::optional<identifier::RecordView> existing,
                         OwnedRecord(txn, handle, account));
        std::string values = PrefixTargetValues(target, Seconds(context.now_ms()));
        if (existing && identifier::SameValuesIgnoringTimestamps(existing->values, values)) {
          return PrefixRecordChange{false};
        }
        identifier::RecordView record{existing ? existing->created_ms : context.now_ms(),
                                      context.now_ms(),
                                      existing ? existing->version + 1 : 1,
                                      handle,
                                      account,
                                      values};
        RETURN_IF_ERROR(txn.Put(store::Db::kIds, handle, identifier::EncodeRecord(record)));
        RETURN_IF_ERROR(
            context.AppendChange(writer::ChangeKind::kPrefixRecordPut, account, handle));
        return PrefixRecordChange{true};
      },
      std::move(done));
}

std::unique_ptr<writer::WriteOp> MakeRemovePrefixRecordOp(
    std::string account, std::string prefix,
    std::function<void(absl::StatusOr<PrefixRecordChange>)> done) {
  return writer::MakeFunctionOp<PrefixRecordChange>(
      [account = std::move(account), prefix = std::move(prefix)](
          writer::WriteContext& context) -> absl::StatusOr<PrefixRecordChange> {
        store::WriteTxn& txn = context.txn();
        const std::string handle = PrefixRecordHandle(prefix);
        ASSIGN_OR_RETURN(std::optional<identifier::RecordView> existing,
                         OwnedRecord(txn, handle, account));
        if (!existing) return PrefixRecordChange{false};
        RETURN_IF_ERROR(txn.Delete(store::Db::kIds, handle));
        RETURN_IF_ERROR(
            context.AppendChange(writer::ChangeKind::kPrefixRecordRemove, account, handle));
        return PrefixRecordChange{true};
      },
      std::move(done));
}

std::string_view UpwardOpName(UpwardOp op) {
  return op == UpwardOp::kRegister ? "register" : "remove";
}

std::string EncodeUpwardEntry(const UpwardEntry& entry) {
  std::string out;
  ByteWriter w(out);
  w.U8(kFormat);
  w.U8(static_cast<uint8_t>(entry.op));
  w.U8(entry.derived ? 1 : 0);
  w.U64(static_cast<uint64_t>(entry.queued_ms));
  w.Bytes32(entry.site);
  return out;
}

absl::StatusOr<UpwardEntry> DecodeUpwardEntry(std::string_view prefix, std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t format = 0, op = 0, derived = 0;
  uint64_t queued = 0;
  std::string_view site;
  if (!r.U8(format) || format != kFormat || !r.U8(op) || !r.U8(derived) || !r.U64(queued) ||
      !r.Bytes32(site, 1u << 20) || r.remaining() != 0 || op < 1 || op > 2) {
    return absl::DataLossError(StrCat("federation spool entry for ", prefix, " is malformed"));
  }
  return UpwardEntry{std::string(prefix), static_cast<UpwardOp>(op), derived != 0,
                     static_cast<int64_t>(queued), std::string(site)};
}

absl::Status SpoolUpward(store::WriteTxn& txn, const UpwardEntry& entry) {
  return txn.Put(store::Db::kFederation, entry.prefix, EncodeUpwardEntry(entry));
}

absl::StatusOr<std::vector<PendingUpward>> ListUpward(const store::ReadTxn& txn) {
  std::vector<PendingUpward> pending;
  store::Cursor cursor = txn.OpenCursor(store::Db::kFederation);
  for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
    ASSIGN_OR_RETURN(UpwardEntry entry, DecodeUpwardEntry(cursor.key(), cursor.value()));
    pending.push_back(PendingUpward{std::move(entry), std::string(cursor.value())});
  }
  return pending;
}

size_t CountUpward(const store::ReadTxn& txn) {
  size_t count = 0;
  store::Cursor cursor = txn.OpenCursor(store::Db::kFederation);
  for (bool more = cursor.Seek(""); more; more = cursor.Next()) ++count;
  return count;
}

std::unique_ptr<writer::WriteOp> MakeUpwardAcknowledgedOp(std::string prefix, std::string encoded,
                                                          std::function<void(absl::Status)> done) {
  return writer::MakeFunctionOp<bool>(
      [prefix = std::move(prefix),
       encoded = std::move(encoded)](writer::WriteContext& context) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(std::optional<std::string_view> stored,
                         context.txn().Get(store::Db::kFederation, prefix));
        if (!stored || *stored != encoded) return false;
        RETURN_IF_ERROR(context.txn().Delete(store::Db::kFederation, prefix));
        return true;
      },
      writer::StatusOnly(std::move(done)));
}

std::unique_ptr<writer::WriteOp> MakeSyncUpwardOp(
    std::string node_prefix, std::string site, std::string top,
    std::function<void(absl::StatusOr<size_t>)> done) {
  return writer::MakeFunctionOp<size_t>(
      [node_prefix = std::move(node_prefix), site = std::move(site),
       top = std::move(top)](writer::WriteContext& context) -> absl::StatusOr<size_t> {
        store::WriteTxn& txn = context.txn();
        ASSIGN_OR_RETURN(std::optional<std::string_view> stored_site,
                         txn.Get(store::Db::kMeta, kMetaSite));
        ASSIGN_OR_RETURN(std::optional<std::string_view> stored_top,
                         txn.Get(store::Db::kMeta, kMetaTop));
        if (stored_site && *stored_site == site && stored_top && *stored_top == top) return 0;
        size_t spooled = 0;
        RETURN_IF_ERROR(SpoolUpward(
            txn, UpwardEntry{node_prefix, UpwardOp::kRegister, true, context.now_ms(), site}));
        ++spooled;
        std::vector<std::string> prefixes;
        {
          store::Cursor cursor = txn.OpenCursor(store::Db::kPrefixes);
          for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
            prefixes.emplace_back(cursor.key());
          }
        }
        for (const std::string& prefix : prefixes) {
          RETURN_IF_ERROR(SpoolUpward(
              txn, UpwardEntry{prefix, UpwardOp::kRegister, false, context.now_ms(), site}));
          ++spooled;
        }
        RETURN_IF_ERROR(txn.Put(store::Db::kMeta, kMetaSite, site));
        RETURN_IF_ERROR(txn.Put(store::Db::kMeta, kMetaTop, top));
        return spooled;
      },
      std::move(done));
}

std::unique_ptr<writer::WriteOp> MakeSiteSerialOp(
    std::string site, std::function<void(absl::StatusOr<uint16_t>)> done) {
  return writer::MakeFunctionOp<uint16_t>(
      [site = std::move(site)](writer::WriteContext& context) -> absl::StatusOr<uint16_t> {
        store::WriteTxn& txn = context.txn();
        uint16_t serial = 0;
        ASSIGN_OR_RETURN(std::optional<std::string_view> stored,
                         txn.Get(store::Db::kMeta, kMetaSiteSerial));
        if (stored) {
          if (!ByteReader(*stored).U16(serial)) {
            return absl::DataLossError("meta site_serial is not a 2-byte serial number");
          }
        }
        ASSIGN_OR_RETURN(std::optional<std::string_view> numbered,
                         txn.Get(store::Db::kMeta, kMetaSiteNumbered));
        if (serial != 0 && numbered && *numbered == site) return serial;
        serial = serial >= 0xFFFE ? 1 : static_cast<uint16_t>(serial + 1);
        std::string bytes;
        ByteWriter(bytes).U16(serial);
        RETURN_IF_ERROR(txn.Put(store::Db::kMeta, kMetaSiteSerial, bytes));
        RETURN_IF_ERROR(txn.Put(store::Db::kMeta, kMetaSiteNumbered, site));
        return serial;
      },
      std::move(done));
}

writer::PrefixHook MakeUpwardSpoolHook(std::string site) {
  return [site = std::move(site)](writer::WriteContext& context, std::string_view prefix,
                                  bool allocated) -> absl::Status {
    return SpoolUpward(
        context.txn(),
        UpwardEntry{std::string(prefix), allocated ? UpwardOp::kRegister : UpwardOp::kRemove, false,
                    context.now_ms(), allocated ? site : std::string()});
  };
}

}  // namespace idnode::federation
