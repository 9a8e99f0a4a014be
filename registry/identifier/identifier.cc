#include "registry/identifier/identifier.h"

#include "registry/base/strings.h"
#include "registry/base/utf8.h"

namespace idnode::identifier {
namespace {

bool IsPrefixSegmentChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
         c == '_';
}

}  // namespace

absl::Status ValidatePrintableUtf8(std::string_view text, std::string_view field) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, cp);
    if (len == 0) {
      return absl::InvalidArgumentError(StrCat(field, ": invalid UTF-8 at byte offset ", i));
    }
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      return absl::InvalidArgumentError(StrCat(field, ": control character U+",
                                               fmt::format("{:04X}", cp), " at byte offset ", i,
                                               " is not allowed"));
    }
    i += len;
  }
  return absl::OkStatus();
}

void AsciiUpperInPlace(std::string& text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
}

absl::Status ValidatePrefixSyntax(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return absl::InvalidArgumentError(StrCat(field, ": is empty"));
  if (prefix.size() > kMaxPrefixBytes) {
    return absl::InvalidArgumentError(
        StrCat(field, ": is ", prefix.size(), " bytes, the limit is ", kMaxPrefixBytes));
  }
  size_t segment_start = 0;
  for (size_t i = 0; i <= prefix.size(); ++i) {
    if (i == prefix.size() || prefix[i] == '.') {
      if (i == segment_start) {
        return absl::InvalidArgumentError(StrCat(field, ": empty segment at byte offset ", i,
                                                 " (segments are separated by one '.')"));
      }
      segment_start = i + 1;
    } else if (!IsPrefixSegmentChar(prefix[i])) {
      uint8_t b = static_cast<uint8_t>(prefix[i]);
      std::string shown = (b < 0x20 || b >= 0x7F) ? StrCat("byte 0x", fmt::format("{:02X}", b))
                                                  : StrCat("'", prefix.substr(i, 1), "'");
      return absl::InvalidArgumentError(
          StrCat(field, ": ", shown, " at byte offset ", i,
                 " is not allowed (segments use letters, digits, '-' and '_')"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizePrefix(std::string_view prefix, std::string_view field) {
  if (absl::Status s = ValidatePrefixSyntax(prefix, field); !s.ok()) return s;
  std::string normalized(prefix);
  AsciiUpperInPlace(normalized);
  return normalized;
}

bool IsSameOrUnderPrefix(std::string_view prefix, std::string_view parent) {
  if (prefix.size() < parent.size() || prefix.substr(0, parent.size()) != parent) return false;
  return prefix.size() == parent.size() || prefix[parent.size()] == '.';
}

absl::Status NormalizeIdentifierInto(std::string_view text, const IdentifierOptions& options,
                                     std::string_view field, std::string& key, size_t& slash) {
  if (text.empty()) return absl::InvalidArgumentError(StrCat(field, ": is empty"));
  if (text.size() > kMaxIdentifierBytes) {
    return absl::InvalidArgumentError(
        StrCat(field, ": is ", text.size(), " bytes, the limit is ", kMaxIdentifierBytes));
  }
  if (absl::Status s = ValidatePrintableUtf8(text, field); !s.ok()) return s;
  slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat(field, ": has no '/' (expected PREFIX/SUFFIX, e.g. 88.123.45/PUMP-1)"));
  }
  if (slash == 0) {
    return absl::InvalidArgumentError(StrCat(field, ": prefix before '/' is empty"));
  }
  if (slash + 1 == text.size()) {
    return absl::InvalidArgumentError(StrCat(field, ": suffix after '/' is empty"));
  }
  std::string_view prefix = text.substr(0, slash);
  if (absl::Status s = ValidatePrefixSyntax(prefix, field); !s.ok()) {
    return absl::InvalidArgumentError(
        StrCat(field, " prefix", ToStd(s.message()).substr(field.size())));
  }
  key.assign(text);
  if (options.case_sensitive_suffix) {
    for (size_t i = 0; i < slash; ++i) {
      if (key[i] >= 'a' && key[i] <= 'z') key[i] = static_cast<char>(key[i] - 'a' + 'A');
    }
  } else {
    AsciiUpperInPlace(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<Identifier> Identifier::Parse(std::string_view text,
                                             const IdentifierOptions& options,
                                             std::string_view field) {
  std::string key;
  size_t slash = 0;
  if (absl::Status s = NormalizeIdentifierInto(text, options, field, key, slash); !s.ok()) {
    return s;
  }
  return Identifier(std::string(text), std::move(key), slash);
}

}  // namespace idnode::identifier
