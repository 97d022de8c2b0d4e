// jobkeeper.version(): the version of the loaded library.
#include "pg/entry.hpp"

#ifndef JK_VERSION
#error "JK_VERSION must be defined by the build (it comes from jobkeeper.control)"
#endif

// Returns the library's version, which may differ from the installed SQL version mid-upgrade.
JK_FUNCTION(jobkeeper_version) {
  PG_RETURN_TEXT_P(cstring_to_text(JK_VERSION));
}
