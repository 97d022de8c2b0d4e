// Deliberate failures of every kind, so tests can prove the guard converts each one.
#pragma once

#include <string_view>

namespace jk::core {

// Throws the exception named by `kind` ("error", "bad_alloc", "std", "unknown") or returns
// normally for "none"; any other kind is itself a jk::core::Error (22023).
void RaiseFault(std::string_view kind);

}  // namespace jk::core
