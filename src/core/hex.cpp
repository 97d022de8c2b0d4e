// Lowercase hex for digests, and the one definition of a well-formed SHA-256 hex string.
#include "core/hex.hpp"

#include <string>

#include "core/error.hpp"
#include "core/text.hpp"

namespace jk::core {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

// Returns the lowercase form of a hex digit, or 0 for any other character.
constexpr char LowerHexDigit(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) return c;
  if (c >= 'A' && c <= 'F') return static_cast<char>(c - 'A' + 'a');
  return 0;
}

}  // namespace

void HexEncodeLower(const unsigned char* data, std::size_t size, char* out) noexcept {
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0F];
  }
}

bool IsSha256Hex(std::string_view text) noexcept {
  if (text.size() != kSha256HexLength) return false;
  for (char c : text) {
    const char lower = LowerHexDigit(c);
    if (lower == 0 || lower != c) return false;  // not a digit, or an uppercase one
  }
  return true;
}

void NormalizeSha256Hex(std::string_view text, char out[kSha256HexLength + 1]) {
  bool ok = text.size() == kSha256HexLength;
  for (std::size_t i = 0; ok && i < kSha256HexLength; ++i) {
    out[i] = LowerHexDigit(text[i]);
    ok = out[i] != 0;
  }
  if (!ok) {
    // Show a long value's start only: the point is to recognise it, not to echo megabytes.
    constexpr std::size_t kShown = 80;
    std::string shown(text.substr(0, Utf8PrefixLength(text, kShown)));
    if (text.size() > kShown) shown += "...";
    throw Error(SqlState::kInvalidTextRepresentation,
                "invalid SHA-256 hash \"" + shown + "\"",
                "A SHA-256 hash is 64 hexadecimal digits; this value has " +
                    std::to_string(text.size()) + " characters.",
                "Compute it with jobkeeper.sha256_hex().");
  }
  out[kSha256HexLength] = '\0';
}

}  // namespace jk::core
