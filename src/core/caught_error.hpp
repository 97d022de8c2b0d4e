// A C++ exception flattened into fixed buffers, so it can outlive its catch block.
#pragma once

#include <cstddef>

#include "core/sqlstate.hpp"

namespace jk::core {

inline constexpr std::size_t kCaughtTextSize = 1024;

// What the guard reports once it has left the handler; trivially destructible on purpose.
struct CaughtError {
  SqlState state;
  char message[kCaughtTextSize];
  char detail[kCaughtTextSize];  // empty when there is none
  char hint[kCaughtTextSize];    // empty when there is none
};

// Fills `out` from the exception being handled; call it only inside a catch block.
void CaptureCurrentException(CaughtError* out) noexcept;

// Copies `text` into `out` (capacity `size` > 0), cutting at a UTF-8 character boundary.
void CopyTruncated(char* out, std::size_t size, const char* text) noexcept;

}  // namespace jk::core
