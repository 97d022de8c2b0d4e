// The worker of one database: re-queues expired leases every lease_check_interval and runs
// the retention cleanup every cleanup_interval, reporting in shared memory and cleanup_runs.
#include <cstring>

#include "core/retention.hpp"
#include "pg/entry.hpp"
#include "pg/settings.hpp"
#include "worker/cleanup_pass.hpp"
#include "worker/shared_state.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_db_role_setting.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void jobkeeper_worker_main(Datum arg);
}

namespace {

using jk::worker::DatabaseSlot;

DatabaseSlot* my_slot = nullptr;

// Updates this worker's slot under the lock.
template <typename Update>
void Report(Update update) {
  jk::worker::SharedState* st = jk::worker::State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  update(my_slot);
  LWLockRelease(st->lock);
}

void ClearPidAtExit(int, Datum) {
  if (my_slot != nullptr) Report([](DatabaseSlot* s) { s->pid = 0; });
}

enum class Installed { kMissing, kOtherVersion, kReady };

// Looks up the extension in this database; version receives the installed SQL version.
Installed CheckExtension(char* version, size_t size) {
  SetCurrentStatementStartTimestamp();  // background workers set it themselves
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  Installed result = Installed::kMissing;
  if (OidIsValid(get_extension_oid("jobkeeper", true))) {
    SPI_connect();
    if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'jobkeeper'",
                    true, 1) == SPI_OK_SELECT && SPI_processed == 1) {
      strlcpy(version, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), size);
      result = strcmp(version, JK_VERSION) == 0 ? Installed::kReady : Installed::kOtherVersion;
    }
    SPI_finish();
  }
  PopActiveSnapshot();
  CommitTransactionCommand();
  return result;
}

// Re-reads postgresql.conf and this database's ALTER DATABASE ... SET values, which
// PostgreSQL applies only when a session starts.
void ReloadSettings() {
  ProcessConfigFile(PGC_SIGHUP);
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  Relation rel = table_open(DbRoleSettingRelationId, AccessShareLock);
  Snapshot snapshot = RegisterSnapshot(GetCatalogSnapshot(DbRoleSettingRelationId));
  ApplySetting(snapshot, MyDatabaseId, InvalidOid, rel, PGC_S_DATABASE);
  UnregisterSnapshot(snapshot);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
}

// Runs a pass (cleanup or leases only); on an error, logs it, records it and carries on.
void RunPass(bool full, MemoryContext pass_context) {
  jk::worker::CleanupCounts counts = {};
  const TimestampTz started = GetCurrentTimestamp();
  MemoryContext old = MemoryContextSwitchTo(pass_context);
  char error[jk::worker::kErrorLength] = "";
  PG_TRY();
  {
    if (full) {
      jk::worker::RunCleanupPass(jk::worker::TxMode::kTransactionPerBatch, &counts);
    } else {
      jk::worker::RunLeasePass(jk::worker::TxMode::kTransactionPerBatch, &counts);
    }
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(pass_context);
    ErrorData* edata = CopyErrorData();
    strlcpy(error, edata->message, sizeof error);
    EmitErrorReport();
    FlushErrorState();
    AbortCurrentTransaction();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old);
  MemoryContextReset(pass_context);

  const bool changed = counts.jobs_deleted + counts.exports_deleted + counts.leases_requeued +
                           counts.leases_failed > 0;
  if (full || changed || error[0] != '\0') {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    jk::worker::RecordCleanupRun("worker", started, counts, error[0] != '\0' ? error : nullptr);
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  if (full) {
    ereport(error[0] != '\0' ? WARNING : LOG,
            (errmsg("jobkeeper cleanup in database \"%s\": %lld jobs and %lld exports deleted, "
                    "%lld leases re-queued, %lld failed%s%s",
                    my_slot->datname, (long long)counts.jobs_deleted,
                    (long long)counts.exports_deleted, (long long)counts.leases_requeued,
                    (long long)counts.leases_failed, error[0] != '\0' ? "; error: " : "",
                    error)));
  }
  Report([&](DatabaseSlot* s) {
    s->rows_deleted += counts.jobs_deleted + counts.exports_deleted;
    if (full) s->last_run = started;
    if (error[0] != '\0') strlcpy(s->last_error, error, sizeof s->last_error);
  });
}

}  // namespace

