// The launcher's main loop: list databases, start a worker where none runs, stop workers of
// databases no longer served, and wake early when CREATE EXTENSION or a database command asks
// it to. The launcher owns the shared slots: it takes one when it starts a database's worker
// and frees it when the database or its extension goes.
#include "worker/launcher.hpp"

#include <cstring>

#include "core/database_list.hpp"
#include "pg/entry.hpp"
#include "pg/settings.hpp"
#include "worker/shared_state.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

PGDLLEXPORT void jobkeeper_launcher_main(Datum arg);
}

namespace jk::worker {

namespace {

constexpr int kNaptimeMs = 10 * 1000;  // how often databases are listed again
constexpr int kRecheckSeconds = 60;    // how soon a database without jobkeeper is probed again
constexpr int kRestartSeconds = 10;    // a worker that stopped is started again after this

// A connectable database and what the launcher knows of it (launcher-local memory).
struct Known {
  Oid dboid;
  char datname[NAMEDATALEN];
  BackgroundWorkerHandle* handle;  // of its worker (or probe), null when none was started
  int slot;                        // its shared slot while it has one, else -1
  bool seen;                       // listed in the latest scan
  bool no_extension;               // the last probe found no jobkeeper
  bool served_before;              // its worker found the extension: it goes before probes
  bool held;                       // a database command held it: restart without delay
  bool failed;                     // its worker stopped by itself (an error, a terminate)
  TimestampTz checked_at;          // when that probe ended
  TimestampTz started_at;          // when its worker was last started
};

Known* known = nullptr;  // grows with the cluster's databases; in TopMemoryContext
int known_count = 0;
int known_capacity = 0;
// "jobkeeper.max_databases reached" said since a served database last gave up its slot.
// Probes take a slot for milliseconds; their coming and going does not repeat the message.
bool cap_logged = false;
bool workers_logged = false;
// When the launcher last took a request to probe every database again (CREATE EXTENSION asks
// from inside its transaction, so a probe started before may have missed the extension).
TimestampTz rescan_at = 0;  // "no free background worker slot" said since a start worked

// True when name is in jobkeeper.databases (names as written, quoted ones included), or
// that setting is empty.
bool DatabaseWanted(const char* name) {
  return jk::pg::worker_databases == nullptr ||
         jk::core::DatabaseListContains(jk::pg::worker_databases, name);
}

// Returns the entry of dboid, adding one if needed.
Known* EntryFor(Oid dboid) {
  for (int i = 0; i < known_count; i++) {
    if (known[i].dboid == dboid) return &known[i];
  }
  if (known_count == known_capacity) {
    known_capacity = known_capacity == 0 ? 16 : known_capacity * 2;
    known = known == nullptr
                ? static_cast<Known*>(MemoryContextAlloc(TopMemoryContext,
                                                         sizeof(Known) * known_capacity))
                : static_cast<Known*>(repalloc(known, sizeof(Known) * known_capacity));
  }
  Known* k = &known[known_count++];
  std::memset(k, 0, sizeof *k);
  k->dboid = dboid;
  k->slot = -1;
  return k;
}

// Marks every known database still listed in pg_database (and wanted); adds new ones.
void ScanDatabases() {
  for (int i = 0; i < known_count; i++) known[i].seen = false;
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tuple;
  while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    CHECK_FOR_INTERRUPTS();
    Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
    // datconnlimit -2 marks a database that a DROP DATABASE interrupted half-way.
    if (!db->datallowconn || db->datistemplate || db->datconnlimit == -2 ||
        !DatabaseWanted(NameStr(db->datname))) {
      continue;
    }
    Known* k = EntryFor(db->oid);
    strlcpy(k->datname, NameStr(db->datname), NAMEDATALEN);
    k->seen = true;
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  PopActiveSnapshot();
  CommitTransactionCommand();
}

// Takes a free shared slot for k; false when every one is taken (logged once).
bool TakeSlot(Known* k) {
  SharedState* st = State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  for (int i = 0; i < st->slot_count && k->slot < 0; i++) {
    DatabaseSlot& slot = st->slots[i];
    if (slot.in_use) continue;
    std::memset(&slot, 0, sizeof slot);
    slot.in_use = true;
    slot.dboid = k->dboid;
    slot.state = SlotState::kProbing;
    strlcpy(slot.datname, k->datname, NAMEDATALEN);
    k->slot = i;
  }
  LWLockRelease(st->lock);
  if (k->slot < 0 && !cap_logged) {
    ereport(LOG, (errmsg("jobkeeper serves at most %d databases (jobkeeper.max_databases); "
                         "database \"%s\" is not served yet", st->slot_count, k->datname),
                  errhint("Raise jobkeeper.max_databases and restart the server.")));
    cap_logged = true;
  }
  return k->slot >= 0;
}

// Frees k's shared slot, if it has one.
void FreeSlot(Known* k) {
  if (k->slot < 0) return;
  SharedState* st = State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  if (st->slots[k->slot].state == SlotState::kServed) cap_logged = false;
  std::memset(&st->slots[k->slot], 0, sizeof(DatabaseSlot));
  LWLockRelease(st->lock);
  k->slot = -1;
}

// Fills a worker definition of this library: not on a hot standby (it starts when
// recovery ends, that is on promotion), with shared memory and a database connection.
void DefineWorker(BackgroundWorker* worker, const char* function, const char* type,
                  int restart_time) {
  std::memset(worker, 0, sizeof *worker);
  worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker->bgw_restart_time = restart_time;
  strlcpy(worker->bgw_library_name, "jobkeeper", BGW_MAXLEN);
  strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
  strlcpy(worker->bgw_name, type, BGW_MAXLEN);
  strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

// Starts k's worker in its slot; returns false when no background worker slot was free.
bool StartWorker(Known* k) {
  BackgroundWorker worker;
  // The launcher alone restarts database workers: after a crash restart the postmaster
  // would otherwise revive the old worker while the new launcher starts another.
  DefineWorker(&worker, "jobkeeper_worker_main", "jobkeeper worker", BGW_NEVER_RESTART);
  snprintf(worker.bgw_name, BGW_MAXLEN, "jobkeeper worker for database %s", k->datname);
  worker.bgw_main_arg = ObjectIdGetDatum(k->dboid);
  std::memcpy(worker.bgw_extra, &k->slot, sizeof k->slot);
  worker.bgw_notify_pid = MyProcPid;
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  const bool ok = RegisterDynamicBackgroundWorker(&worker, &k->handle);
  MemoryContextSwitchTo(old);
  k->started_at = GetCurrentTimestamp();
  k->held = false;
  k->failed = false;
  ereport(DEBUG1, (errmsg("jobkeeper launcher: starting the worker of database \"%s\" in slot %d",
                          k->datname, k->slot)));
  if (!ok) {
    k->handle = nullptr;
    if (!workers_logged) {
      ereport(LOG, (errmsg("jobkeeper could not start a worker for database \"%s\" yet: no free "
                           "background worker slot", k->datname),
                    errhint("Each database with jobkeeper needs one of max_worker_processes.")));
      workers_logged = true;
    }
  } else {
    workers_logged = false;
  }
  return ok;
}

// Reads what k's stopped worker left in its slot: frees the slot of a database without the
// extension. Returns true while k's worker is still running.
bool Running(Known* k) {
  SharedState* st = State();
  bool running = false;
  SlotState state = SlotState::kProbing;
  if (k->slot >= 0) {
    LWLockAcquire(st->lock, LW_SHARED);
    state = st->slots[k->slot].state;
    if (state == SlotState::kServed) k->served_before = true;
    // A worker started by an earlier launcher (this one restarted) may still be running.
    running = k->handle == nullptr && st->slots[k->slot].pid != 0;
    LWLockRelease(st->lock);
  }
  if (k->handle != nullptr) {
    pid_t pid;
    if (GetBackgroundWorkerPid(k->handle, &pid) != BGWH_STOPPED) return true;
    pfree(k->handle);
    k->handle = nullptr;
    k->failed = state != SlotState::kNoExtension;
  }
  if (!running && state == SlotState::kNoExtension) {
    FreeSlot(k);
    // Only a probe started after the last rescan request is believed; an older one may have
    // looked before a CREATE EXTENSION committed.
    k->no_extension = k->started_at > rescan_at;
    k->served_before = false;
    k->checked_at = GetCurrentTimestamp();
    ereport(DEBUG1, (errmsg("jobkeeper launcher: no extension in database \"%s\"%s", k->datname,
                            k->no_extension ? "" : "; probing again")));
  }
  return running;
}

// Starts k's worker when it needs one now; false when no background worker slot was free
// (the others would not get one either).
bool MaybeStart(Known* k, bool rescan_all) {
  if (Running(k)) return true;
  SharedState* st = State();
  LWLockAcquire(st->lock, LW_SHARED);
  const bool held = IsHeld(st, k->dboid);
  LWLockRelease(st->lock);
  if (held) {
    k->held = true;
    return true;
  }
  const TimestampTz now = GetCurrentTimestamp();
  if (k->no_extension && !rescan_all &&
      !TimestampDifferenceExceeds(k->checked_at, now, kRecheckSeconds * 1000)) {
    return true;
  }
  // Stopped by an error or pg_terminate_backend: start it again, but not in a tight loop.
  if (k->failed && !k->held &&
      !TimestampDifferenceExceeds(k->started_at, now, kRestartSeconds * 1000)) {
    return true;
  }
  if (k->slot < 0 && !TakeSlot(k)) return true;  // logged; it waits for a slot to free
  if (!StartWorker(k)) return false;
  k->no_extension = false;
  return true;
}

// Adopts the slots that an earlier launcher left (it exited; their workers may still run).
void AdoptSlots() {
  SharedState* st = State();
  LWLockAcquire(st->lock, LW_SHARED);
  for (int i = 0; i < st->slot_count; i++) {
    if (!st->slots[i].in_use) continue;
    Known* k = EntryFor(st->slots[i].dboid);
    strlcpy(k->datname, st->slots[i].datname, NAMEDATALEN);
    k->slot = i;
  }
  LWLockRelease(st->lock);
}

// One round: list databases, stop workers of databases gone or no longer wanted and free
// their slots, start the missing ones.
void LauncherRound(bool rescan_all) {
  ScanDatabases();
  int kept = 0;
  for (int i = 0; i < known_count; i++) {
    Known* k = &known[i];
    if (!k->seen) {
      if (k->handle != nullptr) {
        TerminateBackgroundWorker(k->handle);
        pfree(k->handle);
      }
      // Its worker, if still running, writes only to a slot that holds its own database.
      FreeSlot(k);
      continue;
    }
    known[kept++] = *k;
  }
  known_count = kept;
  // CREATE EXTENSION somewhere: every database without it is probed again, as soon as a slot
  // is free (a probe that finds no slot stays due).
  if (rescan_all) {
    rescan_at = GetCurrentTimestamp();
    for (int i = 0; i < known_count; i++) known[i].no_extension = false;
  }
  // Databases known to have the extension first, so that probes never take their slots.
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < known_count; i++) {
      CHECK_FOR_INTERRUPTS();
      if (known[i].served_before != (pass == 0)) continue;
      if (!MaybeStart(&known[i], rescan_all)) return;
    }
  }
}

}  // namespace

