// The utility hook that stops a database's worker for DROP, RENAME, TEMPLATE copy and
// SET TABLESPACE of that database.
#pragma once

namespace jk::worker {

// Installs the hook (from _PG_init, when the library is preloaded).
void InstallDatabaseCommandHook();

}  // namespace jk::worker
