#include "api/node/stats_part.h"

#include <fstream>

#include "api/http/https_client.h"
#include "registry/base/files.h"
#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/stats/upload.h"

namespace idnode::node {

stats::ResolutionTotals SumResolutions(const ComponentList& parts) {
  stats::ResolutionTotals totals;
  for (const stats::ResolutionSource* source : parts.All<stats::ResolutionSource>()) {
    source->AddResolutions(totals);
  }
  return totals;
}

absl::Status UploadSection::Check(const UploadSection& section) {
  if (!section.url.empty()) RETURN_IF_ERROR(http::ParseUrl(section.url, "upload.url").status());
  return settings::CheckRetry(kName, section.retry_initial_ms, section.retry_max_ms);
}

absl::StatusOr<std::unique_ptr<FlusherPart>> FlusherPart::Build(NodeContext& context) {
  std::unique_ptr<FlusherPart> part(new FlusherPart());
  part->flusher_ = std::make_unique<stats::ResolutionFlusher>(
      *context.writer, context.clock,
      stats::FlushOptions{std::chrono::milliseconds(context.config.stats.flush_interval_ms),
                          context.config.stats.utc_offset_minutes},
      [&parts = context.parts] { return SumResolutions(parts); });
  return part;
}

absl::Status FlusherPart::Start() {
  flusher_->Start();
  return absl::OkStatus();
}

void FlusherPart::Close() {
  (void)flusher_->Stop();  // idempotent; a failure is logged and counted by the flusher
}

void FlusherPart::DescribeStats(MetricSink& sink) const {
  DescribeRows(sink, stats::kFlushStatRows, flusher_->stats());
}

void FlusherPart::CheckHealth(HealthReport& report) const {
  if (flusher_->stats().last_failed) {
    report.Fail("stats_flush", "the last flush of resolution counts failed (it is retried)");
  } else {
    report.Ok("stats_flush");
  }
}

absl::StatusOr<std::unique_ptr<UploadPart>> UploadPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  if (config.upload.url.empty()) return nullptr;
  ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(config.upload.url, "upload.url"));
  UploadOptions options;
  options.url = config.upload.url;
  options.ca_file = config.upload.ca_file;
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file)) {
    return absl::NotFoundError(StrCat("config upload.ca_file: cannot read ", options.ca_file));
  }
  if (!config.upload.token_file.empty()) {
    ASSIGN_OR_RETURN(options.token, ReadSecretFile(config.upload.token_file, "upload.token_file"));
  }
  options.interval_days = static_cast<uint32_t>(config.upload.interval_days);
  options.retry_initial = std::chrono::milliseconds(config.upload.retry_initial_ms);
  options.retry_max = std::chrono::milliseconds(config.upload.retry_max_ms);
  options.timeout = std::chrono::milliseconds(config.upload.timeout_ms);
  stats::UploadIdentity who{
      config.upload.node_id.empty() ? context.node_prefix : config.upload.node_id,
      context.node_prefix, config.stats.utc_offset_minutes};
  auto* flusher = context.parts.Find<FlusherPart>();
  if (flusher == nullptr) return absl::FailedPreconditionError("upload needs the stats flusher");
  std::unique_ptr<UploadPart> part(new UploadPart());
  part->store_ = context.store;
  part->uploader_ = std::make_unique<Uploader>(*context.store, *context.writer, context.clock,
                                               std::move(who), std::move(url), std::move(options),
                                               [flusher] { return flusher->Flush(); });
  return part;
}

void UploadPart::DescribeStats(MetricSink& sink) const {
  if (auto txn = store_->BeginRead(); txn.ok()) {
    sink.Add(kUploadPending, {}, uint64_t{stats::CountPendingUploads(*txn)});
  }
  DescribeRows(sink, kUploadStatRows, uploader_->stats());
}

}  // namespace idnode::node
