#include "registry/templates/template.h"

#include <gtest/gtest.h>

#include "registry/base/strings.h"
#include "tests/support/values.h"

namespace idnode::templates {
namespace {

using testing::MakeValue;

TemplateAttribute Attribute(uint32_t index, std::string name, AttributeType type,
                            bool required = false, uint32_t min = 0, uint32_t max = 0) {
  return TemplateAttribute{index, std::move(name), type, required, min, max, false};
}

DataTemplate PumpTemplate() {
  DataTemplate t;
  t.version = 1;
  t.attributes = {Attribute(2002, "RATED_POWER_KW", AttributeType::kNumber, true),
                  Attribute(2001, "MODEL", AttributeType::kString, true, 2, 8),
                  Attribute(2003, "MADE_ON", AttributeType::kDate)};
  return t;
}

std::vector<identifier::HandleValue> PumpValues() {
  return {testing::MakeValue(1, "URL", "https://example.com/p/1"),
          MakeValue(1001, "TEMPLATE_VERSION", "1"), MakeValue(2001, "model", "P-200"),
          MakeValue(2002, "RATED_POWER_KW", "7.5"), MakeValue(2003, "MADE_ON", "2024-02-29")};
}

bool Mentions(const absl::Status& status, std::string_view words) {
  return ToStd(status.message()).find(words) != std::string_view::npos;
}

absl::Status Check(const std::vector<identifier::HandleValue>& values) {
  DataTemplate t = PumpTemplate();
  EXPECT_TRUE(ValidateTemplate(t, nullptr).ok());
  return CheckAgainstTemplate(values, t, "88.123.45");
}

TEST(TemplateTest, ValidTemplateIsSortedByIndex) {
  DataTemplate t = PumpTemplate();
  ASSERT_TRUE(ValidateTemplate(t, nullptr).ok());
  EXPECT_EQ(t.attributes.front().index, 2001u);
  EXPECT_EQ(t.attributes.back().index, 2003u);
  ASSERT_NE(t.Find(2002), nullptr);
  EXPECT_EQ(t.Find(2002)->name, "RATED_POWER_KW");
  EXPECT_EQ(t.Find(2004), nullptr);
}

TEST(TemplateTest, RejectsTemplatesBreakingTheirOwnRules) {
  auto expect_invalid = [](DataTemplate t, std::string_view words) {
    absl::Status s = ValidateTemplate(t, nullptr);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << words;
    EXPECT_TRUE(Mentions(s, words)) << s;
  };
  DataTemplate empty;
  expect_invalid(empty, "at least one attribute");
  DataTemplate low = PumpTemplate();
  low.attributes[0].index = 1999;
  expect_invalid(low, "below 2000");
  DataTemplate twice = PumpTemplate();
  twice.attributes[2].index = 2001;
  expect_invalid(twice, "more than once");
  DataTemplate same_name = PumpTemplate();
  same_name.attributes[2].name = "Model";
  expect_invalid(same_name, "already used by index 2001");
  DataTemplate lengths = PumpTemplate();
  lengths.attributes[1].min_length = 9;
  expect_invalid(lengths, "min_length 9 is above max_length 8");
  DataTemplate disabled_required = PumpTemplate();
  disabled_required.attributes[0].disabled = true;
  expect_invalid(disabled_required, "disabled attribute cannot be required");
  DataTemplate unnamed = PumpTemplate();
  unnamed.attributes[1].name = "";
  expect_invalid(unnamed, "attributes[1]: name is empty");
  EXPECT_EQ(ParseAttributeType("integer", "attributes[0] type").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseAttributeType("date", "t"), AttributeType::kDate);
}

TEST(TemplateTest, NewVersionMayDisableOrAddButNeverDropOrRetype) {
  DataTemplate v1 = PumpTemplate();
  ASSERT_TRUE(ValidateTemplate(v1, nullptr).ok());
  DataTemplate v2 = v1;
  v2.attributes[2].disabled = true;  // MADE_ON
  v2.attributes.push_back(Attribute(2004, "SERIAL", AttributeType::kString));
  EXPECT_TRUE(ValidateTemplate(v2, &v1).ok());

  DataTemplate dropped = v1;
  dropped.attributes.pop_back();
  absl::Status s = ValidateTemplate(dropped, &v1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(s, "attribute 2003 (MADE_ON) of version 1 is missing")) << s;
  DataTemplate retyped = v1;
  retyped.attributes[0].type = AttributeType::kNumber;
  EXPECT_EQ(ValidateTemplate(retyped, &v1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TemplateTest, EncodesAndDecodes) {
  DataTemplate t = PumpTemplate();
  ASSERT_TRUE(ValidateTemplate(t, nullptr).ok());
  t.version = 7;
  t.created_ms = 1'795'275'000'000;
  t.author = "acme";
  t.description = "水泵 pumps";
  t.attributes[2].disabled = true;
  auto decoded = DecodeTemplate(EncodeTemplate(t));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->version, 7u);
  EXPECT_EQ(decoded->author, "acme");
  EXPECT_EQ(decoded->description, t.description);
  ASSERT_EQ(decoded->attributes.size(), 3u);
  EXPECT_EQ(decoded->attributes[0].max_length, 8u);
  EXPECT_TRUE(decoded->attributes[1].required);
  EXPECT_FALSE(decoded->attributes[2].required);
  EXPECT_TRUE(decoded->attributes[2].disabled);
  std::string bytes = EncodeTemplate(t);
  EXPECT_EQ(DecodeTemplate(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeTemplate(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST(TemplateTest, KeysKeepOnePrefixsVersionsApart) {
  EXPECT_EQ(TemplateKeyVersion(TemplateKey("88.123.4", 3), "88.123.4"), 3u);
  EXPECT_FALSE(TemplateKeyVersion(TemplateKey("88.123.45", 3), "88.123.4").has_value());
  EXPECT_FALSE(TemplateKeyVersion(TemplateKey("88.123.4", 3), "88.123.45").has_value());
  EXPECT_LT(TemplateKey("88.123.4", 2), TemplateKey("88.123.4", 256));
  EXPECT_LT(TemplateKey("88.123.4", 0xFFFFFFFF), TemplateKey("88.123.45", 1));
}

TEST(TemplateTest, FindsTheNamedVersion) {
  EXPECT_EQ(NamedTemplateVersion(PumpValues()).value(), 1u);
  EXPECT_FALSE(
      NamedTemplateVersion(std::vector{testing::MakeValue(1, "URL", "u")}).value().has_value());
  for (std::string bad : {"0", "01", "abc", "", "4294967296", "-1"}) {
    auto v = NamedTemplateVersion(std::vector{testing::MakeValue(1001, "TEMPLATE_VERSION", bad)});
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto wrong_type = NamedTemplateVersion(std::vector{testing::MakeValue(1001, "URL", "1")});
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(wrong_type.status(), "reserved for the template version"));
}

TEST(TemplateTest, AcceptsValuesThatSatisfyTheTemplate) {
  EXPECT_TRUE(Check(PumpValues()).ok()) << Check(PumpValues());
  auto optional_left_out = PumpValues();
  optional_left_out.pop_back();  // MADE_ON is optional
  EXPECT_TRUE(Check(optional_left_out).ok());
  auto chinese = PumpValues();
  chinese[2].data = "水泵型号";  // 4 characters, 12 bytes: lengths count characters
  EXPECT_TRUE(Check(chinese).ok()) << Check(chinese);
}

TEST(TemplateTest, RejectsValuesThatBreakTheTemplateNamingTheAttribute) {
  auto expect_invalid = [](std::vector<identifier::HandleValue> values, std::string_view words) {
    absl::Status s = Check(values);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << words;
    EXPECT_TRUE(Mentions(s, words)) << s;
  };
  auto values = PumpValues();
  values[3].data = "7,5";
  expect_invalid(values, "(index 2002, RATED_POWER_KW): \"7,5\" is not a number");
  for (std::string bad : {"2023-02-29", "2024-13-01", "2024-1-01", "0000-01-01", "24-02-29"}) {
    values = PumpValues();
    values[4].data = bad;
    expect_invalid(values, "is not a date YYYY-MM-DD");
  }
  values = PumpValues();
  values[2].data = "P";
  expect_invalid(values, "is 1 characters, the template requires at least 2");
  values[2].data = "水泵水泵水泵水泵水";
  expect_invalid(values, "is 9 characters, the template allows at most 8");
  values = PumpValues();
  values[2].type = "MAKER";
  expect_invalid(values, "type is \"MAKER\", the template names this attribute \"MODEL\"");
  values = PumpValues();
  values.push_back(testing::MakeValue(2009, "COLOUR", "red"));
  expect_invalid(values, "(index 2009): is not an attribute of template version 1");
  values = PumpValues();
  values.erase(values.begin() + 3);
  expect_invalid(values, "required attribute 2002 (RATED_POWER_KW)");
  values = PumpValues();
  values[2].data = "P-\x01";
  expect_invalid(values, "control character");
}

TEST(TemplateTest, RejectsValuesOfADisabledAttribute) {
  DataTemplate t = PumpTemplate();
  ASSERT_TRUE(ValidateTemplate(t, nullptr).ok());
  t.attributes[2].disabled = true;
  absl::Status s = CheckAgainstTemplate(PumpValues(), t, "88.123.45");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(s, "MADE_ON): the attribute is disabled")) << s;
}

}  // namespace
}  // namespace idnode::templates
