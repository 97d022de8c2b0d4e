// Shared memory for the workers: one slot per database, so that worker_status can be read
// from any database. Exists only when the library is preloaded.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

inline constexpr int kMaxDatabases = 64;
inline constexpr int kErrorLength = 256;

// What one database's worker last reported; written by that worker under the lock.
struct DatabaseSlot {
  bool in_use;
  Oid dboid;
  char datname[NAMEDATALEN];
  int pid;                 // 0 when not running
  bool no_extension;       // the last worker found no jobkeeper here
  TimestampTz checked_at;  // when the worker last started (or found no extension)
  TimestampTz last_run;
  TimestampTz next_run;
  char last_error[kErrorLength];
  int64 rows_deleted;
};

struct SharedState {
  LWLock* lock;
  Latch* launcher_latch;  // set by CREATE EXTENSION to start a worker without waiting
  bool rescan_all;        // set with the latch: check databases marked no_extension again
  DatabaseSlot slots[kMaxDatabases];
};

// Reserves the shared memory (from shmem_request_hook).
void RequestSharedState();

// Creates or attaches the shared memory (from shmem_startup_hook).
void AttachSharedState();

// Returns the shared state, or null when the library was not preloaded.
SharedState* State();

// Returns the slot of dboid, taking a free one for it if needed (caller holds the lock
// exclusively); null when every slot is taken.
DatabaseSlot* SlotFor(Oid dboid);

}  // namespace jk::worker
