// Maps core SQLSTATEs to PostgreSQL error codes.
#pragma once

#include "core/sqlstate.hpp"

namespace jk::pg {

// Returns PostgreSQL's packed form of `state`, for errcode().
int ErrCode(jk::core::SqlState state);

}  // namespace jk::pg
