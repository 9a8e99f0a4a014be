#pragma once

// The statistics the node owes the authority, kept in the store until delivered
// (docs/architecture.md §7).
//
// A report covers a period of whole reporting days (`interval_days`, from the day uploads were
// first enabled on), and is made once the period has ended. It is desensitised: the node's id and
// prefix, the period, and counts: per day (created, deleted, registered at the day's end,
// resolutions, requests) and per enterprise prefix code (created, deleted, resolutions, requests
// over the period). No identifier, suffix or value is ever in it.
//
// Making a report and recording that its period is done is one transaction (uploads_v1 gets the
// report, meta's "upload_next_day" moves on, compare-and-set), so each period is reported once
// however often the node restarts. A report leaves the spool only when the receiver answered 2xx.
// Each carries a stable report_id (also sent as the Idempotency-Key header): if the node crashes
// between a 2xx and removing the report, it sends it again and the receiver can recognise it.
//
// Thread-safe: pure functions over transactions, and write operations for the writer.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"

namespace idnode::stats {

struct UploadIdentity {
  std::string node_id;      // as the authority knows this node; default: the node prefix
  std::string node_prefix;  // e.g. 88.123
  int32_t utc_offset_minutes = 8 * 60;
};

struct PendingUpload {
  uint32_t first_day = 0, last_day = 0;  // the period, reporting days, inclusive
  int64_t created_ms = 0;
  std::string report_id;  // node_id/first/last, e.g. 88.123/2026-11-21/2026-11-21
  std::string body;       // JSON
};

// The report for `first_day`..`last_day`, made at `now_ms`. Store errors as the store reports
// them.
absl::StatusOr<PendingUpload> BuildUpload(const store::ReadTxn& txn, const UploadIdentity& who,
                                          uint32_t first_day, uint32_t last_day, int64_t now_ms);

// The first day of the next period to report; nullopt before uploads were ever enabled.
absl::StatusOr<std::optional<uint32_t>> NextUploadDay(const store::ReadTxn& txn);

// Every report not yet delivered, oldest period first.
absl::StatusOr<std::vector<PendingUpload>> ListPendingUploads(const store::ReadTxn& txn);
// How many there are (reads keys only).
size_t CountPendingUploads(const store::ReadTxn& txn);

// Write operations; `done` gets the commit's status (and, for the spool, whether it applied).
using UploadDone = std::function<void(absl::Status)>;

// Records that reporting starts with `first_day`, unless it already started (a restart).
std::unique_ptr<writer::WriteOp> MakeStartUploadsOp(uint32_t first_day, UploadDone done);
// Adds `report` to the spool and moves the next period to report to `report.last_day + 1`, if
// the next period is still `report.first_day`; otherwise writes nothing (FAILED_PRECONDITION
// through `done`: another report for that period exists).
std::unique_ptr<writer::WriteOp> MakeSpoolUploadOp(PendingUpload report, UploadDone done);
// Removes the report for the period starting `first_day` (delivered). NOT_FOUND when absent.
std::unique_ptr<writer::WriteOp> MakeUploadDeliveredOp(uint32_t first_day, UploadDone done);

}  // namespace idnode::stats
