#pragma once

// The statistics as parts of the node (registry/base/component.h):
//   - FlusherPart ([stats] flush_interval_ms): makes every front end's resolution counters
//     durable, every interval, at each reporting-day boundary, on demand (Flush) and a last time
//     when the node closes, after every front end has drained;
//   - UploadPart ([upload], only with upload.url): sends the statistics reports to the
//     authority's receiver, flushing first.

#include <memory>

#include "absl/status/statusor.h"
#include "api/node/context.h"
#include "api/node/uploader.h"
#include "registry/base/component.h"
#include "registry/stats/flush.h"

namespace idnode::node {

// The running totals of every front end of `parts` (each stats::ResolutionSource).
stats::ResolutionTotals SumResolutions(const ComponentList& parts);

class FlusherPart final : public Component {
 public:
  static absl::StatusOr<std::unique_ptr<FlusherPart>> Build(NodeContext& context);

  std::string_view name() const override { return "stats-flush"; }
  absl::Status Start() override;
  // The last flush, now that nothing answers any more.
  void Close() override;
  void DescribeStats(MetricSink& sink) const override;
  void CheckHealth(HealthReport& report) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&flusher_->guard());
  }

  // Writes the counts not yet on disk now and returns once they are durable.
  absl::Status Flush() { return flusher_->Flush(); }
  stats::FlushStats stats() const { return flusher_->stats(); }

 private:
  FlusherPart() = default;

  std::unique_ptr<stats::ResolutionFlusher> flusher_;
};

class UploadPart final : public Component {
 public:
  // Null without upload.url.
  static absl::StatusOr<std::unique_ptr<UploadPart>> Build(NodeContext& context);

  std::string_view name() const override { return "upload"; }
  absl::Status Start() override { return uploader_->Start(); }
  // It may be waiting on the receiver: at most upload.timeout_ms.
  void Close() override { uploader_->Stop(); }
  void DescribeStats(MetricSink& sink) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&uploader_->guard());
  }

  UploadStats stats() const { return uploader_->stats(); }
  // A round now.
  void Wake() { uploader_->Wake(); }

 private:
  UploadPart() = default;

  store::Store* store_ = nullptr;
  std::unique_ptr<Uploader> uploader_;
};

}  // namespace idnode::node
