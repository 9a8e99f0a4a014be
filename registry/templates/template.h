#pragma once

// Data templates (数据模板, docs/architecture.md §4): the attribute schema an enterprise prefix
// publishes for its identifiers, and the check of a value list against it.
//
// - A template belongs to one enterprise prefix and is versioned 1, 2, 3, ...; a published
//   version never changes. A new version keeps every attribute of the one before it (same
//   index, name and type): an attribute can be disabled, never deleted or retyped.
// - An attribute is `{index >= 2000, name, type string|number|date, required, min/max length,
//   disabled}`. Its name is the Handle value type that carries it (compared ignoring ASCII case,
//   like every value type). Lengths count Unicode characters; max_length 0 means no limit.
// - A registration names a template by carrying value index 1001 of type TEMPLATE_VERSION whose
//   data is the version number in decimal ("3"). Such a value list is checked against that
//   version of its prefix's template: every value at index >= 2000 must be an enabled attribute
//   with matching type and valid data, and every required attribute must be present.
//   Value lists without index 1001 are not checked.
// - templates_v1 key: normalised prefix, 0x00, version u32 big-endian, so one prefix's versions
//   are contiguous and ordered (a prefix never contains 0x00).
//
// Thread-safe: pure functions and value types.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/identifier/value.h"

namespace idnode::templates {

inline constexpr uint32_t kTemplateVersionIndex = 1001;
inline constexpr std::string_view kTemplateVersionType = "TEMPLATE_VERSION";
inline constexpr uint32_t kFirstAttributeIndex = 2000;
inline constexpr size_t kMaxTemplateAttributes = 512;
inline constexpr size_t kMaxAttributeNameBytes = 64;
inline constexpr size_t kMaxTemplateDescriptionBytes = 1024;
// Versions one prefix may publish: a version is never deleted, so this bounds what a prefix keeps
// in the store and what a reader of its history has to page through.
inline constexpr uint32_t kMaxTemplateVersions = 1000;

enum class AttributeType : uint8_t { kString = 1, kNumber = 2, kDate = 3 };

std::string_view AttributeTypeName(AttributeType type);
// "string", "number" or "date"; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<AttributeType> ParseAttributeType(std::string_view name, std::string_view field);

struct TemplateAttribute {
  uint32_t index = 0;
  std::string name;
  AttributeType type = AttributeType::kString;
  bool required = false;
  uint32_t min_length = 0;
  uint32_t max_length = 0;  // 0: no limit
  bool disabled = false;
};

struct DataTemplate {
  uint32_t version = 0;
  int64_t created_ms = 0;
  std::string author;  // account that published it
  std::string description;
  std::vector<TemplateAttribute> attributes;  // sorted by index

  const TemplateAttribute* Find(uint32_t index) const;
};

// Checks a template's own rules: 1..kMaxTemplateAttributes attributes, indexes >= 2000 and
// unique, names non-empty printable UTF-8 within kMaxAttributeNameBytes and unique ignoring ASCII
// case, min_length <= max_length (unless max is 0), a disabled attribute not required, a
// description within its limit. When `previous` is given, also that every attribute of it is
// kept with the same index, name and type. Sorts `attributes` by index.
absl::Status ValidateTemplate(DataTemplate& candidate, const DataTemplate* previous);

std::string EncodeTemplate(const DataTemplate& data_template);
absl::StatusOr<DataTemplate> DecodeTemplate(std::string_view bytes);

// The templates_v1 key of `prefix` (normalised) at `version`, and the start of its key range.
std::string TemplateKey(std::string_view prefix, uint32_t version);
std::string TemplateKeyRange(std::string_view prefix);
// The version in a templates_v1 key, or nullopt when `key` is not one of `prefix`'s keys.
std::optional<uint32_t> TemplateKeyVersion(std::string_view key, std::string_view prefix);

// The template version a value list names (value index 1001), or nullopt when it names none.
// INVALID_ARGUMENT when index 1001 has another type or its data is not a version number.
absl::StatusOr<std::optional<uint32_t>> NamedTemplateVersion(
    std::span<const identifier::HandleValue> values);

// Checks `values` against `data_template` (see the rules above). Messages name the value and the
// attribute, e.g. `values (index 2001, COLOUR): is 70 characters, the template allows at most 64`.
absl::Status CheckAgainstTemplate(std::span<const identifier::HandleValue> values,
                                  const DataTemplate& data_template, std::string_view prefix);

}  // namespace idnode::templates
