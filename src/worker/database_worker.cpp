// The worker of one database: re-queues expired leases every lease_check_interval and runs
// the retention cleanup every cleanup_interval, reporting in its shared slot, in
// pg_stat_activity, in the cumulative statistics and in cleanup_runs.
#include <cstring>

#include "core/retention.hpp"
#include "core/versions.hpp"
#include "pg/entry.hpp"
#include "pg/events.hpp"
#include "pg/settings.hpp"
#include "pg/text.hpp"
#include "worker/batch_pass.hpp"
#include "worker/cleanup_pass.hpp"
#include "worker/cleanup_records.hpp"
#include "worker/event_ring.hpp"
#include "worker/shared_state.hpp"
#include "worker/ttl_pass.hpp"

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
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void jobkeeper_worker_main(Datum arg);
static void jobkeeper_clear_pid_at_exit(int code, Datum arg);
}

namespace {

using jk::worker::DatabaseSlot;

int my_slot = -1;             // index of this database's slot, given by the launcher
TimestampTz next_lease = 0;   // when the lease check is next due
bool restore_logged = false;  // "waiting for pg_restore" said for the current restore
char datname[NAMEDATALEN];    // this database's name when the worker started
TimestampTz restore_seen_at = 0;  // when a restore was last seen loading this database
constexpr int kRestoreSettleSeconds = 10;

// Updates this worker's slot under the lock, as long as the slot is still this database's
// (the launcher frees it when the database goes).
template <typename Update>
void Report(Update update) {
  jk::worker::SharedState* st = jk::worker::State();
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  DatabaseSlot* slot = &st->slots[my_slot];
  if (slot->in_use && slot->dboid == MyDatabaseId) update(slot);
  LWLockRelease(st->lock);
}

void SetActivity(const char* activity) {
  Report([&](DatabaseSlot* s) { strlcpy(s->activity, activity, sizeof s->activity); });
}

// Clears this worker's pid from its slot when the process exits; events committed meanwhile
// are sent by their transactions themselves.
void ClearPid() {
  jk::worker::DetachEventRing(my_slot);
  Report([](DatabaseSlot* s) {
    if (s->pid != MyProcPid) return;  // a slot this worker never attached to, or lost
    s->pid = 0;
    s->activity[0] = '\0';
  });
}

int64 Seconds(int s) { return int64{s} * USECS_PER_SEC; }

// Hints beyond this many in one take are left to the lease check's look at every batch.
constexpr int kMaxBatchHints = 1024;

// Runs body() in a transaction of its own; an error is logged and rolled back, and the worker
// carries on.
template <typename Body>
void InOwnTransaction(Body body) {
  MemoryContext old = CurrentMemoryContext;
  PG_TRY();
  {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    body();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(old);
    EmitErrorReport();
    FlushErrorState();
    AbortCurrentTransaction();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old);
}

// Sends the events that committed transactions left in this database's ring, in one
// transaction (one take of the notify lock for all of them). A failure (the notification queue
// full because a listener stopped reading) loses this batch only; it is logged. Then the
// hinted batches that have finished are stamped and announced, in a transaction of their own
// (its NOTIFYs are sent when it commits); a failure there is logged, and the lease check
// finds them.
void SendEvents() {
  static char* entries = nullptr;
  if (entries == nullptr) {
    entries = static_cast<char*>(MemoryContextAlloc(TopMemoryContext, jk::worker::kEventRingBytes));
  }
  const uint32 bytes = jk::worker::TakeEvents(my_slot, entries);
  if (bytes == 0) return;
  static pg_uuid_t hints[kMaxBatchHints];
  const int hinted = jk::pg::TakeBatchHints(entries, bytes, hints, kMaxBatchHints);
  InOwnTransaction([&] { jk::pg::NotifyEntries(entries, bytes); });
  if (hinted == 0) return;
  InOwnTransaction([&] {
    PushActiveSnapshot(GetTransactionSnapshot());
    SPI_connect();
    if (jk::worker::SchemaHasBatches()) jk::worker::FinishBatches(hints, hinted);
    SPI_finish();
    PopActiveSnapshot();
  });
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
      // An older SQL version this library still serves keeps its worker until updated.
      result = jk::core::IsServedSqlVersion(version) ? Installed::kReady : Installed::kOtherVersion;
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

// True when a restore is loading this database, or was seen doing so less than
// kRestoreSettleSeconds ago: between two of its steps (its sessions connect, COPY and
// disconnect one after another) it may show for a moment as neither. The worker waits
// meanwhile (logged once).
bool RestoreUnderWay() {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  const bool seen = jk::worker::PgRestoreConnected();
  PopActiveSnapshot();
  CommitTransactionCommand();
  const TimestampTz now = GetCurrentTimestamp();
  if (seen) restore_seen_at = now;
  const bool connected = restore_seen_at != 0 &&
                         !TimestampDifferenceExceeds(restore_seen_at, now,
                                                     kRestoreSettleSeconds * 1000);
  if (connected && !restore_logged) {
    ereport(LOG, (errmsg("jobkeeper worker waits: pg_restore is connected to database \"%s\"",
                         datname),
                  errdetail("Retention and the lease checks resume once it has finished.")));
  }
  restore_logged = connected;
  return connected;
}

int batches_in_pass = 0;  // batches begun in the current pass, for the pause between them

// Waits jobkeeper.cleanup_batch_delay, sending events and answering signals meanwhile.
void PauseBetweenBatches() {
  const TimestampTz until = GetCurrentTimestamp() + int64{jk::pg::cleanup_batch_delay_ms} * 1000;
  for (;;) {
    const long left_ms = (until - GetCurrentTimestamp()) / 1000;
    if (left_ms <= 0) break;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    MemoryContext pass = CurrentMemoryContext;
    SendEvents();
    MemoryContextSwitchTo(pass);
  }
}

// Between two batches of a cleanup pass: the pause that trades the pass's rate for the latency
// of the work beside it, events sent, a reload applied at once, and the lease check at its
// cadence however long the pass takes.
void BetweenBatches(jk::worker::CleanupCounts* counts) {
  if (batches_in_pass++ > 0 && jk::pg::cleanup_batch_delay_ms > 0) PauseBetweenBatches();
  {
    MemoryContext pass = CurrentMemoryContext;
    SendEvents();
    MemoryContextSwitchTo(pass);
  }
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    MemoryContext pass = CurrentMemoryContext;
    ReloadSettings();
    MemoryContextSwitchTo(pass);
  }
  if (GetCurrentTimestamp() >= next_lease) {
    jk::worker::RunLeasePass(jk::worker::TxMode::kTransactionPerBatch, counts);
    next_lease = GetCurrentTimestamp() + Seconds(jk::pg::lease_check_interval_s);
  }
}

// Records the waiting deleted_files entries in the slot.
void ReportWaitingFiles() {
  int64 count = 0;
  int64 oldest = 0;
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  jk::worker::ReadWaitingFiles(&count, &oldest);
  PopActiveSnapshot();
  CommitTransactionCommand();
  Report([&](DatabaseSlot* s) {
    s->files_waiting = count;
    s->oldest_file_at = oldest;
  });
}

// What a pass does.
enum class Pass { kCleanup, kLeases, kTtl };

// Runs a pass; on an error, logs it, records it and carries on. Returns false when it waited
// for a pg_restore instead. A cleanup pass is always recorded in cleanup_runs; a lease check
// or a TTL run only when it changed, skipped or failed something: they run every few seconds
// or every minute, and would push the cleanup runs out of the history.
bool RunPass(Pass pass, MemoryContext pass_context) {
  jk::worker::CleanupCounts counts = {};
  const TimestampTz started = GetCurrentTimestamp();
  MemoryContext old = MemoryContextSwitchTo(pass_context);
  PG_TRY();
  {
    // Every commit leaves TopMemoryContext current: each step goes back to the pass's.
    const bool restoring = RestoreUnderWay();
    MemoryContextSwitchTo(pass_context);
    if (restoring) {
      counts.postponed = true;
    } else if (pass == Pass::kCleanup) {
      SetActivity("cleanup");
      batches_in_pass = 0;
      jk::worker::RunCleanupPass(jk::worker::TxMode::kTransactionPerBatch, &counts,
                                 BetweenBatches);
    } else if (pass == Pass::kLeases) {
      SetActivity("lease check");
      jk::worker::RunLeasePass(jk::worker::TxMode::kTransactionPerBatch, &counts);
    } else {
      SetActivity("ttl rules");
      batches_in_pass = 0;
      jk::worker::RunTtlPass(jk::worker::TxMode::kTransactionPerBatch, &counts, BetweenBatches,
                             nullptr, nullptr);
    }
    MemoryContextSwitchTo(pass_context);
    pgstat_report_activity(STATE_RUNNING, "jobkeeper: recording the pass");
    const bool changed = counts.jobs_deleted + counts.exports_deleted + counts.leases_requeued +
                             counts.leases_failed + counts.rows_skipped +
                             counts.ttl_rows_deleted > 0;
    const bool failed = counts.error[0] != '\0';
    if (!counts.postponed && (pass == Pass::kCleanup || changed || failed)) {
      SetCurrentStatementStartTimestamp();
      StartTransactionCommand();
      PushActiveSnapshot(GetTransactionSnapshot());
      jk::worker::RecordCleanupRun(pass == Pass::kTtl ? "worker_ttl" : "worker", started, counts,
                                   failed ? counts.error : nullptr);
      PopActiveSnapshot();
      CommitTransactionCommand();
      MemoryContextSwitchTo(pass_context);
    }
    if (!counts.postponed && pass != Pass::kTtl) ReportWaitingFiles();
    MemoryContextSwitchTo(pass_context);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(pass_context);
    ErrorData* edata = CopyErrorData();
    jk::pg::CopyClipped(counts.error, sizeof counts.error, edata->message);
    EmitErrorReport();
    FlushErrorState();
    AbortCurrentTransaction();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old);
  MemoryContextReset(pass_context);
  // What the pass deleted reaches the cumulative statistics now, not when the worker exits:
  // autovacuum acts on it.
  pgstat_report_stat(true);

  const bool failed = counts.error[0] != '\0';
  if (pass == Pass::kCleanup && !counts.postponed) {
    ereport(failed ? WARNING : LOG,
            (errmsg("jobkeeper cleanup in database \"%s\": %lld jobs and %lld exports deleted, "
                    "%lld leases re-queued, %lld failed, %lld rows skipped%s%s",
                    datname, (long long)counts.jobs_deleted,
                    (long long)counts.exports_deleted, (long long)counts.leases_requeued,
                    (long long)counts.leases_failed, (long long)counts.rows_skipped,
                    failed ? "; error: " : "", counts.error)));
  } else if (pass == Pass::kTtl && !counts.postponed && (counts.ttl_rows_deleted > 0 || failed)) {
    ereport(failed ? WARNING : LOG,
            (errmsg("jobkeeper TTL rules in database \"%s\": %lld rows deleted, %lld rows "
                    "skipped%s%s",
                    datname, static_cast<long long>(counts.ttl_rows_deleted),
                    static_cast<long long>(counts.rows_skipped), failed ? "; error: " : "",
                    counts.error)));
  }
  Report([&](DatabaseSlot* s) {
    s->rows_deleted += counts.jobs_deleted + counts.exports_deleted + counts.ttl_rows_deleted;
    if (pass == Pass::kCleanup && !counts.postponed) s->last_run = started;
    if (failed) jk::pg::CopyClipped(s->last_error, sizeof s->last_error, counts.error);
    strlcpy(s->activity, counts.postponed ? "waiting for pg_restore" : "idle",
            sizeof s->activity);
  });
  return !counts.postponed;
}

// Takes this worker's slot; false when it must not run (slot not ours, or the database is
// held by a command that needs it alone).
bool Attach(Oid dboid) {
  jk::worker::SharedState* st = jk::worker::State();
  bool ok = false;
  LWLockAcquire(st->lock, LW_EXCLUSIVE);
  // A worker an earlier launcher started may still be there (say, it was connecting while
  // that launcher exited): the slot has one worker at a time.
  if (my_slot >= 0 && my_slot < st->slot_count && st->slots[my_slot].in_use &&
      st->slots[my_slot].dboid == dboid && !jk::worker::IsHeld(st, dboid) &&
      (st->slots[my_slot].pid == 0 || BackendPidGetProc(st->slots[my_slot].pid) == nullptr)) {
    DatabaseSlot* slot = &st->slots[my_slot];
    slot->pid = MyProcPid;
    jk::worker::AttachEventRing(my_slot);
    slot->last_error[0] = '\0';
    strlcpy(slot->activity, "starting", sizeof slot->activity);
    ok = true;
  }
  LWLockRelease(st->lock);
  return ok;
}

}  // namespace

