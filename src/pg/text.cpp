// Cutting server text for fixed buffers, in the database encoding.
#include "pg/text.hpp"

#include <cstring>

#include "pg/postgres.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace jk::pg {

void CopyClipped(char* out, std::size_t size, const char* text) {
  const int len = static_cast<int>(std::strlen(text));
  const int keep = pg_mbcliplen(text, len, static_cast<int>(size) - 1);
  std::memcpy(out, text, static_cast<std::size_t>(keep));
  out[keep] = '\0';
}

}  // namespace jk::pg
