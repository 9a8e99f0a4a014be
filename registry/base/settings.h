#pragma once

// Settings sections: how a part of the node declares its configuration once, beside itself.
//
// A section is a plain struct whose members hold the settings, with their defaults as member
// initialisers, and which declares its keys to whoever asks:
//
//   struct HttpSection {
//     static constexpr std::string_view kName = "http";  // its TOML [section]
//     std::string listen = "127.0.0.1:2643";
//     bool allow_remote = false;
//
//     template <class Self, class Keys>
//     static void Declare(Self& self, Keys& keys) {
//       keys.Text("listen", self.listen);
//       keys.Flag("allow_remote", self.allow_remote);
//     }
//     static absl::Status Check(const HttpSection& section);  // optional: rules across keys
//   };
//
// `Keys` is one of several visitors: the TOML reader (api/node/config.cc), CheckRanges below
// (the same ranges for settings built in code), and DescribeKeys below (for the tests that hold
// the example config and the README's table to the declarations). A key's name, type and range
// are therefore written once, in Declare; its default once, in the member initialiser.
//
// What a visitor is asked:
//   Text(key, std::string&)            Flag(key, bool&)
//   List(key, std::vector<std::string>&)
//   Number(key, integer&, min, max)    any integer type; both ends allowed
//   Parsed(key, T&, parse, format)     a string in the file, a T in the struct:
//                                      parse(std::string_view) -> absl::StatusOr<T>,
//                                      format(T) -> std::string, the inverse

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/base/clock.h"
#include "registry/base/strings.h"

namespace idnode::settings {

// Bounds of the time keys, in milliseconds (a day is idnode::kDayMs, registry/base/clock.h).
inline constexpr int64_t kHourMs = 3'600'000;

// "config SECTION.KEY: RULE", the form of every configuration error.
inline absl::Status KeyError(std::string_view key, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat("config ", key, ": ", rule));
}
inline absl::Status KeyError(std::string_view section, std::string_view key,
                             std::string_view rule) {
  return KeyError(StrCat(section, ".", key), rule);
}

// The rule a Number key's value broke.
inline std::string RangeRule(int64_t min, int64_t max, std::string_view value) {
  return StrCat("must be ", min, "..", max, ", not ", value);
}

// The retry_initial_ms / retry_max_ms pair of a background sender in [section].
inline absl::Status CheckRetry(std::string_view section, uint64_t initial_ms, uint64_t max_ms) {
  if (max_ms >= initial_ms) return absl::OkStatus();
  return KeyError(section, "retry_max_ms",
                  StrCat("must be at least retry_initial_ms (", initial_ms, "), not ", max_ms));
}

template <class Integer>
bool InRange(Integer value, int64_t min, int64_t max) {
  return std::cmp_greater_equal(value, min) && std::cmp_less_equal(value, max);
}

enum class KeyKind { kText, kFlag, kList, kNumber, kParsed };

// One declared key, as DescribeKeys reports it.
struct KeyInfo {
  std::string section;
  std::string key;
  std::string name() const { return section + "." + key; }
  KeyKind kind = KeyKind::kText;
  int64_t min = 0;  // kNumber only
  int64_t max = 0;
  std::string value;  // the value in the described section, as the file would spell it
};

namespace internal {

inline std::string Quote(const std::string& text) { return "\"" + text + "\""; }

class Describer {
 public:
  explicit Describer(std::string_view section) : section_(section) {}

  void Text(std::string_view key, const std::string& value) {
    Add(key, KeyKind::kText, Quote(value));
  }
  void Flag(std::string_view key, bool value) {
    Add(key, KeyKind::kFlag, value ? "true" : "false");
  }
  void List(std::string_view key, const std::vector<std::string>& values) {
    std::string text = "[";
    for (const std::string& value : values) text += (text.size() > 1 ? ", " : "") + Quote(value);
    Add(key, KeyKind::kList, text + "]");
  }
  template <class Integer>
  void Number(std::string_view key, Integer value, int64_t min, int64_t max) {
    KeyInfo& info = Add(key, KeyKind::kNumber, StrCat(value));
    info.min = min;
    info.max = max;
  }
  template <class T, class Parse, class Format>
  void Parsed(std::string_view key, const T& value, Parse&&, Format&& format) {
    Add(key, KeyKind::kParsed, Quote(format(value)));
  }

  std::vector<KeyInfo> Take() { return std::move(keys_); }

 private:
  KeyInfo& Add(std::string_view key, KeyKind kind, std::string value) {
    keys_.push_back(KeyInfo{std::string(section_), std::string(key), kind, 0, 0, std::move(value)});
    return keys_.back();
  }

  std::string_view section_;
  std::vector<KeyInfo> keys_;
};

class RangeChecker {
 public:
  explicit RangeChecker(std::string_view section) : section_(section) {}

  void Text(std::string_view, const std::string&) {}
  void Flag(std::string_view, bool) {}
  void List(std::string_view, const std::vector<std::string>&) {}
  template <class Integer>
  void Number(std::string_view key, Integer value, int64_t min, int64_t max) {
    if (status_.ok() && !InRange(value, min, max)) {
      status_ = KeyError(section_, key, RangeRule(min, max, StrCat(value)));
    }
  }
  // A value set in code must be one the file could have said: it survives format and parse.
  template <class T, class Parse, class Format>
  void Parsed(std::string_view key, const T& value, Parse&& parse, Format&& format) {
    if (!status_.ok()) return;
    const std::string text = format(value);
    auto parsed = parse(text);
    if (!parsed.ok() || !(*parsed == value)) {
      status_ = KeyError(section_, key, StrCat("\"", text, "\" is not a valid value"));
    }
  }

  absl::Status status() const { return status_; }

 private:
  std::string_view section_;
  absl::Status status_;
};

}  // namespace internal

// Every key `section` declares, with its value there.
template <class Section>
std::vector<KeyInfo> DescribeKeys(const Section& section) {
  internal::Describer describer(Section::kName);
  Section::Declare(section, describer);
  return describer.Take();
}

// The ranges of `section`'s Number keys and the round trip of its Parsed keys, then its own
// Check when it has one.
template <class Section>
absl::Status CheckSection(const Section& section) {
  internal::RangeChecker checker(Section::kName);
  Section::Declare(section, checker);
  if (!checker.status().ok()) return checker.status();
  if constexpr (requires { Section::Check(section); }) return Section::Check(section);
  return absl::OkStatus();
}

}  // namespace idnode::settings
