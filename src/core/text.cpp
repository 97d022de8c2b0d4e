// Text cutting for messages: the server rejects a message that is invalid in its encoding,
// so a cut never leaves half a UTF-8 character behind.
#include "core/text.hpp"

namespace jk::core {

std::size_t Utf8PrefixLength(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text.size();
  std::size_t len = max_bytes;
  // text[len] is the first byte left out: while it continues a character, that character
  // started inside the prefix and goes too.
  while (len > 0 && (static_cast<unsigned char>(text[len]) & 0xC0) == 0x80) --len;
  return len;
}

}  // namespace jk::core
