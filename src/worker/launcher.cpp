// The launcher's main loop: list databases, start a worker where none runs, stop workers of
// databases no longer served, and wake early when CREATE EXTENSION asks it to.
#include "worker/launcher.hpp"

#include <cstring>

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

constexpr int kNaptimeMs = 10 * 1000;       // how often databases are listed again
constexpr int kRecheckSeconds = 60;         // how soon a database without jobkeeper is re-probed
constexpr int kRestartSeconds = 10;         // a stopped worker is started again after this

// A database the launcher serves and the handle of its worker (launcher-local memory).
struct Served {
  Oid dboid;
  char datname[NAMEDATALEN];
  BackgroundWorkerHandle* handle;
  bool seen;    // still listed in the latest scan
  bool warned;  // "no free worker slot" already logged for it
  TimestampTz started_at;  // when its worker was last started
};

Served served[kMaxDatabases];
int served_count = 0;

// True when name is in jobkeeper.databases, or that setting is empty.
bool DatabaseWanted(const char* name) {
  if (jk::pg::worker_databases == nullptr || jk::pg::worker_databases[0] == '\0') return true;
  char* copy = pstrdup(jk::pg::worker_databases);
  List* names = nullptr;
  bool wanted = false;
  if (!SplitIdentifierString(copy, ',', &names)) {
    ereport(LOG, (errmsg("jobkeeper.databases is not a valid list of names: \"%s\"",
                         jk::pg::worker_databases)));
  } else {
    ListCell* lc;
    foreach (lc, names) {
      if (strcmp(static_cast<char*>(lfirst(lc)), name) == 0) wanted = true;
    }
  }
  list_free(names);
  pfree(copy);
  return wanted;
}

// Marks every served database still listed in pg_database (and wanted); adds new ones.
void ScanDatabases() {
  for (int i = 0; i < served_count; i++) served[i].seen = false;
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tuple;
  while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
    if (!db->datallowconn || db->datistemplate || !DatabaseWanted(NameStr(db->datname))) continue;
    int i = 0;
    while (i < served_count && served[i].dboid != db->oid) i++;
    if (i == served_count) {
      if (served_count == kMaxDatabases) {
        ereport(LOG, (errmsg("jobkeeper serves at most %d databases; \"%s\" is not served",
                             kMaxDatabases, NameStr(db->datname))));
        continue;
      }
      served[i].dboid = db->oid;
      served[i].handle = nullptr;
      served[i].warned = false;
      served[i].started_at = 0;
      served_count++;
    }
    strlcpy(served[i].datname, NameStr(db->datname), NAMEDATALEN);
    served[i].seen = true;
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  PopActiveSnapshot();
  CommitTransactionCommand();
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

// Starts the worker of served database s; returns false when no worker slot was free.
bool StartWorker(Served* s) {
  BackgroundWorker worker;
  // The launcher alone restarts database workers: after a crash restart the postmaster
  // would otherwise revive the old worker while the new launcher starts another.
  DefineWorker(&worker, "jobkeeper_worker_main", "jobkeeper worker", BGW_NEVER_RESTART);
  snprintf(worker.bgw_name, BGW_MAXLEN, "jobkeeper worker for database %s", s->datname);
  worker.bgw_main_arg = ObjectIdGetDatum(s->dboid);
  worker.bgw_notify_pid = MyProcPid;
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  const bool ok = RegisterDynamicBackgroundWorker(&worker, &s->handle);
  MemoryContextSwitchTo(old);
  s->started_at = GetCurrentTimestamp();
  if (!ok) {
    s->handle = nullptr;
    // Probes of databases without the extension end within milliseconds, so a full table of
    // worker slots is usually gone by the next round: say it once per database.
    if (!s->warned) {
      ereport(LOG, (errmsg("jobkeeper could not start a worker for database \"%s\" yet: no free "
                           "background worker slot", s->datname),
                    errhint("Each database with jobkeeper needs one of max_worker_processes.")));
      s->warned = true;
    }
  } else {
    s->warned = false;
  }
  return ok;
}

// True when served database s needs a worker started now.
bool NeedsWorker(const Served& s, bool rescan_all) {
  if (s.handle != nullptr) {
    pid_t pid;
    if (GetBackgroundWorkerPid(s.handle, &pid) != BGWH_STOPPED) return false;
    // Stopped by an error or pg_terminate_backend: start it again, but not in a tight loop.
    if (!TimestampDifferenceExceeds(s.started_at, GetCurrentTimestamp(), kRestartSeconds * 1000))
      return false;
  }
  SharedState* st = State();
  bool running = false;
  bool recently_without = false;
  LWLockAcquire(st->lock, LW_SHARED);
  for (const DatabaseSlot& slot : st->slots) {
    if (!slot.in_use || slot.dboid != s.dboid) continue;
    // A worker started by an earlier launcher (this one restarted) is still running.
    running = s.handle == nullptr && slot.pid != 0;
    recently_without = slot.no_extension &&
                       !TimestampDifferenceExceeds(slot.checked_at, GetCurrentTimestamp(),
                                                   kRecheckSeconds * 1000);
  }
  LWLockRelease(st->lock);
  return !running && (rescan_all || !recently_without);
}

// One round: list databases, stop workers of databases gone or no longer wanted, start the
// missing ones.
void LauncherRound(bool rescan_all) {
  ScanDatabases();
  int kept = 0;
  for (int i = 0; i < served_count; i++) {
    if (!served[i].seen) {
      if (served[i].handle != nullptr) TerminateBackgroundWorker(served[i].handle);
      continue;
    }
    served[kept++] = served[i];
  }
  served_count = kept;
  for (int i = 0; i < served_count; i++) {
    if (NeedsWorker(served[i], rescan_all) && !StartWorker(&served[i])) break;
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
