#pragma once

// The stored form of one identifier (the `ids_v1` value, docs/architecture.md §5):
//   format u8 (1) | created ms u64 | updated ms u64 | version u32 | original spelling (u16 len)
//   | owner account (u16 len) | value list (`u32 count + values`, see value.h) to the end.
// The value list is last so a resolution can hand its bytes straight to the wire encoder.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/store/table.h"

namespace idnode::identifier {

inline constexpr uint8_t kRecordFormat = 1;

struct RecordView {
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  uint32_t version = 0;
  std::string_view original;  // the registrant's spelling of the identifier
  std::string_view owner;     // account that last wrote the record
  std::string_view values;    // encoded value list
};

std::string EncodeRecord(const RecordView& record);

// Views into `bytes`, which must outlive the result. DATA_LOSS when malformed.
absl::StatusOr<RecordView> DecodeRecord(std::string_view bytes);

// ids_v1: normalised identifier (Identifier::key()) -> record. Records are written as the bytes
// EncodeRecord makes; a read gives a view into the reading transaction's snapshot, without
// copying (the hot path of every resolution).
using IdentifierTable = store::Table<store::Db::kIds, RecordView, DecodeRecord, EncodeRecord>;

}  // namespace idnode::identifier
