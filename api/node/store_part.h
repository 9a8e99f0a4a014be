#pragma once

// The store and the writer as parts of the node (registry/base/component.h): built first,
// closed last. The store part opens the LMDB environment ([storage]) and checks that it can be
// read; the writer part runs the one writer thread ([registry] batching and queue bounds, the
// disk reserve) and reports whether writes commit. The writer starts when it is built, because
// later parts commit while they are built (the site serial, the admin account, the upward spool).

#include <memory>

#include "absl/status/statusor.h"
#include "api/node/context.h"
#include "registry/base/component.h"
#include "registry/store/space.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"

namespace idnode::node {

class StorePart final : public Component {
 public:
  static absl::StatusOr<std::unique_ptr<StorePart>> Build(NodeContext& context);

  std::string_view name() const override { return "store"; }
  void DescribeStats(MetricSink& sink) const override;
  void CheckHealth(HealthReport& report) const override;

  store::Store& store() const { return *store_; }

 private:
  std::unique_ptr<store::Store> store_;
};

class WriterPart final : public Component {
 public:
  static absl::StatusOr<std::unique_ptr<WriterPart>> Build(NodeContext& context);

  std::string_view name() const override { return "writer"; }
  // Commits what is queued and ends the thread: the last part to close, after every part that
  // writes has drained.
  void Close() override { writer_->Stop(); }
  void DescribeStats(MetricSink& sink) const override;
  void CheckHealth(HealthReport& report) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&writer_->guard());
  }

  writer::Writer& writer() const { return *writer_; }

 private:
  std::unique_ptr<store::DiskReserve> reserve_;  // used by the writer thread
  std::unique_ptr<writer::Writer> writer_;
};

}  // namespace idnode::node
