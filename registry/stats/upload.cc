#include "registry/stats/upload.h"

#include <nlohmann/json.hpp>

#include "registry/base/bytes.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/stats/report.h"
#include "registry/writer/function_op.h"

namespace idnode::stats {
namespace {

constexpr std::string_view kNextDayKey = "upload_next_day";

std::string DayKey(uint32_t day) {
  std::string key;
  ByteWriter(key).U32(day);
  return key;
}

// uploads_v1 value: last_day u32 | created_ms u64 | report_id (u16 length) | body (the rest).
std::string EncodeSpooled(const PendingUpload& report) {
  std::string value;
  ByteWriter w(value);
  w.U32(report.last_day);
  w.U64(static_cast<uint64_t>(report.created_ms));
  w.Bytes16(report.report_id);
  w.Raw(report.body);
  return value;
}

absl::StatusOr<PendingUpload> DecodeSpooled(std::string_view key, std::string_view value) {
  PendingUpload report;
  ByteReader k(key);
  ByteReader r(value);
  uint64_t created = 0;
  std::string_view id, body;
  if (!k.U32(report.first_day) || k.remaining() != 0 || !r.U32(report.last_day) ||
      !r.U64(created) || !r.Bytes16(id) || !r.Raw(r.remaining(), body)) {
    return absl::DataLossError("uploads_v1: a spooled report is malformed");
  }
  report.created_ms = static_cast<int64_t>(created);
  report.report_id = std::string(id);
  report.body = std::string(body);
  return report;
}

std::optional<uint32_t> ReadNextDay(std::optional<std::string_view> stored) {
  if (!stored) return std::nullopt;
  ByteReader r(*stored);
  uint32_t day = 0;
  if (!r.U32(day) || r.remaining() != 0) return std::nullopt;
  return day;
}

nlohmann::json Counts(uint64_t created, uint64_t deleted, uint64_t resolutions, uint64_t requests) {
  return {{"created", created},
          {"deleted", deleted},
          {"resolutions", resolutions},
          {"requests", requests}};
}

}  // namespace

absl::StatusOr<PendingUpload> BuildUpload(const store::ReadTxn& txn, const UploadIdentity& who,
                                          uint32_t first_day, uint32_t last_day, int64_t now_ms) {
  ReportOptions options;
  options.from = first_day;
  options.to = last_day;
  options.by_prefix = true;
  ASSIGN_OR_RETURN(Report report,
                   BuildReport(txn, now_ms, who.utc_offset_minutes, Thresholds{}, options));
  PendingUpload upload;
  upload.first_day = first_day;
  upload.last_day = last_day;
  upload.created_ms = now_ms;
  upload.report_id = StrCat(who.node_id, "/", FormatDay(first_day), "/", FormatDay(last_day));

  nlohmann::json days = nlohmann::json::array();
  uint64_t created = 0, deleted = 0, resolutions = 0, requests = 0;
  for (const DayRow& d : report.days) {
    nlohmann::json row = Counts(d.created, d.deleted, d.resolutions, d.requests);
    row["date"] = FormatDay(d.day);
    row["registered"] = d.registered;
    days.push_back(std::move(row));
    created += d.created;
    deleted += d.deleted;
    resolutions += d.resolutions;
    requests += d.requests;
  }
  nlohmann::json prefixes = nlohmann::json::array();
  for (const PrefixRow& p : report.prefixes) {
    if (p.created == 0 && p.deleted == 0 && p.requests == 0) continue;  // nothing in the period
    nlohmann::json row = Counts(p.created, p.deleted, p.resolutions, p.requests);
    row["prefix"] = p.prefix;
    prefixes.push_back(std::move(row));
  }
  nlohmann::json totals = Counts(created, deleted, resolutions, requests);
  totals["registered_at_end"] = report.days.empty() ? 0 : report.days.back().registered;
  nlohmann::json body{
      {"schema", "idnode.statistics.v1"},
      {"report_id", upload.report_id},
      {"node_id", who.node_id},
      {"node_prefix", who.node_prefix},
      {"period",
       {{"first_day", FormatDay(first_day)},
        {"last_day", FormatDay(last_day)},
        {"utc_offset", FormatUtcOffset(who.utc_offset_minutes)}}},
      {"generated_at", FormatLocalTime(now_ms, who.utc_offset_minutes)},
      {"totals", std::move(totals)},
      {"days", std::move(days)},
      {"prefixes", std::move(prefixes)},
  };
  upload.body = body.dump();
  return upload;
}

absl::StatusOr<std::optional<uint32_t>> NextUploadDay(const store::ReadTxn& txn) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> stored, txn.Get(store::Db::kMeta, kNextDayKey));
  return ReadNextDay(stored);
}

absl::StatusOr<std::vector<PendingUpload>> ListPendingUploads(const store::ReadTxn& txn) {
  std::vector<PendingUpload> out;
  store::Cursor cursor = txn.OpenCursor(store::Db::kUploads);
  for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
    ASSIGN_OR_RETURN(PendingUpload report, DecodeSpooled(cursor.key(), cursor.value()));
    out.push_back(std::move(report));
  }
  return out;
}

size_t CountPendingUploads(const store::ReadTxn& txn) {
  size_t count = 0;
  store::Cursor cursor = txn.OpenCursor(store::Db::kUploads);
  for (bool more = cursor.Seek(""); more; more = cursor.Next()) ++count;
  return count;
}

std::unique_ptr<writer::WriteOp> MakeStartUploadsOp(uint32_t first_day, UploadDone done) {
  return writer::MakeFunctionOp<bool>(
      [first_day](writer::WriteContext& context) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(std::optional<std::string_view> started,
                         context.txn().Get(store::Db::kMeta, kNextDayKey));
        if (started) return false;
        RETURN_IF_ERROR(context.txn().Put(store::Db::kMeta, kNextDayKey, DayKey(first_day)));
        return true;
      },
      writer::StatusOnly(std::move(done)));
}

std::unique_ptr<writer::WriteOp> MakeSpoolUploadOp(PendingUpload report, UploadDone done) {
  return writer::MakeFunctionOp<bool>(
      [report = std::move(report)](writer::WriteContext& context) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(std::optional<std::string_view> stored,
                         context.txn().Get(store::Db::kMeta, kNextDayKey));
        if (ReadNextDay(stored) != report.first_day) {
          return absl::FailedPreconditionError(
              StrCat("the period starting ", FormatDay(report.first_day), " is already reported"));
        }
        RETURN_IF_ERROR(context.txn().Put(store::Db::kUploads, DayKey(report.first_day),
                                          EncodeSpooled(report)));
        RETURN_IF_ERROR(
            context.txn().Put(store::Db::kMeta, kNextDayKey, DayKey(report.last_day + 1)));
        return true;
      },
      writer::StatusOnly(std::move(done)));
}

std::unique_ptr<writer::WriteOp> MakeUploadDeliveredOp(uint32_t first_day, UploadDone done) {
  return writer::MakeFunctionOp<bool>(
      [first_day](writer::WriteContext& context) -> absl::StatusOr<bool> {
        const std::string key = DayKey(first_day);
        ASSIGN_OR_RETURN(std::optional<std::string_view> spooled,
                         context.txn().Get(store::Db::kUploads, key));
        if (!spooled) {
          return absl::NotFoundError(StrCat("no spooled report for ", FormatDay(first_day)));
        }
        RETURN_IF_ERROR(context.txn().Delete(store::Db::kUploads, key));
        return true;
      },
      writer::StatusOnly(std::move(done)));
}

}  // namespace idnode::stats
