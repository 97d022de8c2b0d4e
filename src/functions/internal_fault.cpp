// Internal, not part of the SQL API: lets tests raise every kind of C++ exception through
// the guard. The extension creates no SQL function for it; tests declare one themselves.
#include "core/fault.hpp"
#include "pg/entry.hpp"
#include "pg/guard.hpp"

// Raises the fault named by its text argument through the guard, or returns true.
JK_FUNCTION(jobkeeper_internal_fault) {
  text* kind = PG_GETARG_TEXT_PP(0);
  const char* data = VARDATA_ANY(kind);
  const size_t size = VARSIZE_ANY_EXHDR(kind);
  jk::pg::Guard([&] { jk::core::RaiseFault(std::string_view(data, size)); });
  PG_RETURN_BOOL(true);
}