static void jobkeeper_clear_pid_at_exit(int, Datum) { ClearPid(); }

// The worker's entry point; bgw_main_arg is the database's OID, bgw_extra its slot index.
void jobkeeper_worker_main(Datum arg) {
  const Oid dboid = DatumGetObjectId(arg);
  std::memcpy(&my_slot, MyBgworkerEntry->bgw_extra, sizeof my_slot);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);  // ends the worker; the launcher starts it again later
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
  // A DROP, RENAME or TEMPLATE copy of this database may have begun while we connected.
  if (!Attach(dboid)) proc_exit(0);
  before_shmem_exit(jobkeeper_clear_pid_at_exit, 0);
  // The cleanup statements name every table with its schema; operators come from here.
  SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
  // Each batch deletes rows and records their files in one transaction, so a batch lost in a
  // crash is simply redone by the next run: it need not wait for its WAL flush.
  SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
  // A batch checks its locked jobs for exports again with a snapshot taken after the locks,
  // which only READ COMMITTED gives, whatever default_transaction_isolation says.
  SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
  {
    StartTransactionCommand();
    strlcpy(datname, get_database_name(dboid), NAMEDATALEN);
    Report([&](DatabaseSlot* s) { strlcpy(s->datname, datname, NAMEDATALEN); });
    CommitTransactionCommand();
  }

  MemoryContext pass_context =
      AllocSetContextCreate(TopMemoryContext, "jobkeeper pass", ALLOCSET_DEFAULT_SIZES);
  bool announced = false;
  bool mismatch_logged = false;
  TimestampTz last_cleanup_start = 0;
  TimestampTz next_cleanup = 0;  // a run right after start
  TimestampTz last_ttl_start = 0;
  TimestampTz next_ttl = 0;      // TTL rules: right after the first cleanup
  bool has_ttl = false;          // the installed SQL version has TTL rules
  // When the extension check and the passes are next due; the latch also wakes the worker
  // for events, which need neither.
  TimestampTz next_check = 0;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (jk::worker::EventsWaiting(my_slot)) pg_usleep(jk::worker::kEventGatherMicros);
    SendEvents();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ReloadSettings();
      // A new interval applies at once, counted from the last run.
      next_cleanup = jk::core::NextRunAt(last_cleanup_start,
                                         Seconds(jk::pg::cleanup_interval_s),
                                         GetCurrentTimestamp());
      next_ttl = jk::core::NextRunAt(last_ttl_start, Seconds(jk::pg::ttl_interval_s),
                                     GetCurrentTimestamp());
      next_check = 0;
    }
    if (GetCurrentTimestamp() >= next_check) {
      char version[64] = "";
      bool ready = false;
      switch (CheckExtension(version, sizeof version)) {
        case Installed::kMissing:
          ereport(announced ? LOG : DEBUG1,
                  (errmsg("jobkeeper worker stopping: the extension is not installed in this "
                          "database")));
          // The launcher frees the slot once it sees the worker gone, and probes again later.
          Report([](DatabaseSlot* s) { s->state = jk::worker::SlotState::kNoExtension; });
          proc_exit(0);
          break;
        case Installed::kOtherVersion:
          if (!mismatch_logged) {
            ereport(LOG, (errmsg("jobkeeper worker waiting: installed SQL version %s, library "
                                 "version %s", version, JK_VERSION),
                          errhint("Run ALTER EXTENSION jobkeeper UPDATE.")));
            mismatch_logged = true;
          }
          SetActivity("waiting for ALTER EXTENSION jobkeeper UPDATE");
          break;
        case Installed::kReady: {
          if (!announced) {
            ereport(LOG, (errmsg("jobkeeper worker started")));
            Report([](DatabaseSlot* s) { s->state = jk::worker::SlotState::kServed; });
            announced = true;
          }
          mismatch_logged = false;
          ready = true;
          has_ttl = jk::core::SqlVersionAtLeast(version, jk::core::kTtlRulesSince);
          TimestampTz now = GetCurrentTimestamp();
          if (now >= next_cleanup) {
            const bool ran = RunPass(Pass::kCleanup, pass_context);
            now = GetCurrentTimestamp();
            if (ran) {
              last_cleanup_start = now;
              next_cleanup = jk::core::NextRunAt(last_cleanup_start,
                                                 Seconds(jk::pg::cleanup_interval_s), now);
            } else {  // waited for a pg_restore: try again soon
              next_cleanup = now + Seconds(jk::pg::lease_check_interval_s);
            }
            next_lease = now + Seconds(jk::pg::lease_check_interval_s);
          } else if (now >= next_lease) {
            RunPass(Pass::kLeases, pass_context);
            next_lease = GetCurrentTimestamp() + Seconds(jk::pg::lease_check_interval_s);
          }
          // The version again: a downgrade may have come during a long cleanup pass.
          if (has_ttl && GetCurrentTimestamp() >= next_ttl &&
              CheckExtension(version, sizeof version) == Installed::kReady &&
              jk::core::SqlVersionAtLeast(version, jk::core::kTtlRulesSince)) {
            const bool ran = RunPass(Pass::kTtl, pass_context);
            now = GetCurrentTimestamp();
            if (ran) {
              last_ttl_start = now;
              next_ttl = jk::core::NextRunAt(last_ttl_start, Seconds(jk::pg::ttl_interval_s), now);
            } else {
              next_ttl = now + Seconds(jk::pg::lease_check_interval_s);
            }
          }
          const TimestampTz due = next_cleanup;
          Report([&](DatabaseSlot* s) { s->next_run = due; });
          break;
        }
      }
      // Mid-upgrade (versions differ) it looks again every lease_check_interval.
      next_check = ready ? (next_cleanup < next_lease ? next_cleanup : next_lease)
                         : GetCurrentTimestamp() + Seconds(jk::pg::lease_check_interval_s);
      if (ready && has_ttl && next_ttl < next_check) next_check = next_ttl;
      pgstat_report_activity(STATE_IDLE, nullptr);
    }
    long wait_ms = (next_check - GetCurrentTimestamp()) / 1000;
    if (wait_ms < 10) wait_ms = 10;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
