#pragma once

// UTF-8 decoding, and escaping text from clients before it reaches a log line.

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

namespace idnode {

// The length of the UTF-8 sequence starting at text[i] and its code point, or 0 when the sequence
// is malformed (truncated, overlong, surrogate, above U+10FFFF).
inline size_t DecodeUtf8(std::string_view text, size_t i, uint32_t& code_point) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    code_point = b0;
    return 1;
  }
  size_t len = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, code_point = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, code_point = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, code_point = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (b & 0x3F);
  }
  if (code_point < min || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return len;
}

// `text` as it may appear in a log line: printable UTF-8 as it is; control characters (C0, DEL,
// C1), backslashes and bytes that are not valid UTF-8 as \xHH, so that a client cannot end a
// line, forge another or garble the terminal. At most `max_bytes` of `text` are shown, then
// "...(N bytes)".
inline std::string EscapeForLog(std::string_view text, size_t max_bytes = 256) {
  std::string out;
  const size_t shown = text.size() < max_bytes ? text.size() : max_bytes;
  out.reserve(shown + 8);
  for (size_t i = 0; i < shown;) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, cp);
    const bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
    if (len == 0 || control || cp == '\\' || i + len > shown) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<uint8_t>(text[i]));
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  if (shown < text.size()) fmt::format_to(std::back_inserter(out), "...({} bytes)", text.size());
  return out;
}

}  // namespace idnode
