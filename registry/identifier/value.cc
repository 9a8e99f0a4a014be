#include "registry/identifier/value.h"

#include <algorithm>
#include <unordered_set>

#include "registry/base/bytes.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"

namespace idnode::identifier {
namespace {

std::string ValueName(size_t position, uint32_t index) {
  return StrCat("values[", position, "] (index ", index, ")");
}

}  // namespace

bool HandleValue::SameContent(const HandleValue& other) const {
  return index == other.index && type == other.type && data == other.data &&
         ttl_type == other.ttl_type && ttl == other.ttl && permissions == other.permissions &&
         references == other.references;
}

absl::Status ValidateValues(std::span<const HandleValue> values) {
  if (values.empty()) return absl::InvalidArgumentError("values: at least one value is required");
  if (values.size() > kMaxValues) {
    return absl::InvalidArgumentError(
        StrCat("values: ", values.size(), " values, the limit is ", kMaxValues));
  }
  std::unordered_set<uint32_t> seen;
  seen.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const HandleValue& v = values[i];
    std::string name = ValueName(i, v.index);
    if (v.index == 0) {
      return absl::InvalidArgumentError(StrCat(name, ": index must be greater than 0"));
    }
    if (!seen.insert(v.index).second) {
      return absl::InvalidArgumentError(
          StrCat(name, ": duplicate index ", v.index, " (indexes must be unique)"));
    }
    if (v.type.empty()) {
      return absl::InvalidArgumentError(StrCat(name, ": type is empty"));
    }
    if (v.type.size() > kMaxValueTypeBytes) {
      return absl::InvalidArgumentError(
          StrCat(name, ": type is ", v.type.size(), " bytes, the limit is ", kMaxValueTypeBytes));
    }
    if (absl::Status s = ValidatePrintableUtf8(v.type, StrCat(name, " type")); !s.ok()) {
      return s;
    }
    if (v.data.size() > kMaxValueDataBytes) {
      return absl::InvalidArgumentError(
          StrCat(name, ": data is ", v.data.size(), " bytes, the limit is ", kMaxValueDataBytes));
    }
    if (v.ttl_type != TtlType::kRelative && v.ttl_type != TtlType::kAbsolute) {
      return absl::InvalidArgumentError(StrCat(name, ": ttl type must be 0 or 1"));
    }
    if (v.permissions > 0x0F) {
      return absl::InvalidArgumentError(
          StrCat(name, ": permissions 0x", fmt::format("{:02X}", v.permissions),
                 " has bits beyond 0x0F (admin read/write, public read/write)"));
    }
    if (v.references.size() > kMaxReferences) {
      return absl::InvalidArgumentError(
          StrCat(name, ": ", v.references.size(), " references, the limit is ", kMaxReferences));
    }
    for (size_t r = 0; r < v.references.size(); ++r) {
      const std::string& handle = v.references[r].handle;
      std::string field = StrCat(name, " references[", r, "]");
      if (handle.empty() || handle.size() > kMaxIdentifierBytes) {
        return absl::InvalidArgumentError(
            StrCat(field, ": handle must be 1..", kMaxIdentifierBytes, " bytes"));
      }
      if (absl::Status s = ValidatePrintableUtf8(handle, field); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void EncodeValue(const HandleValue& value, std::string& out) {
  ByteWriter w(out);
  w.U32(value.index);
  w.U32(value.timestamp);
  w.U8(static_cast<uint8_t>(value.ttl_type));
  w.U32(value.ttl);
  w.U8(value.permissions);
  w.Bytes32(value.type);
  w.Bytes32(value.data);
  w.U32(static_cast<uint32_t>(value.references.size()));
  for (const ValueReference& ref : value.references) {
    w.Bytes32(ref.handle);
    w.U32(ref.index);
  }
}

absl::StatusOr<std::string> EncodeValueList(std::vector<HandleValue> values) {
  std::sort(values.begin(), values.end(),
            [](const HandleValue& a, const HandleValue& b) { return a.index < b.index; });
  std::string out;
  ByteWriter(out).U32(static_cast<uint32_t>(values.size()));
  for (const HandleValue& v : values) EncodeValue(v, out);
  if (out.size() > kMaxEncodedValuesBytes) {
    return absl::InvalidArgumentError(StrCat("values: encoded size ", out.size(),
                                             " bytes exceeds the limit of ",
                                             kMaxEncodedValuesBytes));
  }
  return out;
}

namespace {

bool ReadValue(ByteReader& r, HandleValue& v) {
  uint8_t ttl_type = 0;
  std::string_view type, data;
  uint32_t refs = 0;
  if (!r.U32(v.index) || !r.U32(v.timestamp) || !r.U8(ttl_type) || !r.U32(v.ttl) ||
      !r.U8(v.permissions) || !r.Bytes32(type, kMaxValueTypeBytes) ||
      !r.Bytes32(data, kMaxEncodedValuesBytes) || !r.U32(refs) || refs > kMaxReferences) {
    return false;
  }
  v.ttl_type = static_cast<TtlType>(ttl_type);
  v.type.assign(type);
  v.data.assign(data);
  v.references.resize(refs);
  for (ValueReference& ref : v.references) {
    std::string_view handle;
    if (!r.Bytes32(handle, kMaxIdentifierBytes) || !r.U32(ref.index)) return false;
    ref.handle.assign(handle);
  }
  return true;
}

}  // namespace

absl::StatusOr<HandleValue> DecodeValue(std::string_view bytes) {
  ByteReader r(bytes);
  HandleValue v;
  if (!ReadValue(r, v) || r.remaining() != 0) return absl::DataLossError("value: malformed");
  return v;
}

absl::StatusOr<std::vector<HandleValue>> DecodeValueList(std::string_view bytes) {
  ByteReader r(bytes);
  uint32_t count = 0;
  if (!r.U32(count)) return absl::DataLossError("value list: truncated count");
  if (count > kMaxValues) return absl::DataLossError("value list: count above limit");
  std::vector<HandleValue> values(count);
  for (HandleValue& v : values) {
    if (!ReadValue(r, v)) return absl::DataLossError("value list: malformed value");
  }
  if (r.remaining() != 0) return absl::DataLossError("value list: trailing bytes");
  return values;
}

EncodedValueIterator::EncodedValueIterator(std::string_view list) : list_(list) {
  ByteReader r(list_);
  ok_ = r.U32(count_);
  pos_ = r.position();
}

bool EncodedValueIterator::Next(EncodedValue& value) {
  if (!ok_ || seen_ == count_) return false;
  ByteReader r(list_.substr(pos_));
  uint32_t timestamp = 0, ttl = 0, refs = 0;
  uint8_t ttl_type = 0;
  std::string_view data;
  bool good = r.U32(value.index) && r.U32(timestamp) && r.U8(ttl_type) && r.U32(ttl) &&
              r.U8(value.permissions) && r.Bytes32(value.type, kMaxValueTypeBytes) &&
              r.Bytes32(data, kMaxEncodedValuesBytes) && r.U32(refs) && refs <= kMaxReferences;
  for (uint32_t i = 0; good && i < refs; ++i) {
    std::string_view handle;
    uint32_t index = 0;
    good = r.Bytes32(handle, kMaxIdentifierBytes) && r.U32(index);
  }
  if (!good) {
    ok_ = false;
    return false;
  }
  value.bytes = list_.substr(pos_, r.position());
  pos_ += r.position();
  ++seen_;
  return true;
}

}  // namespace idnode::identifier

namespace idnode::identifier {

namespace {
constexpr size_t kTimestampOffset = 4;  // after the u32 index
}  // namespace

bool SameValuesIgnoringTimestamps(std::string_view a, std::string_view b) {
  EncodedValueIterator ia(a), ib(b);
  if (ia.count() != ib.count()) return false;
  EncodedValue va, vb;
  while (ia.Next(va)) {
    if (!ib.Next(vb) || va.bytes.size() != vb.bytes.size()) return false;
    if (va.bytes.substr(0, kTimestampOffset) != vb.bytes.substr(0, kTimestampOffset) ||
        va.bytes.substr(kTimestampOffset + 4) != vb.bytes.substr(kTimestampOffset + 4)) {
      return false;
    }
  }
  return ia.ok() && ib.ok() && !ib.Next(vb);
}

void StampTimestamps(std::string& list, uint32_t seconds) {
  EncodedValueIterator it(list);
  EncodedValue v;
  while (it.Next(v)) {
    size_t offset = static_cast<size_t>(v.bytes.data() - list.data()) + kTimestampOffset;
    ByteWriter(list).PatchU32(offset, seconds);
  }
}

}  // namespace idnode::identifier
