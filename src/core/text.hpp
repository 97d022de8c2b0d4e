// Cutting text for messages without splitting a character.
#pragma once

#include <cstddef>
#include <string_view>

namespace jk::core {

// Returns the length of the longest prefix of text that is at most max_bytes long and does
// not end inside a UTF-8 character. (For other encodings it may cut a little shorter.)
std::size_t Utf8PrefixLength(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace jk::core