void RegisterLauncher() {
  BackgroundWorker worker;
  DefineWorker(&worker, "jobkeeper_launcher_main", "jobkeeper launcher", kRestartSeconds);
  RegisterBackgroundWorker(&worker);
}

}  // namespace jk::worker

// The launcher's entry point.
void jobkeeper_launcher_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only
  jk::worker::SharedState* st = jk::worker::State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  st->launcher_latch = MyLatch;
  LWLockRelease(st->lock);
  ereport(LOG, (errmsg("jobkeeper launcher started")));
  pgstat_report_activity(STATE_IDLE, nullptr);
  jk::worker::AdoptSlots();

  MemoryContext round_context =
      AllocSetContextCreate(TopMemoryContext, "jobkeeper launcher round", ALLOCSET_DEFAULT_SIZES);
  bool rescan_all = true;  // at startup every database is probed once
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      rescan_all = true;  // jobkeeper.databases may have changed
    }
    MemoryContext old = MemoryContextSwitchTo(round_context);
    jk::worker::LauncherRound(rescan_all);
    MemoryContextSwitchTo(old);
    MemoryContextReset(round_context);
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                    jk::worker::kNaptimeMs, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    LWLockAcquire(st->lock, LW_EXCLUSIVE);
    rescan_all = st->rescan_all;
    st->rescan_all = false;
    LWLockRelease(st->lock);
    if (rescan_all) {
      // CREATE EXTENSION woke us from inside its transaction: give it a moment to commit
      // before the new worker looks for the extension.
      pg_usleep(1000L * 1000L);
    }
  }
}
