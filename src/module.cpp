// The module's identity: the magic block and _PG_init, which defines the settings and, when
// the library is preloaded, the workers' shared memory and the launcher.
#include "pg/entry.hpp"
#include "pg/events.hpp"
#include "pg/settings.hpp"
#include "triggers/batch_counts.hpp"
#include "worker/database_commands.hpp"
#include "worker/launcher.hpp"
#include "worker/shared_state.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {

shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void RequestShmem() {
  if (prev_shmem_request_hook != nullptr) prev_shmem_request_hook();
  jk::worker::RequestSharedState();
}

void StartupShmem() {
  if (prev_shmem_startup_hook != nullptr) prev_shmem_startup_hook();
  jk::worker::AttachSharedState();
}

}  // namespace

// Called when the library is loaded, by CREATE EXTENSION's first call or by preloading.
void _PG_init(void) {
  jk::pg::DefineSettings();
  // Settings jobkeeper.* that the library does not define are typos: refuse them.
  MarkGUCPrefixReserved("jobkeeper");
  jk::pg::RegisterEventCallbacks();
  jk::triggers::RegisterBatchCallbacks();
  if (!process_shared_preload_libraries_in_progress) return;
  prev_shmem_request_hook = shmem_request_hook;
  shmem_request_hook = RequestShmem;
  prev_shmem_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupShmem;
  jk::worker::RegisterLauncher();
  jk::worker::InstallDatabaseCommandHook();
}
