// Shared memory for the workers: one slot per served database, so that worker_status can be
// read from any database, and the holds that keep a database's worker away while a DROP,
// RENAME, TEMPLATE copy or SET TABLESPACE of it runs. Exists only when the library is preloaded.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

inline constexpr int kErrorLength = 256;
inline constexpr int kActivityLength = 64;
// Database commands on different databases that may hold their database at the same time.
inline constexpr int kMaxHolds = 32;

// What a slot's worker has found out about its database.
enum class SlotState : int {
  kProbing,      // started; has not looked for the extension yet
  kServed,       // the extension is installed: the worker serves the database
  kNoExtension,  // no extension: the worker has exited, the launcher frees the slot
};

// One database's slot. The launcher alone takes and frees slots (in_use, dboid, datname); the
// worker it started for the slot writes the rest, under the lock.
struct DatabaseSlot {
  bool in_use;
  Oid dboid;
  char datname[NAMEDATALEN];
  SlotState state;
  int pid;  // 0 when not running
  TimestampTz last_run;
  TimestampTz next_run;
  char last_error[kErrorLength];
  char activity[kActivityLength];  // what the worker is doing, e.g. "waiting for pg_restore"
  int64 rows_deleted;
  int64 files_waiting;          // deleted_files entries not yet claimed, as of the last check
  TimestampTz oldest_file_at;   // deleted_at of the oldest one, 0 when none
};

// A database that a backend's command needs without the worker: no worker may start there
// while the hold lasts. A hold whose backend has exited is void.
struct DatabaseHold {
  Oid dboid;  // InvalidOid when the entry is free
  int pid;
};

struct EventRing;

struct SharedState {
  LWLock* lock;
  EventRing* rings;       // slot_count of them, one per slot (worker/event_ring.hpp)
  Latch* launcher_latch;  // set by CREATE EXTENSION to start a worker without waiting
  bool rescan_all;        // set with the latch: check databases without the extension again
  DatabaseHold holds[kMaxHolds];
  int slot_count;         // jobkeeper.max_databases at server start
  DatabaseSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

// Reserves the shared memory (from shmem_request_hook).
void RequestSharedState();

// Creates or attaches the shared memory (from shmem_startup_hook).
void AttachSharedState();

// Returns the shared state, or null when the library was not preloaded.
SharedState* State();

// True when a live backend holds dboid (caller holds the lock).
bool IsHeld(const SharedState* st, Oid dboid);

}  // namespace jk::worker
