#pragma once

// Handle values (docs/architecture.md §3) and their wire encoding (docs/architecture.md §6, RFC
// 3651 §3.1):
//   index u32, timestamp u32, ttl type u8, ttl u32, permissions u8, type (u32 len + UTF-8),
//   data (u32 len + bytes), reference count u32 + (handle u32 len + bytes, index u32) each.
// A value list is `u32 count` followed by the values, sorted by index. The store keeps value lists
// in exactly this form so a resolution copies bytes rather than re-encoding.
//
// Thread-safe: pure functions and value types.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace idnode::identifier {

inline constexpr uint32_t kMaxValues = 2048;
inline constexpr size_t kMaxValueTypeBytes = 255;
inline constexpr size_t kMaxValueDataBytes = 64 * 1024;
inline constexpr size_t kMaxReferences = 64;
// The whole encoded value list must fit a Handle message (256 KiB) with room for the envelope,
// header, handle and credential.
inline constexpr size_t kMaxEncodedValuesBytes = 200 * 1024;
inline constexpr uint32_t kDefaultTtlSeconds = 86400;

// Value types of the Handle system that federation reads and writes (docs/architecture.md §6): the
// site serving a prefix, the site serving the prefixes below it, and a service handle.
inline constexpr std::string_view kSiteType = "HS_SITE";
inline constexpr std::string_view kPrefixSiteType = "HS_SITE.PREFIX";
inline constexpr std::string_view kServiceType = "HS_SERV";

namespace permission {
inline constexpr uint8_t kPublicWrite = 0x01;
inline constexpr uint8_t kPublicRead = 0x02;
inline constexpr uint8_t kAdminWrite = 0x04;
inline constexpr uint8_t kAdminRead = 0x08;
inline constexpr uint8_t kDefault = kAdminRead | kAdminWrite | kPublicRead;  // 0x0E
}  // namespace permission

enum class TtlType : uint8_t { kRelative = 0, kAbsolute = 1 };

struct ValueReference {
  std::string handle;
  uint32_t index = 0;
  bool operator==(const ValueReference&) const = default;
};

struct HandleValue {
  uint32_t index = 0;
  std::string type;
  std::string data;
  TtlType ttl_type = TtlType::kRelative;
  uint32_t ttl = kDefaultTtlSeconds;
  uint8_t permissions = permission::kDefault;
  uint32_t timestamp = 0;  // seconds since the epoch, set by the node when written
  std::vector<ValueReference> references;

  // Equal in everything a registrant chooses (the timestamp is the node's).
  bool SameContent(const HandleValue& other) const;
};

// Checks one value list: 1..kMaxValues values, indexes > 0 and unique, type non-empty printable
// UTF-8 within kMaxValueTypeBytes, data within kMaxValueDataBytes, ttl type known, permissions in
// the low four bits, references bounded. Messages name the value (`values[2] (index 7)`).
absl::Status ValidateValues(std::span<const HandleValue> values);

// Appends one value in wire format.
void EncodeValue(const HandleValue& value, std::string& out);

// Sorts by index and encodes `u32 count + values`. REQUIRES: ValidateValues(values).ok().
// Fails with INVALID_ARGUMENT when the encoding exceeds kMaxEncodedValuesBytes.
absl::StatusOr<std::string> EncodeValueList(std::vector<HandleValue> values);

// Decodes `u32 count + values`; every length is checked against the remaining bytes.
absl::StatusOr<std::vector<HandleValue>> DecodeValueList(std::string_view bytes);

// Decodes exactly one encoded value.
absl::StatusOr<HandleValue> DecodeValue(std::string_view bytes);

// Allocation-free walk over an encoded value list, for the resolution path.
struct EncodedValue {
  uint32_t index = 0;
  uint8_t permissions = 0;
  std::string_view type;
  std::string_view bytes;  // the whole encoded value
};

class EncodedValueIterator {
 public:
  // `list` is `u32 count + values`. Check ok() after the walk: false when the bytes are malformed.
  explicit EncodedValueIterator(std::string_view list);
  // Returns false at the end of the list or on malformed input.
  bool Next(EncodedValue& value);
  uint32_t count() const { return count_; }
  bool ok() const { return ok_; }

 private:
  std::string_view list_;
  size_t pos_ = 0;
  uint32_t count_ = 0;
  uint32_t seen_ = 0;
  bool ok_ = true;
};

}  // namespace idnode::identifier

namespace idnode::identifier {

// True when two encoded value lists hold the same values in everything but their timestamps.
bool SameValuesIgnoringTimestamps(std::string_view a, std::string_view b);

// Sets the timestamp of every value in an encoded list to `seconds`, in place.
// REQUIRES: `list` is well formed (produced by EncodeValueList).
void StampTimestamps(std::string& list, uint32_t seconds);

}  // namespace idnode::identifier
