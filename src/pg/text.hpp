// Copying server text into fixed buffers without splitting a character.
#pragma once

#include <cstddef>

namespace jk::pg {

// Copies text into out (capacity size > 0), cut at a character boundary of the database
// encoding: shared memory and cleanup_runs keep error messages of bounded length.
void CopyClipped(char* out, std::size_t size, const char* text);

}  // namespace jk::pg
