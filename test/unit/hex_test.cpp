// Hex encoding and the SHA-256 hex validator shared by the schema and the functions.
#include "core/hex.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace jk::core {
namespace {

const std::string kAbcHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(HexTest, EncodesEveryByteValueLowercase) {
  unsigned char all[256];
  for (int i = 0; i < 256; ++i) all[i] = static_cast<unsigned char>(i);
  char out[512];
  HexEncodeLower(all, 256, out);
  EXPECT_EQ(std::string(out, 2), "00");
  EXPECT_EQ(std::string(out + 2 * 0x0a, 2), "0a");
  EXPECT_EQ(std::string(out + 2 * 0xa0, 2), "a0");
  EXPECT_EQ(std::string(out + 2 * 0xff, 2), "ff");
  for (char c : std::string(out, 512)) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

TEST(HexTest, EncodesNothingForEmptyInput) {
  char out[1] = {'x'};
  HexEncodeLower(nullptr, 0, out);
  EXPECT_EQ(out[0], 'x');
}

TEST(HexTest, ValidatorAcceptsOnly64LowercaseHexDigits) {
  EXPECT_TRUE(IsSha256Hex(kAbcHash));
  EXPECT_TRUE(IsSha256Hex(std::string(64, '0')));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex(kAbcHash.substr(0, 63)));
  EXPECT_FALSE(IsSha256Hex(kAbcHash + "0"));
  std::string upper = kAbcHash;
  upper[0] = 'B';
  EXPECT_FALSE(IsSha256Hex(upper));
  for (char bad : {'g', 'G', ' ', '-', 'x', '\0', '/', ':', '@', '`'}) {
    std::string s = kAbcHash;
    s[10] = bad;
    EXPECT_FALSE(IsSha256Hex(s)) << int(bad);
  }
}

TEST(HexTest, NormalizeLowercasesEitherCase) {
  char out[kSha256HexLength + 1];
  NormalizeSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", out);
  EXPECT_EQ(std::string(out), kAbcHash);
  NormalizeSha256Hex(kAbcHash, out);
  EXPECT_EQ(std::string(out), kAbcHash);
}

TEST(HexTest, NormalizeRefusesMalformedWith22P02NamingTheValue) {
  char out[kSha256HexLength + 1];
  try {
    NormalizeSha256Hex("not-a-hash", out);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.state(), SqlState::kInvalidTextRepresentation);
    EXPECT_EQ(e.message(), "invalid SHA-256 hash \"not-a-hash\"");
    EXPECT_EQ(e.detail(), "A SHA-256 hash is 64 hexadecimal digits; this value has 10 characters.");
  }
  EXPECT_THROW(NormalizeSha256Hex(std::string(64, 'g'), out), Error);
  EXPECT_THROW(NormalizeSha256Hex(std::string(65, 'a'), out), Error);
  EXPECT_THROW(NormalizeSha256Hex("", out), Error);
}

TEST(HexTest, NormalizeShowsOnlyTheStartOfALongValue) {
  char out[kSha256HexLength + 1];
  try {
    NormalizeSha256Hex(std::string(1000, 'z'), out);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "invalid SHA-256 hash \"" + std::string(80, 'z') + "...\"");
  }
}

TEST(HexTest, NormalizeNeverCutsACharacterInTwo) {
  char out[kSha256HexLength + 1];
  // 79 ASCII bytes, then "é" (2 bytes) straddling the 80-byte cut.
  const std::string value = std::string(79, 'z') + "\xC3\xA9" + std::string(100, 'z');
  try {
    NormalizeSha256Hex(value, out);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "invalid SHA-256 hash \"" + std::string(79, 'z') + "...\"");
  }
}

}  // namespace
}  // namespace jk::core