// The worker's entry point; bgw_main_arg is the database's OID.
void jobkeeper_worker_main(Datum arg) {
  const Oid dboid = DatumGetObjectId(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);  // ends the worker; the launcher starts it again later
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
  // The cleanup statements name every table with its schema; operators come from here.
  SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
  // Each batch deletes rows and records their files in one transaction, so a batch lost in a
  // crash is simply redone by the next run: it need not wait for its WAL flush.
  SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
  // A batch checks its locked jobs for exports again with a snapshot taken after the locks,
  // which only READ COMMITTED gives, whatever default_transaction_isolation says.
  SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);

  jk::worker::SharedState* st = jk::worker::State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  my_slot = jk::worker::SlotFor(dboid);
  if (my_slot != nullptr) {
    my_slot->pid = MyProcPid;
    my_slot->no_extension = false;
    my_slot->checked_at = GetCurrentTimestamp();
    my_slot->last_error[0] = '\0';
  }
  LWLockRelease(st->lock);
  if (my_slot == nullptr) {
    ereport(LOG, (errmsg("jobkeeper worker has no free slot for database %u", dboid)));
    proc_exit(0);
  }
  before_shmem_exit(ClearPidAtExit, 0);
  {
    StartTransactionCommand();
    const char* name = get_database_name(dboid);
    Report([&](DatabaseSlot* s) { strlcpy(s->datname, name, NAMEDATALEN); });
    CommitTransactionCommand();
  }

  MemoryContext pass_context =
      AllocSetContextCreate(TopMemoryContext, "jobkeeper pass", ALLOCSET_DEFAULT_SIZES);
  bool announced = false;
  bool mismatch_logged = false;
  TimestampTz last_cleanup_start = 0;
  TimestampTz next_cleanup = 0;  // a run right after start
  TimestampTz next_lease = 0;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ReloadSettings();
      // A new interval applies at once, counted from the last run.
      next_cleanup = jk::core::NextRunAt(last_cleanup_start,
                                         int64{jk::pg::cleanup_interval_s} * USECS_PER_SEC,
                                         GetCurrentTimestamp());
    }
    char version[64] = "";
    bool ready = false;
    switch (CheckExtension(version, sizeof version)) {
      case Installed::kMissing:
        ereport(announced ? LOG : DEBUG1,
                (errmsg("jobkeeper worker stopping: the extension is not installed in this "
                        "database")));
        Report([](DatabaseSlot* s) {
          s->no_extension = true;
          s->checked_at = GetCurrentTimestamp();
        });
        proc_exit(0);  // the launcher probes this database again later
        break;
      case Installed::kOtherVersion:
        if (!mismatch_logged) {
          ereport(LOG, (errmsg("jobkeeper worker waiting: installed SQL version %s, library "
                               "version %s", version, JK_VERSION),
                        errhint("Run ALTER EXTENSION jobkeeper UPDATE.")));
          mismatch_logged = true;
        }
        break;
      case Installed::kReady: {
        if (!announced) {
          ereport(LOG, (errmsg("jobkeeper worker started")));
          announced = true;
        }
        mismatch_logged = false;
        ready = true;
        TimestampTz now = GetCurrentTimestamp();
        if (now >= next_cleanup) {
          last_cleanup_start = now;
          RunPass(true, pass_context);
          now = GetCurrentTimestamp();
          next_cleanup = jk::core::NextRunAt(
              last_cleanup_start, int64{jk::pg::cleanup_interval_s} * USECS_PER_SEC, now);
          next_lease = now + int64{jk::pg::lease_check_interval_s} * USECS_PER_SEC;
        } else if (now >= next_lease) {
          RunPass(false, pass_context);
          next_lease = GetCurrentTimestamp() + int64{jk::pg::lease_check_interval_s} * USECS_PER_SEC;
        }
        const TimestampTz due = next_cleanup;
        Report([&](DatabaseSlot* s) { s->next_run = due; });
        break;
      }
    }
    pgstat_report_activity(STATE_IDLE, nullptr);
    // Mid-upgrade (versions differ) it looks again every lease_check_interval.
    const TimestampTz wake = next_cleanup < next_lease ? next_cleanup : next_lease;
    long wait_ms = ready ? (wake - GetCurrentTimestamp()) / 1000
                         : jk::pg::lease_check_interval_s * 1000L;
    if (wait_ms < 10) wait_ms = 10;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
