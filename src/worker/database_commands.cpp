// Keeps the worker out of the way of the commands that need a database to themselves: DROP
// DATABASE, ALTER DATABASE ... RENAME and ... SET TABLESPACE, and CREATE DATABASE from it as a
// template. PostgreSQL refuses them while any other session is connected ("being accessed by
// other users") and only ends autovacuum workers itself. So a utility hook holds the database
// (no worker may start there) until its transaction ends, stops its worker and runs the
// command.
#include "worker/database_commands.hpp"

#include <csignal>
#include <cstring>

#include "worker/shared_state.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
}

extern "C" {
static void jobkeeper_release_holds(XactEvent event, void* arg);
}

namespace jk::worker {

namespace {

// How long a command waits for the worker to exit before it lets PostgreSQL decide (which
// waits 5 s more for other sessions itself).
constexpr long kStopWaitMs = 10 * 1000;

ProcessUtility_hook_type prev_utility_hook = nullptr;

// Returns the value of option name in a command's option list, or null.
const char* OptionValue(List* options, const char* name) {
  ListCell* lc;
  foreach (lc, options) {
    DefElem* def = static_cast<DefElem*>(lfirst(lc));
    if (strcmp(def->defname, name) == 0 && def->arg != nullptr) return defGetString(def);
  }
  return nullptr;
}

// Returns the name of the database that the command needs without other sessions, or null.
const char* DatabaseNeededAlone(Node* stmt) {
  switch (nodeTag(stmt)) {
    case T_DropdbStmt:
      return reinterpret_cast<DropdbStmt*>(stmt)->dbname;
    case T_RenameStmt: {
      RenameStmt* rename = reinterpret_cast<RenameStmt*>(stmt);
      return rename->renameType == OBJECT_DATABASE ? rename->subname : nullptr;
    }
    case T_CreatedbStmt: {
      // Without TEMPLATE, CREATE DATABASE copies template1, which may have jobkeeper too.
      const char* tmpl = OptionValue(reinterpret_cast<CreatedbStmt*>(stmt)->options, "template");
      return tmpl != nullptr ? tmpl : "template1";
    }
    case T_AlterDatabaseStmt: {
      AlterDatabaseStmt* alter = reinterpret_cast<AlterDatabaseStmt*>(stmt);
      return OptionValue(alter->options, "tablespace") != nullptr ? alter->dbname : nullptr;
    }
    default:
      return nullptr;
  }
}

// True when the current user may run such a command on the database: its owner (or a
// superuser). Anyone else would only get the worker stopped before PostgreSQL refuses them.
bool MayRunCommandOn(Oid dboid) {
#if PG_VERSION_NUM >= 160000
  return object_ownercheck(DatabaseRelationId, dboid, GetUserId());
#else
  return pg_database_ownercheck(dboid, GetUserId());
#endif
}

// Holds this backend took in the current transaction; released when it ends.
int held[kMaxHolds];
int held_count = 0;
bool callback_registered = false;

// Releases this transaction's holds when it commits, aborts or is prepared, and wakes the
// launcher so that a renamed or copied database gets its worker back at once. Until then the
// command's lock on the database would only make a new worker wait (or, after a DROP, fail).
void ReleaseHolds(XactEvent event, void*) {
  if (held_count == 0) return;
  if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT && event != XACT_EVENT_PREPARE &&
      event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT) {
    return;
  }
  SharedState* st = State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  for (int i = 0; i < held_count; i++) {
    st->holds[held[i]].dboid = InvalidOid;
    st->holds[held[i]].pid = 0;
  }
  Latch* latch = st->launcher_latch;
  LWLockRelease(st->lock);
  held_count = 0;
  if (latch != nullptr) SetLatch(latch);
}

// Holds dboid until the end of the transaction; false when every hold entry is taken.
bool Hold(SharedState* st, Oid dboid) {
  if (held_count == kMaxHolds) return false;
  if (!callback_registered) {
    RegisterXactCallback(jobkeeper_release_holds, nullptr);
    callback_registered = true;
  }
  bool taken = false;
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxHolds && !taken; i++) {
    DatabaseHold& hold = st->holds[i];
    if (hold.dboid == InvalidOid || BackendPidGetProc(hold.pid) == nullptr) {
      hold.dboid = dboid;
      hold.pid = MyProcPid;
      held[held_count++] = i;
      taken = true;
    }
  }
  LWLockRelease(st->lock);
  return taken;
}

// Returns the pid of dboid's running worker, or 0.
int WorkerPid(SharedState* st, Oid dboid) {
  int pid = 0;
  LWLockAcquire(st->lock, LW_SHARED);
  for (int i = 0; i < st->slot_count; i++) {
    const DatabaseSlot& slot = st->slots[i];
    if (slot.in_use && slot.dboid == dboid && slot.pid != 0) pid = slot.pid;
  }
  LWLockRelease(st->lock);
  return pid;
}

// Stops dboid's worker (the hold keeps another from starting) and waits until it has exited.
void StopWorker(SharedState* st, Oid dboid) {
  const int pid = WorkerPid(st, dboid);
  if (pid == 0) return;
  // The worker clears its slot's pid when it exits; check the process is that database's
  // backend before signalling it, as PostgreSQL does for autovacuum in CountOtherDBBackends.
  PGPROC* proc = BackendPidGetProc(pid);
  if (proc == nullptr || proc->databaseId != dboid) return;
  ereport(DEBUG1, (errmsg("stopping the jobkeeper worker of database %u (pid %d)", dboid, pid)));
  (void)kill(pid, SIGTERM);
  for (long waited = 0; waited < kStopWaitMs; waited += 10) {
    if (BackendPidGetProc(pid) == nullptr) return;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

void CallNextHook(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                  ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                  DestReceiver* dest, QueryCompletion* qc) {
  if (prev_utility_hook != nullptr) {
    prev_utility_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
  } else {
    standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
  }
}

}  // namespace

}  // namespace jk::worker

extern "C" {

// The utility hook: holds the database of a command that needs it alone while it runs.
static void jobkeeper_database_command_hook(PlannedStmt* pstmt, const char* query,
                                            bool read_only_tree, ProcessUtilityContext context,
                                            ParamListInfo params, QueryEnvironment* env,
                                            DestReceiver* dest, QueryCompletion* qc) {
  using namespace jk::worker;
  SharedState* st = State();
  const char* name = st != nullptr ? DatabaseNeededAlone(pstmt->utilityStmt) : nullptr;
  const Oid dboid = name != nullptr ? get_database_oid(name, true) : InvalidOid;
  if (OidIsValid(dboid) && dboid != MyDatabaseId && MayRunCommandOn(dboid) &&
      Hold(st, dboid)) {
    StopWorker(st, dboid);
  }
  // The command takes its lock on the database before it counts the sessions there, and a
  // new connection waits for that lock: a worker started once the hold ends waits, then finds
  // the database renamed, copied or gone.
  CallNextHook(pstmt, query, read_only_tree, context, params, env, dest, qc);
}

static void jobkeeper_release_holds(XactEvent event, void* arg) {
  jk::worker::ReleaseHolds(event, arg);
}

}  // extern "C"

namespace jk::worker {

void InstallDatabaseCommandHook() {
  prev_utility_hook = ProcessUtility_hook;
  ProcessUtility_hook = jobkeeper_database_command_hook;
}

}  // namespace jk::worker
