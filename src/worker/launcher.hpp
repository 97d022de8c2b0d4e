// The launcher: a background worker connected to no database that keeps one jobkeeper worker
// running in each database where the extension is installed.
#pragma once

namespace jk::worker {

// Registers the launcher; called from _PG_init while shared_preload_libraries loads.
void RegisterLauncher();

}  // namespace jk::worker
