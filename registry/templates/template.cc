#include "registry/templates/template.h"

#include <algorithm>
#include <map>

#include "registry/base/bytes.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"

namespace idnode::templates {
namespace {

constexpr uint8_t kFormat = 1;

std::string UpperAscii(std::string_view text) {
  std::string upper(text);
  identifier::AsciiUpperInPlace(upper);
  return upper;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// An ISO 8601 calendar date YYYY-MM-DD (years 0001-9999) that exists.
bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) return false;
  }
  auto number = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (year == 0 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= days;
}

// Unicode characters in valid UTF-8: every byte that does not continue a sequence.
size_t CountCharacters(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(
      utf8.begin(), utf8.end(), [](char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; }));
}

absl::Status CheckAttributeValue(const identifier::HandleValue& value,
                                 const TemplateAttribute& attribute) {
  std::string field = StrCat("values (index ", value.index, ", ", attribute.name, ")");
  if (UpperAscii(value.type) != UpperAscii(attribute.name)) {
    return absl::InvalidArgumentError(StrCat(field, ": type is \"", value.type,
                                             "\", the template names this attribute \"",
                                             attribute.name, "\""));
  }
  if (absl::Status s = identifier::ValidatePrintableUtf8(value.data, field); !s.ok()) return s;
  switch (attribute.type) {
    case AttributeType::kString:
      break;
    case AttributeType::kNumber:
      if (!IsNumber(value.data)) {
        return absl::InvalidArgumentError(
            StrCat(field, ": \"", value.data, "\" is not a number (e.g. 42, -1.5, 6.02e23)"));
      }
      break;
    case AttributeType::kDate:
      if (!IsDate(value.data)) {
        return absl::InvalidArgumentError(
            StrCat(field, ": \"", value.data, "\" is not a date YYYY-MM-DD"));
      }
      break;
  }
  size_t length = CountCharacters(value.data);
  if (length < attribute.min_length) {
    return absl::InvalidArgumentError(StrCat(field, ": is ", length,
                                             " characters, the template requires at least ",
                                             attribute.min_length));
  }
  if (attribute.max_length != 0 && length > attribute.max_length) {
    return absl::InvalidArgumentError(StrCat(
        field, ": is ", length, " characters, the template allows at most ", attribute.max_length));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view AttributeTypeName(AttributeType type) {
  switch (type) {
    case AttributeType::kString:
      return "string";
    case AttributeType::kNumber:
      return "number";
    case AttributeType::kDate:
      return "date";
  }
  return "unknown";
}

absl::StatusOr<AttributeType> ParseAttributeType(std::string_view name, std::string_view field) {
  for (AttributeType type :
       {AttributeType::kString, AttributeType::kNumber, AttributeType::kDate}) {
    if (name == AttributeTypeName(type)) return type;
  }
  return absl::InvalidArgumentError(
      StrCat(field, ": \"", name, "\" is not an attribute type (string, number or date)"));
}

const TemplateAttribute* DataTemplate::Find(uint32_t index) const {
  auto it = std::lower_bound(
      attributes.begin(), attributes.end(), index,
      [](const TemplateAttribute& attribute, uint32_t i) { return attribute.index < i; });
  return it != attributes.end() && it->index == index ? &*it : nullptr;
}

absl::Status ValidateTemplate(DataTemplate& candidate, const DataTemplate* previous) {
  auto& attributes = candidate.attributes;
  if (attributes.empty()) {
    return absl::InvalidArgumentError("attributes: a template needs at least one attribute");
  }
  if (attributes.size() > kMaxTemplateAttributes) {
    return absl::InvalidArgumentError(StrCat("attributes: ", attributes.size(),
                                             " attributes, the limit is ", kMaxTemplateAttributes));
  }
  if (candidate.description.size() > kMaxTemplateDescriptionBytes) {
    return absl::InvalidArgumentError(StrCat("description: is ", candidate.description.size(),
                                             " bytes, the limit is ",
                                             kMaxTemplateDescriptionBytes));
  }
  if (absl::Status s = identifier::ValidatePrintableUtf8(candidate.description, "description");
      !s.ok()) {
    return s;
  }
  std::map<std::string, uint32_t> names;
  for (size_t i = 0; i < attributes.size(); ++i) {
    const TemplateAttribute& a = attributes[i];
    std::string field = StrCat("attributes[", i, "]");
    if (a.index < kFirstAttributeIndex) {
      return absl::InvalidArgumentError(StrCat(field, ": index ", a.index, " is below ",
                                               kFirstAttributeIndex,
                                               " (lower indexes are not template attributes)"));
    }
    if (a.name.empty()) return absl::InvalidArgumentError(StrCat(field, ": name is empty"));
    if (a.name.size() > kMaxAttributeNameBytes) {
      return absl::InvalidArgumentError(StrCat(field, ": name is ", a.name.size(),
                                               " bytes, the limit is ", kMaxAttributeNameBytes));
    }
    if (absl::Status s = identifier::ValidatePrintableUtf8(a.name, StrCat(field, " name")); !s.ok())
      return s;
    if (a.max_length != 0 && a.min_length > a.max_length) {
      return absl::InvalidArgumentError(
          StrCat(field, ": min_length ", a.min_length, " is above max_length ", a.max_length));
    }
    if (a.max_length > identifier::kMaxValueDataBytes) {
      return absl::InvalidArgumentError(StrCat(field, ": max_length ", a.max_length,
                                               " is above the value limit of ",
                                               identifier::kMaxValueDataBytes, " bytes"));
    }
    if (a.disabled && a.required) {
      return absl::InvalidArgumentError(StrCat(field, ": a disabled attribute cannot be required"));
    }
    auto [it, inserted] = names.emplace(UpperAscii(a.name), a.index);
    if (!inserted) {
      return absl::InvalidArgumentError(
          StrCat(field, ": name \"", a.name, "\" is already used by index ", it->second));
    }
  }
  std::sort(
      attributes.begin(), attributes.end(),
      [](const TemplateAttribute& a, const TemplateAttribute& b) { return a.index < b.index; });
  for (size_t i = 1; i < attributes.size(); ++i) {
    if (attributes[i].index == attributes[i - 1].index) {
      return absl::InvalidArgumentError(
          StrCat("attributes: index ", attributes[i].index, " appears more than once"));
    }
  }
  if (previous == nullptr) return absl::OkStatus();
  for (const TemplateAttribute& old : previous->attributes) {
    const TemplateAttribute* kept = candidate.Find(old.index);
    std::string what =
        StrCat("attribute ", old.index, " (", old.name, ") of version ", previous->version);
    if (kept == nullptr) {
      return absl::FailedPreconditionError(
          StrCat(what, " is missing: attributes can be disabled, never deleted"));
    }
    if (kept->name != old.name || kept->type != old.type) {
      return absl::FailedPreconditionError(StrCat(what, " must keep its name and type ",
                                                  AttributeTypeName(old.type),
                                                  "; add a new attribute instead"));
    }
  }
  return absl::OkStatus();
}

std::string EncodeTemplate(const DataTemplate& t) {
  std::string out;
  ByteWriter w(out);
  w.U8(kFormat);
  w.U32(t.version);
  w.U64(static_cast<uint64_t>(t.created_ms));
  w.Bytes16(t.author);
  w.Bytes16(t.description);
  w.U32(static_cast<uint32_t>(t.attributes.size()));
  for (const TemplateAttribute& a : t.attributes) {
    w.U32(a.index);
    w.Bytes16(a.name);
    w.U8(static_cast<uint8_t>(a.type));
    w.U8(static_cast<uint8_t>((a.required ? 1 : 0) | (a.disabled ? 2 : 0)));
    w.U32(a.min_length);
    w.U32(a.max_length);
  }
  return out;
}

absl::StatusOr<DataTemplate> DecodeTemplate(std::string_view bytes) {
  ByteReader r(bytes);
  DataTemplate t;
  uint8_t format = 0;
  uint64_t created = 0;
  std::string_view author, description;
  uint32_t count = 0;
  auto malformed = [] { return absl::DataLossError("template record is malformed"); };
  if (!r.U8(format) || format != kFormat || !r.U32(t.version) || !r.U64(created) ||
      !r.Bytes16(author) || !r.Bytes16(description) || !r.U32(count) ||
      count > kMaxTemplateAttributes) {
    return malformed();
  }
  t.created_ms = static_cast<int64_t>(created);
  t.author = std::string(author);
  t.description = std::string(description);
  t.attributes.resize(count);
  for (TemplateAttribute& a : t.attributes) {
    std::string_view name;
    uint8_t type = 0, flags = 0;
    if (!r.U32(a.index) || !r.Bytes16(name) || !r.U8(type) || !r.U8(flags) ||
        !r.U32(a.min_length) || !r.U32(a.max_length) || type < 1 || type > 3) {
      return malformed();
    }
    a.name = std::string(name);
    a.type = static_cast<AttributeType>(type);
    a.required = (flags & 1) != 0;
    a.disabled = (flags & 2) != 0;
  }
  if (r.remaining() != 0) return malformed();
  return t;
}

std::string TemplateKeyRange(std::string_view prefix) {
  std::string key(prefix);
  key.push_back('\0');
  return key;
}

std::string TemplateKey(std::string_view prefix, uint32_t version) {
  std::string key = TemplateKeyRange(prefix);
  ByteWriter(key).U32(version);
  return key;
}

std::optional<uint32_t> TemplateKeyVersion(std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 5 || key.substr(0, prefix.size()) != prefix ||
      key[prefix.size()] != '\0') {
    return std::nullopt;
  }
  uint32_t version = 0;
  ByteReader r(key.substr(prefix.size() + 1));
  r.U32(version);
  return version;
}

absl::StatusOr<std::optional<uint32_t>> NamedTemplateVersion(
    std::span<const identifier::HandleValue> values) {
  for (const identifier::HandleValue& v : values) {
    if (v.index != kTemplateVersionIndex) continue;
    std::string field = StrCat("values (index ", kTemplateVersionIndex, ")");
    if (UpperAscii(v.type) != kTemplateVersionType) {
      return absl::InvalidArgumentError(
          StrCat(field, ": is reserved for the template version; its type must be ",
                 kTemplateVersionType, ", not \"", v.type, "\""));
    }
    const std::string& d = v.data;
    if (d.empty() || d.size() > 10 || d[0] == '0' || !std::all_of(d.begin(), d.end(), IsDigit) ||
        std::stoull(d) > UINT32_MAX) {
      return absl::InvalidArgumentError(
          StrCat(field, ": \"", d, "\" is not a template version (a number from 1)"));
    }
    return std::optional<uint32_t>(static_cast<uint32_t>(std::stoull(d)));
  }
  return std::optional<uint32_t>();
}

absl::Status CheckAgainstTemplate(std::span<const identifier::HandleValue> values,
                                  const DataTemplate& data_template, std::string_view prefix) {
  std::vector<bool> present(data_template.attributes.size(), false);
  for (const identifier::HandleValue& v : values) {
    if (v.index < kFirstAttributeIndex) continue;
    const TemplateAttribute* attribute = data_template.Find(v.index);
    if (attribute == nullptr) {
      return absl::InvalidArgumentError(StrCat("values (index ", v.index,
                                               "): is not an attribute of template version ",
                                               data_template.version, " of prefix ", prefix));
    }
    if (attribute->disabled) {
      return absl::InvalidArgumentError(StrCat("values (index ", v.index, ", ", attribute->name,
                                               "): the attribute is disabled in template version ",
                                               data_template.version, " of prefix ", prefix));
    }
    if (absl::Status s = CheckAttributeValue(v, *attribute); !s.ok()) return s;
    present[static_cast<size_t>(attribute - data_template.attributes.data())] = true;
  }
  for (size_t i = 0; i < present.size(); ++i) {
    const TemplateAttribute& a = data_template.attributes[i];
    if (a.required && !present[i]) {
      return absl::InvalidArgumentError(StrCat("values: required attribute ", a.index, " (", a.name,
                                               ") of template version ", data_template.version,
                                               " of prefix ", prefix, " is missing"));
    }
  }
  return absl::OkStatus();
}

}  // namespace idnode::templates
