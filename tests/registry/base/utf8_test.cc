#include "registry/base/utf8.h"

#include <gtest/gtest.h>

namespace idnode {
namespace {

TEST(EscapeForLogTest, KeepsPrintableUtf8AndEscapesWhatCouldForgeOrGarbleALine) {
  EXPECT_EQ(EscapeForLog("88.123.45/PUMP-1 标识解析"), "88.123.45/PUMP-1 标识解析");
  EXPECT_EQ(EscapeForLog("/\n[info] idnode: FORGED"), "/\\x0a[info] idnode: FORGED");
  EXPECT_EQ(EscapeForLog("a\rb\x1b[31mc\x7f"), "a\\x0db\\x1b[31mc\\x7f");
  EXPECT_EQ(EscapeForLog("back\\slash"), "back\\x5cslash");  // so an escape cannot be faked
  EXPECT_EQ(EscapeForLog("\xff\xfe ok"), "\\xff\\xfe ok");
  EXPECT_EQ(EscapeForLog("\xc2\x85"), "\\xc2\\x85");  // U+0085, a C1 control (NEL)
  EXPECT_EQ(EscapeForLog("\xe6\xa0"), "\\xe6\\xa0");  // a truncated sequence
  EXPECT_EQ(EscapeForLog(std::string_view("a\0b", 3)), "a\\x00b");
}

TEST(EscapeForLogTest, BoundsWhatOneValueAddsToALine) {
  const std::string long_text(1000, 'x');
  EXPECT_EQ(EscapeForLog(long_text, 10), "xxxxxxxxxx...(1000 bytes)");
  // A multi-byte character cut by the bound is escaped byte by byte, never split silently.
  EXPECT_EQ(EscapeForLog("ab标", 4), "ab\\xe6\\xa0...(5 bytes)");
}

}  // namespace
}  // namespace idnode
