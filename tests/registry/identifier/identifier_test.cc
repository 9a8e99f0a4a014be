#include "registry/identifier/identifier.h"

#include <gtest/gtest.h>

#include <string>

namespace idnode::identifier {
namespace {

std::string MessageOf(std::string_view text) {
  auto id = Identifier::Parse(text);
  EXPECT_FALSE(id.ok()) << text;
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(id.status().message());
}

TEST(IdentifierTest, SplitsAtFirstSlashAndUpperCasesAsciiLetters) {
  auto id = Identifier::Parse("88.123.45/pump-2026/a:b.c");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->key(), "88.123.45/PUMP-2026/A:B.C");
  EXPECT_EQ(id->prefix(), "88.123.45");
  EXPECT_EQ(id->suffix(), "PUMP-2026/A:B.C");
  EXPECT_EQ(id->original(), "88.123.45/pump-2026/a:b.c");
}

TEST(IdentifierTest, KeepsSuffixCaseWhenConfiguredCaseSensitive) {
  auto id = Identifier::Parse("88.123.ab/Pump", IdentifierOptions{true});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->key(), "88.123.AB/Pump");
}

TEST(IdentifierTest, LeavesNonAsciiLettersAlone) {
  auto id = Identifier::Parse("88.123.45/泵-ä");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->suffix(), "泵-ä");
}

TEST(IdentifierTest, RejectsEmptyIdentifier) {
  EXPECT_NE(MessageOf("").find("empty"), std::string::npos);
}

TEST(IdentifierTest, RejectsMissingSlash) {
  EXPECT_NE(MessageOf("88.123.45").find("no '/'"), std::string::npos);
}

TEST(IdentifierTest, RejectsEmptyPrefix) {
  EXPECT_NE(MessageOf("/ABC").find("prefix before '/' is empty"), std::string::npos);
}

TEST(IdentifierTest, RejectsEmptySuffix) {
  EXPECT_NE(MessageOf("88.123.45/").find("suffix after '/' is empty"), std::string::npos);
}

TEST(IdentifierTest, RejectsOverLongIdentifier) {
  std::string text = "88.123.45/" + std::string(246, 'A');
  ASSERT_EQ(text.size(), 256u);
  EXPECT_NE(MessageOf(text).find("256 bytes, the limit is 255"), std::string::npos);
  EXPECT_TRUE(Identifier::Parse(text.substr(0, 255)).ok());
}

TEST(IdentifierTest, RejectsOverLongPrefix) {
  std::string text = std::string(65, '8') + "/A";
  EXPECT_NE(MessageOf(text).find("limit is 64"), std::string::npos);
}

TEST(IdentifierTest, RejectsInvalidUtf8) {
  EXPECT_NE(MessageOf("88.123.45/A\xff").find("invalid UTF-8 at byte offset 11"),
            std::string::npos);
  EXPECT_NE(MessageOf("88.123.45/\xc0\xaf").find("invalid UTF-8"), std::string::npos);  // overlong
  EXPECT_NE(MessageOf("88.123.45/\xed\xa0\x80").find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(MessageOf("88.123.45/\xe6\xb3").find("invalid UTF-8"), std::string::npos);  // cut
}

TEST(IdentifierTest, RejectsControlCharacters) {
  EXPECT_NE(MessageOf(std::string("88.123.45/A\0B", 13)).find("control character U+0000"),
            std::string::npos);
  EXPECT_NE(MessageOf("88.123.45/A\nB").find("U+000A"), std::string::npos);
  EXPECT_NE(MessageOf("88.123.45/A\x7f").find("U+007F"), std::string::npos);
  EXPECT_NE(MessageOf("88.123.45/A\xc2\x85").find("U+0085"), std::string::npos);
}

TEST(IdentifierTest, RejectsBadPrefixSegments) {
  EXPECT_NE(MessageOf("88..45/A").find("empty segment"), std::string::npos);
  EXPECT_NE(MessageOf("88.123./A").find("empty segment"), std::string::npos);
  EXPECT_NE(MessageOf("88 123/A").find("' ' at byte offset 2"), std::string::npos);
}

TEST(PrefixTest, ComparesHierarchically) {
  EXPECT_TRUE(IsSameOrUnderPrefix("88.123.45", "88.123"));
  EXPECT_TRUE(IsSameOrUnderPrefix("88.123", "88.123"));
  EXPECT_FALSE(IsSameOrUnderPrefix("88.1234", "88.123"));
  EXPECT_FALSE(IsSameOrUnderPrefix("88.12", "88.123"));
}

}  // namespace
}  // namespace idnode::identifier
