#include "resolver/lookup/lookup.h"

namespace idnode::lookup {
namespace {

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Upper(a[i]) != Upper(b[i])) return false;
  }
  return true;
}

}  // namespace

bool TypeMatches(std::string_view value_type, std::string_view wanted) {
  if (!wanted.empty() && wanted.back() == '.') {
    // "URL." names URL itself and everything below it, as at the reference server.
    if (value_type.size() == wanted.size() - 1) {
      return EqualsIgnoreCase(value_type, wanted.substr(0, wanted.size() - 1));
    }
    return value_type.size() > wanted.size() &&
           EqualsIgnoreCase(value_type.substr(0, wanted.size()), wanted);
  }
  return EqualsIgnoreCase(value_type, wanted);
}

bool ValueMatches(const identifier::EncodedValue& value, const ResolveFilter& filter) {
  if (filter.public_only && (value.permissions & identifier::permission::kPublicRead) == 0)
    return false;
  if (filter.indexes.empty() && filter.types.empty()) return true;
  for (uint32_t index : filter.indexes) {
    if (value.index == index) return true;
  }
  for (std::string_view type : filter.types) {
    if (TypeMatches(value.type, type)) return true;
  }
  return false;
}

}  // namespace idnode::lookup
