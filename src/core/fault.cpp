// Throws on request; used by the guard's unit tests and its SQL regression test.
#include "core/fault.hpp"

#include <new>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace jk::core {

void RaiseFault(std::string_view kind) {
  if (kind == "none") return;
  if (kind == "error") {
    throw Error(SqlState::kInvalidParameterValue, "fault \"error\" raised on request",
                "The caller asked for a jobkeeper error.", "Ask for \"none\" to succeed.");
  }
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "std") throw std::runtime_error("standard exception raised on request");
  if (kind == "unknown") throw 42;  // not derived from std::exception on purpose
  throw Error(SqlState::kInvalidParameterValue,
              "unknown fault kind \"" + std::string(kind) + "\"",
              "", "Use one of none, error, bad_alloc, std, unknown.");
}

}  // namespace jk::core
