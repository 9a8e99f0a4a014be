#pragma once

// String helpers. Debian 12's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat does not accept std::string_view; we format with fmt instead
// and convert at the Abseil boundary with ToStd().

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace idnode {

// Concatenates the arguments' fmt "{}" renderings.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

// "2026-11-22T03:04:05Z" for milliseconds since the Unix epoch (seconds precision).
inline std::string FormatUtcMillis(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(seconds));
}

inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Lower-case hex of `bytes`.
inline std::string HexBytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) fmt::format_to(std::back_inserter(out), "{:02x}", c);
  return out;
}

// Inverse of HexBytes; false on odd length or a non-hex digit.
inline bool ParseHexBytes(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

}  // namespace idnode
