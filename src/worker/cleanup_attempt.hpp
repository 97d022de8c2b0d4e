// One batch of a cleanup step: its statements, run inside the transaction or subtransaction
// that the step (cleanup_pass.cpp) gives it.
#pragma once

#include "pg/postgres.hpp"
#include "worker/cleanup_pass.hpp"
#include "worker/cleanup_statements.hpp"

extern "C" {
#include "storage/itemptr.h"
}

namespace jk::worker {

inline constexpr int kMaxSkipped = 1000;       // failing rows a step skips before it gives up
inline constexpr int kResumeKeyLength = 128;   // a timestamp, date or number as text

// Subtransactions used by the current run_cleanup() or expire_leases() call.
extern int caller_subtransactions;

// Rows whose change failed in this step, by ctid; every lock statement leaves them out. A row
// whose change failed was rolled back, so it keeps its ctid (an update by someone else gives
// it a new one, and it is simply tried again).
struct Skipped {
  ItemPointerData* tids;  // kMaxSkipped of them, in memory that outlives the batches' transactions
  int count;
};

// One attempt at a batch: what to do, and what it did.
struct Attempt {
  const BatchKind* kind;
  Datum cutoff;
  int limit;
  bool one_by_one;     // change each locked row on its own, skipping the ones that fail
  bool quick;          // lock with the kind's quick_lock_sql (set only when it has one)
  bool fuse;           // lock and change with the kind's fused_sql (set only when it has one)
  bool guard_restore;  // do nothing while a pg_restore is connected
  Skipped* skipped;
  int64 taken;
  int64 first;
  int64 second;
  int64 rows_skipped;
  bool postponed;
  char error[kPassErrorLength];  // the batch's error, or the first failing row's
  // A keyset kind's batch starts at the key its previous batch ended at ("": the first),
  // and this batch's last key is left here for the next.
  char resume[kResumeKeyLength];
  // A sweep batch: pages [sweep_from, sweep_to) with the kind's sweep statement.
  bool sweep;
  BlockNumber sweep_from;
  BlockNumber sweep_to;
  Datum locked_tids, locked_ids;  // what the lock statement locked (tid[], uuid[] or null)
  bool locked_ids_null;
};

// An attempt at a batch of up to limit rows of kind; the worker's guard against restores.
Attempt NewAttempt(const BatchKind& kind, Datum cutoff, int limit, bool one_by_one, bool worker,
                   Skipped* skipped, const char* resume);

// Runs the attempt, inside its (sub)transaction with SPI connected, as the kind's role when it
// names one (a TTL rule's owner).
void RunAs(Attempt* a);

// True when a restore is loading this database (kRestoreConnectedSql); SPI connected.
bool RestoreConnected();

}  // namespace jk::worker
