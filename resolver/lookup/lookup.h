#pragma once

// The lookup core: every front end (gRPC Resolve, and the Handle query processor for UDP and TCP)
// resolves through it.
// It reads the record in the caller's read transaction and walks the stored, pre-encoded value
// list without copying or allocating; callers copy the matching values' bytes into their reply.
//
// Filters (docs/architecture.md §6): an index list and a type list, both "all" when empty; a value
// passes when it matches either list. A type compares ASCII case-insensitively; a type ending in
// '.' matches the type itself and every type below it ("URL." matches "URL" and "URL.backup", not
// "URLX"; "HS_" is an ordinary type), as the reference server filters. public_only keeps values
// whose permissions include public read.
//
// Thread-safe: stateless; the transaction belongs to the calling thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "registry/identifier/record.h"
#include "registry/identifier/value.h"
#include "registry/store/store.h"

namespace idnode::lookup {

struct ResolveFilter {
  std::span<const uint32_t> indexes;
  std::span<const std::string_view> types;
  bool public_only = true;
};

bool TypeMatches(std::string_view value_type, std::string_view wanted);
bool ValueMatches(const identifier::EncodedValue& value, const ResolveFilter& filter);

// Calls `fn(const EncodedValue&)` for each value of `values` (an encoded list) that passes
// `filter`. Returns the number passed, or DATA_LOSS when the list is malformed.
template <typename Fn>
absl::StatusOr<uint32_t> ForEachMatchingValue(std::string_view values, const ResolveFilter& filter,
                                              Fn&& fn) {
  identifier::EncodedValueIterator it(values);
  identifier::EncodedValue value;
  uint32_t matched = 0;
  while (it.Next(value)) {
    if (!ValueMatches(value, filter)) continue;
    fn(value);
    ++matched;
  }
  if (!it.ok()) return absl::DataLossError("stored value list is malformed");
  return matched;
}

}  // namespace idnode::lookup
