// The only crossing from glue into core: C++ exceptions become ereport(ERROR) here.
#pragma once

#include <type_traits>

#include "core/caught_error.hpp"

namespace jk::pg {

// Raises `caught` as a PostgreSQL ERROR; never returns.
[[noreturn]] void ReportCaught(const jk::core::CaughtError& caught);

// Runs `body` (which calls core code, never PostgreSQL) and returns its result; any exception
// is flattened inside the handler and reported after leaving it, so the longjmp of
// ereport(ERROR) never unwinds through a live exception or a C++ destructor.
template <typename Body>
auto Guard(Body&& body) -> decltype(body()) {
  using Result = decltype(body());
  static_assert(std::is_void_v<Result> || std::is_trivially_destructible_v<Result>,
                "a guarded result must not need a destructor in glue code");
  jk::core::CaughtError caught;
  try {
    return body();
  } catch (...) {
    jk::core::CaptureCurrentException(&caught);
  }
  ReportCaught(caught);
}

}  // namespace jk::pg
