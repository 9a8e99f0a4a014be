#pragma once

// The identifier model (docs/architecture.md §2): `prefix/suffix`, split at the first '/'.
//
// Limits: whole identifier <= 255 bytes, prefix <= 64 bytes, valid UTF-8, no control characters.
// Prefix: dot-separated segments of ASCII letters, digits, '-' and '_' (e.g. `88.123.45`).
// Suffix: any printable UTF-8, may contain '/', ':' and '.'.
// Normalisation: ASCII letters upper-cased in the prefix always, and in the suffix unless
// suffixes are configured case-sensitive. The key is what the store indexes; the registrant's
// spelling is kept for display.
//
// Every rejection is absl::InvalidArgumentError whose message names the field and the rule.
// Thread-safe: pure functions and value types.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace idnode::identifier {

inline constexpr size_t kMaxIdentifierBytes = 255;
// The prefix under which prefix records live: 0.NA/<prefix> (docs/architecture.md §6).
inline constexpr std::string_view kNaPrefix = "0.NA";
inline constexpr size_t kMaxPrefixBytes = 64;

struct IdentifierOptions {
  bool case_sensitive_suffix = false;
};

class Identifier {
 public:
  // Parses and normalises `text`. `field` names the input in error messages ("identifier").
  static absl::StatusOr<Identifier> Parse(std::string_view text,
                                          const IdentifierOptions& options = {},
                                          std::string_view field = "identifier");

  // The registrant's spelling.
  const std::string& original() const { return original_; }
  // Normalised form used as the store key: `PREFIX/SUFFIX`.
  const std::string& key() const { return key_; }
  std::string_view prefix() const { return std::string_view(key_).substr(0, slash_); }
  std::string_view suffix() const { return std::string_view(key_).substr(slash_ + 1); }

 private:
  Identifier(std::string original, std::string key, size_t slash)
      : original_(std::move(original)), key_(std::move(key)), slash_(slash) {}

  std::string original_;
  std::string key_;
  size_t slash_;
};

// Normalises `text` into `key` (reusing its capacity: no allocation once it has grown) and sets
// `slash` to the position of the first '/'. The same rules and messages as Identifier::Parse;
// this is the form for hot paths that must not allocate per request.
absl::Status NormalizeIdentifierInto(std::string_view text, const IdentifierOptions& options,
                                     std::string_view field, std::string& key, size_t& slash);

// Checks a prefix's syntax (segments of letters, digits, '-' and '_'; at most kMaxPrefixBytes).
absl::Status ValidatePrefixSyntax(std::string_view prefix, std::string_view field);

// Validates a prefix (`88.123.45`) and returns it normalised (ASCII upper case).
absl::StatusOr<std::string> NormalizePrefix(std::string_view prefix,
                                            std::string_view field = "prefix");

// True when `prefix` is `parent` itself or lies below it (`88.123.45` under `88.123`).
bool IsSameOrUnderPrefix(std::string_view prefix, std::string_view parent);

// Checks that `text` is valid UTF-8 without control characters (C0, DEL, C1). On failure the
// message names `field`.
absl::Status ValidatePrintableUtf8(std::string_view text, std::string_view field);

// ASCII-only upper-casing (identifiers are case-insensitive for ASCII letters only).
void AsciiUpperInPlace(std::string& text);

}  // namespace idnode::identifier
