#include "api/node/uploader.h"

#include <spdlog/spdlog.h>

#include "registry/base/strings.h"
#include "registry/base/thread_name.h"
#include "registry/base/utf8.h"
#include "registry/stats/report.h"
#include "registry/writer/submit.h"

namespace idnode::node {

Uploader::Uploader(store::Store& store, writer::Writer& writer, const Clock& clock,
                   stats::UploadIdentity who, http::Url url, UploadOptions options,
                   std::function<absl::Status()> flush)
    : store_(store),
      writer_(writer),
      clock_(clock),
      who_(std::move(who)),
      url_(std::move(url)),
      options_(std::move(options)),
      flush_(std::move(flush)),
      loop_("uploader", "making or delivering reports", options_.retry_initial,
            options_.retry_max) {}

Uploader::~Uploader() { Stop(); }

absl::Status Uploader::Start() {
  const uint32_t today = ReportingDay(clock_.NowMillis(), who_.utc_offset_minutes);
  absl::Status started = writer::SubmitAndWait(writer_, [today](stats::UploadDone done) {
    return stats::MakeStartUploadsOp(today, std::move(done));
  });
  if (!started.ok()) return started;
  loop_.Start([this] { return Round(); });
  return absl::OkStatus();
}

void Uploader::Stop() { loop_.Stop(); }

void Uploader::Wake() { loop_.Wake(); }

UploadStats Uploader::stats() const {
  UploadStats stats;
  {
    MutexLock lock(&mu_);
    stats = stats_;
  }
  stats.rounds = loop_.rounds();
  return stats;
}

bool Uploader::MakeDueReports() {
  for (;;) {
    const int64_t now_ms = clock_.NowMillis();
    const uint32_t today = ReportingDay(now_ms, who_.utc_offset_minutes);
    std::optional<uint32_t> next;
    {
      auto txn = store_.BeginRead();
      if (!txn.ok()) {
        spdlog::warn("upload: cannot read the store: {}", txn.status().ToString());
        return false;
      }
      auto stored = stats::NextUploadDay(*txn);
      if (!stored.ok()) {
        spdlog::warn("upload: cannot read the store: {}", stored.status().ToString());
        return false;
      }
      next = *stored;
    }
    if (!next || *next + options_.interval_days > today) return true;  // the period goes on
    const uint32_t first = *next, last = *next + options_.interval_days - 1;
    if (absl::Status flushed = flush_(); !flushed.ok()) {
      spdlog::warn("upload: flushing resolution counts before the report: {}", flushed.ToString());
      return false;
    }
    absl::StatusOr<stats::PendingUpload> report = absl::UnknownError("not read");
    {
      auto txn = store_.BeginRead();
      if (!txn.ok()) return false;
      report = stats::BuildUpload(*txn, who_, first, last, now_ms);
    }
    if (!report.ok()) {
      spdlog::warn("upload: making the report for {}: {}", stats::FormatDay(first),
                   report.status().ToString());
      return false;
    }
    // FAILED_PRECONDITION: the period was spooled already (by an earlier round); go on.
    absl::Status spooled = writer::SubmitAndWait(writer_, [&report](stats::UploadDone done) {
      return stats::MakeSpoolUploadOp(*std::move(report), std::move(done));
    });
    if (!spooled.ok() && spooled.code() != absl::StatusCode::kFailedPrecondition) {
      spdlog::warn("upload: spooling the report for {}: {}", stats::FormatDay(first),
                   spooled.ToString());
      return false;
    }
    if (spooled.ok()) {
      MutexLock lock(&mu_);
      ++stats_.spooled;
    }
  }
}

bool Uploader::DeliverPending() {
  std::vector<stats::PendingUpload> pending;
  {
    auto txn = store_.BeginRead();
    if (!txn.ok()) return false;
    auto listed = stats::ListPendingUploads(*txn);
    if (!listed.ok()) {
      spdlog::error("upload: {}", listed.status().ToString());
      return false;
    }
    pending = *std::move(listed);
  }
  for (stats::PendingUpload& report : pending) {
    if (loop_.stopping()) return false;
    http::PostOptions post;
    post.ca_file = options_.ca_file;
    post.timeout = options_.timeout;
    post.headers.emplace_back("Idempotency-Key", report.report_id);
    if (!options_.token.empty())
      post.headers.emplace_back("Authorization", "Bearer " + options_.token);
    auto reply = http::Post(url_, "application/json", std::move(report.body), post);
    std::string error;
    if (!reply.ok()) {
      error = std::string(ToStd(reply.status().message()));
    } else if (reply->status < 200 || reply->status > 299) {
      error = StrCat("the receiver answered ", reply->status, ": ", reply->body.substr(0, 200));
    }
    if (!error.empty()) {
      // The receiver's words are not ours: escaped, so that its reply cannot write log lines.
      spdlog::warn("upload: report {} not delivered (kept, retried): {}", report.report_id,
                   EscapeForLog(error, 512));
      MutexLock lock(&mu_);
      ++stats_.failures;
      stats_.last_error = StrCat(report.report_id, ": ", error);
      return false;
    }
    absl::Status removed = writer::SubmitAndWait(writer_, [&report](stats::UploadDone done) {
      return stats::MakeUploadDeliveredOp(report.first_day, std::move(done));
    });
    if (!removed.ok() && removed.code() != absl::StatusCode::kNotFound) {
      spdlog::warn("upload: report {} delivered, but not removed from the spool: {}",
                   report.report_id, removed.ToString());
      return false;
    }
    loop_.ResetBackoff();
    MutexLock lock(&mu_);
    ++stats_.delivered;
    stats_.last_error.clear();
  }
  return true;
}

std::optional<std::chrono::milliseconds> Uploader::Round() {
  if (!MakeDueReports() || !DeliverPending()) return std::nullopt;
  // A second into the next day, so that the day that ended is whole.
  return std::chrono::milliseconds(
      MillisToNextReportingDay(clock_.NowMillis(), who_.utc_offset_minutes) + 1000);
}

}  // namespace idnode::node
