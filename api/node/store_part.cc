#include "api/node/store_part.h"

#include <spdlog/spdlog.h>

#include "registry/base/settings.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

namespace idnode::node {

inline constexpr MetricFamily kMapAdoptions{
    "idnode_store_map_adoptions_total", MetricType::kCounter,
    "Times the store adopted a map size another process gave it (MDB_MAP_RESIZED)."};

absl::Status StorageSection::Check(const StorageSection& section) {
  if (section.data_dir.empty()) return settings::KeyError("storage.data_dir", "must not be empty");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StorePart>> StorePart::Build(NodeContext& context) {
  auto part = std::make_unique<StorePart>();
  ASSIGN_OR_RETURN(part->store_, store::Store::Open(store::StoreOptions{
                                     context.config.storage.data_dir,
                                     size_t{context.config.storage.initial_map_mib} << 20}));
  context.store = part->store_.get();
  return part;
}

void StorePart::DescribeStats(MetricSink& sink) const {
  sink.Add(kMapAdoptions, {}, store_->map_adoptions());
}

void StorePart::CheckHealth(HealthReport& report) const {
  if (auto txn = store_->BeginRead(); txn.ok()) {
    report.Ok("store");
  } else {
    report.Fail("store", StrCat("cannot read: ", ToStd(txn.status().message())));
  }
}

absl::Status RegistrySection::Check(const RegistrySection& section) {
  if (section.max_queued_items < section.commit_max_items) {
    return settings::KeyError(
        "registry.max_queued_items",
        StrCat("must be at least registry.commit_max_items (", section.commit_max_items, "), not ",
               section.max_queued_items));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WriterPart>> WriterPart::Build(NodeContext& context) {
  const NodeConfig& config = context.config;
  writer::WriterOptions options;
  options.max_batch_items = config.registry.commit_max_items;
  options.max_wait = std::chrono::microseconds(config.registry.commit_max_wait_us);
  options.max_queued_items = config.registry.max_queued_items;
  options.max_queued_bytes = size_t{config.registry.max_queued_mib} << 20;
  options.utc_offset_minutes = config.stats.utc_offset_minutes;
  auto part = std::make_unique<WriterPart>();
  part->reserve_ = std::make_unique<store::DiskReserve>(config.storage.data_dir,
                                                        config.storage.reserve_mib << 20);
  if (absl::Status reserved = part->reserve_->Acquire(); !reserved.ok()) {
    spdlog::warn("{}; starting without it (deletions may fail if the disk fills)",
                 ToStd(reserved.message()));
  }
  options.reserve = part->reserve_.get();
  ASSIGN_OR_RETURN(part->writer_, writer::Writer::Start(*context.store, context.clock, options));
  context.writer = part->writer_.get();
  return part;
}

void WriterPart::DescribeStats(MetricSink& sink) const {
  DescribeRows(sink, writer::kWriterStatRows, writer_->stats());
}

void WriterPart::CheckHealth(HealthReport& report) const {
  const writer::WriterStats writer = writer_->stats();
  if (writer.disk_full) {
    report.Fail("writes", StrCat("disk full: only deletions are accepted until there are ",
                                 writer.room_needed >> 20, " MiB of room (now ",
                                 writer.room_bytes >> 20, " MiB): ", writer.disk_full_reason));
  } else if (writer.last_commit_failed) {
    report.Fail("writes", StrCat("the last commit failed: ", writer.last_error));
  } else {
    report.Ok("writes");
  }
}

}  // namespace idnode::node
