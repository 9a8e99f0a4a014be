#include "registry/identifier/record.h"

#include "registry/base/bytes.h"
#include "registry/base/strings.h"

namespace idnode::identifier {

std::string EncodeRecord(const RecordView& record) {
  std::string out;
  out.reserve(1 + 8 + 8 + 4 + 2 + record.original.size() + 2 + record.owner.size() +
              record.values.size());
  ByteWriter w(out);
  w.U8(kRecordFormat);
  w.U64(static_cast<uint64_t>(record.created_ms));
  w.U64(static_cast<uint64_t>(record.updated_ms));
  w.U32(record.version);
  w.Bytes16(record.original);
  w.Bytes16(record.owner);
  w.Raw(record.values);
  return out;
}

absl::StatusOr<RecordView> DecodeRecord(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t format = 0;
  uint64_t created = 0, updated = 0;
  RecordView record;
  if (!r.U8(format)) return absl::DataLossError("record: empty");
  if (format != kRecordFormat) {
    return absl::DataLossError(StrCat("record: unknown format ", format));
  }
  if (!r.U64(created) || !r.U64(updated) || !r.U32(record.version) || !r.Bytes16(record.original) ||
      !r.Bytes16(record.owner)) {
    return absl::DataLossError("record: truncated header");
  }
  record.created_ms = static_cast<int64_t>(created);
  record.updated_ms = static_cast<int64_t>(updated);
  record.values = bytes.substr(r.position());
  return record;
}

}  // namespace idnode::identifier
