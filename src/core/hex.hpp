// Hex encoding of digests and validation of SHA-256 hex strings.
#pragma once

#include <cstddef>
#include <string_view>

namespace jk::core {

inline constexpr std::size_t kSha256Bytes = 32;
inline constexpr std::size_t kSha256HexLength = 64;

// Writes the 2 * size lowercase hex digits of data to out (no terminator).
void HexEncodeLower(const unsigned char* data, std::size_t size, char* out) noexcept;

// True when text is exactly 64 lowercase hex digits: the stored form of a file_hash.
bool IsSha256Hex(std::string_view text) noexcept;

// Writes the lowercase form of a 64-hex-digit hash (either case) and a terminator to out;
// throws jk::core::Error (22P02) naming the value when text is not such a hash.
void NormalizeSha256Hex(std::string_view text, char out[kSha256HexLength + 1]);

}  // namespace jk::core
