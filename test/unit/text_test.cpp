// Utf8PrefixLength: cuts at character boundaries, whatever the character's width.
#include "core/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jk::core {
namespace {

TEST(TextTest, ShortTextIsKeptWhole) {
  EXPECT_EQ(Utf8PrefixLength("", 0), 0u);
  EXPECT_EQ(Utf8PrefixLength("abc", 3), 3u);
  EXPECT_EQ(Utf8PrefixLength("abc", 80), 3u);
}

TEST(TextTest, AsciiIsCutAtTheLimit) { EXPECT_EQ(Utf8PrefixLength("abcdef", 4), 4u); }

TEST(TextTest, AMultibyteCharacterIsNeverSplit) {
  const std::string two = "ab\xC3\xA9";            // "abé": é is 2 bytes
  EXPECT_EQ(Utf8PrefixLength(two, 3), 2u);
  EXPECT_EQ(Utf8PrefixLength(two, 4), 4u);
  const std::string three = "a\xE2\x82\xAC" "b";   // "a€b": € is 3 bytes
  EXPECT_EQ(Utf8PrefixLength(three, 2), 1u);
  EXPECT_EQ(Utf8PrefixLength(three, 3), 1u);
  EXPECT_EQ(Utf8PrefixLength(three, 4), 4u);
  const std::string four = "\xF0\x9F\x8E\xB5";      // a 4-byte emoji alone
  for (std::size_t max = 0; max < 4; ++max) EXPECT_EQ(Utf8PrefixLength(four, max), 0u);
  EXPECT_EQ(Utf8PrefixLength(four, 4), 4u);
}

TEST(TextTest, EveryCutOfMixedTextIsValid) {
  const std::string text = "x\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8E\xB5y";
  for (std::size_t max = 0; max <= text.size(); ++max) {
    const std::size_t len = Utf8PrefixLength(text, max);
    EXPECT_LE(len, max);
    if (len < text.size()) {
      EXPECT_NE(static_cast<unsigned char>(text[len]) & 0xC0, 0x80u) << "cut at " << max;
    }
  }
}

}  // namespace
}  // namespace jk::core
