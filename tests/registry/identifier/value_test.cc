#include "registry/identifier/value.h"

#include <gtest/gtest.h>

#include "registry/base/strings.h"
#include "tests/support/values.h"

namespace idnode::identifier {
namespace {

using testing::MakeValue;

// The three values of `88.123.45/ABC-0001` in the reference server's reply of
// tests/support/handle_vectors.h (kResolutionReplyHex), as it encoded them (value count first).
constexpr std::string_view kReferenceValuesHex =
    "00000003"
    "000000016592008000000151800e0000000355524c0000001b687474703a2f2f6578616d706c652e636f6d2f"
    "6162632d303030310000000000000002"
    "6592008000000151800e00000005454d41494c0000000f6f7073406578616d706c652e636f6d00000000"
    "000000646592008000000151800e0000000848535f41444d494e000000190fff0000000f38382e3132332e34"
    "352f41444d494e0000012c00000000";

using testing::ReferenceValues;

TEST(ValueTest, EncodesLikeTheReferenceServer) {
  auto encoded = EncodeValueList(ReferenceValues());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(HexBytes(*encoded), kReferenceValuesHex);
}

TEST(ValueTest, DecodesWhatItEncodes) {
  auto encoded = EncodeValueList(ReferenceValues());
  ASSERT_TRUE(encoded.ok());
  auto decoded = DecodeValueList(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[0].index, 1u);
  EXPECT_EQ((*decoded)[1].data, "ops@example.com");
  EXPECT_EQ((*decoded)[2].type, "HS_ADMIN");
  EXPECT_EQ((*decoded)[2].timestamp, 0x65920080u);
}

TEST(ValueTest, RejectsTruncatedEncodings) {
  auto encoded = EncodeValueList(ReferenceValues());
  ASSERT_TRUE(encoded.ok());
  for (size_t cut = 0; cut < encoded->size(); ++cut) {
    EXPECT_FALSE(DecodeValueList(encoded->substr(0, cut)).ok()) << cut;
  }
}

TEST(ValueTest, RejectsDuplicateIndexes) {
  std::vector<HandleValue> values = {testing::MakeValue(1, "URL", "a"), MakeValue(1, "URL", "b")};
  absl::Status s = ValidateValues(values);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("values[1] (index 1): duplicate index 1"), absl::string_view::npos);
}

TEST(ValueTest, RejectsOversizedData) {
  std::vector<HandleValue> values = {
      testing::MakeValue(1, "URL", std::string(kMaxValueDataBytes + 1, 'x'))};
  absl::Status s = ValidateValues(values);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("data is 65537 bytes, the limit is 65536"), absl::string_view::npos);
  values[0].data.pop_back();
  EXPECT_TRUE(ValidateValues(values).ok());
}

TEST(ValueTest, RejectsOversizedValueListAsAWhole) {
  std::vector<HandleValue> values;
  for (uint32_t i = 1; i <= 4; ++i)
    values.push_back(testing::MakeValue(i, "DATA", std::string(60000, 'x')));
  ASSERT_TRUE(ValidateValues(values).ok());
  auto encoded = EncodeValueList(values);
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValueTest, RejectsIndexZeroEmptyTypeAndBadPermissions) {
  EXPECT_FALSE(ValidateValues(std::vector<HandleValue>{testing::MakeValue(0, "URL", "a")}).ok());
  EXPECT_FALSE(ValidateValues(std::vector<HandleValue>{testing::MakeValue(1, "", "a")}).ok());
  HandleValue v = testing::MakeValue(1, "URL", "a");
  v.permissions = 0x1F;
  EXPECT_FALSE(ValidateValues(std::vector<HandleValue>{v}).ok());
  EXPECT_FALSE(ValidateValues(std::vector<HandleValue>{}).ok());
}

TEST(ValueTest, ComparesListsIgnoringTimestamps) {
  std::vector<HandleValue> values = ReferenceValues();
  auto a = EncodeValueList(values);
  values[1].timestamp = 1;
  auto b = EncodeValueList(values);
  values[1].data = "other";
  auto c = EncodeValueList(values);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(SameValuesIgnoringTimestamps(*a, *b));
  EXPECT_FALSE(SameValuesIgnoringTimestamps(*a, *c));
}

TEST(ValueTest, StampsEveryTimestamp) {
  auto encoded = EncodeValueList(ReferenceValues());
  ASSERT_TRUE(encoded.ok());
  StampTimestamps(*encoded, 42);
  auto decoded = DecodeValueList(*encoded);
  ASSERT_TRUE(decoded.ok());
  for (const HandleValue& v : *decoded) EXPECT_EQ(v.timestamp, 42u);
}

}  // namespace
}  // namespace idnode::identifier
