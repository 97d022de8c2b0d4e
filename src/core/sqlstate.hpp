// The SQLSTATEs jobkeeper raises, named once so core and glue agree on them.
#pragma once

namespace jk::core {

// Every SQLSTATE the extension may report; glue maps these to PostgreSQL codes.
enum class SqlState {
  kObjectNotInPrerequisiteState,  // 55000: status change not allowed, lease not held
  kInvalidParameterValue,         // 22023: bad argument value
  kInvalidTextRepresentation,     // 22P02: malformed hash
  kCheckViolation,                // 23514: constraint refused a direct write
  kNoDataFound,                   // P0002: unknown job or export id
  kOutOfMemory,                   // 53200: std::bad_alloc
  kInternalError,                 // XX000: a bug: anything unexpected
};

// Returns the five-character SQLSTATE code for `state`.
constexpr const char* SqlStateCode(SqlState state) {
  switch (state) {
    case SqlState::kObjectNotInPrerequisiteState: return "55000";
    case SqlState::kInvalidParameterValue: return "22023";
    case SqlState::kInvalidTextRepresentation: return "22P02";
    case SqlState::kCheckViolation: return "23514";
    case SqlState::kNoDataFound: return "P0002";
    case SqlState::kOutOfMemory: return "53200";
    case SqlState::kInternalError: return "XX000";
  }
  return "XX000";
}

}  // namespace jk::core
