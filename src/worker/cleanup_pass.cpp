// The batches of a cleanup pass and the transaction handling around them: timeouts shrink the
// batch, a failing batch is redone row by row so that the rows that fail are skipped, and
// every step ends, however its batches go.
#include "worker/cleanup_pass.hpp"

#include <algorithm>

#include "core/retention.hpp"
#include "core/ttl.hpp"
#include "pg/postgres.hpp"
#include "pg/settings.hpp"
#include "pg/text.hpp"
#include "worker/batch_pass.hpp"
#include "worker/cleanup_attempt.hpp"
#include "worker/cleanup_statements.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

namespace {

constexpr int kSalvageRows = 100;     // rows of a failed batch redone one at a time
constexpr int kMaxFloorTimeouts = 3;  // timeouts in a row at the smallest batch: step ends
// Subtransactions one run_cleanup() call may use (one per batch, one per row redone alone).
// Each keeps a lock on its transaction id until the caller's transaction ends, and past 64
// every snapshot in the cluster looks them up in pg_subtrans: at the default batch size this
// covers 5,000,000 rows; a call that needs more ends its step and says to call it again.
constexpr int kMaxCallerSubtransactions = 1000;

}  // namespace

// Runs body in its own transaction (worker: under the batch timeout, committed on its own) or
// in a subtransaction of the caller's (run_cleanup, run_ttl). A timeout is kTimedOut for the
// worker and raised for a caller (its own statement_timeout or a cancel); any other error is
// rolled back and returned as kFailed with its message in error. lock_wait_fails: a caller's
// lock timeout is kFailed too, under a lock timeout of the batch's length for the body.
Outcome RunIsolatedBody(TxMode mode, void (*body)(void*), void* arg, char* error,
                        bool lock_wait_fails) {
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  const bool own = mode == TxMode::kTransactionPerBatch;
  volatile Outcome outcome = Outcome::kDone;
  char timeout[32];
  snprintf(timeout, sizeof timeout, "%dms", jk::pg::cleanup_batch_timeout_ms);
  if (own) {
    SetCurrentStatementStartTimestamp();  // a worker sets it itself; now() inside is that time
    StartTransactionCommand();
    if (IsolationUsesXactSnapshot()) {  // the worker sets READ COMMITTED; kExpiredJobs needs it
      elog(ERROR, "jobkeeper cleanup batch must run at READ COMMITTED");
    }
    PushActiveSnapshot(GetTransactionSnapshot());
  } else {
    caller_subtransactions++;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller);
  }
  PG_TRY();
  {
    int nest = 0;
    if (own) {
      SPI_connect();
      // SET LOCAL: the batch's own statements only, not the worker's bookkeeping after it.
      (void)set_config_option("lock_timeout", timeout, PGC_SUSET, PGC_S_SESSION,
                              GUC_ACTION_LOCAL, true, 0, false);
      enable_timeout_after(STATEMENT_TIMEOUT, jk::pg::cleanup_batch_timeout_ms);
    } else if (lock_wait_fails) {
      nest = NewGUCNestLevel();  // restored below: the caller's own lock_timeout comes back
      (void)set_config_option("lock_timeout", timeout, PGC_SUSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
    }
    body(arg);
    if (nest > 0) AtEOXact_GUC(true, nest);
    if (own) {
      disable_timeout(STATEMENT_TIMEOUT, false);
      // The timer may have fired after the batch's last interrupt check: the batch is done,
      // so the cancel it asked for must not hit whatever the worker does next.
      QueryCancelPending = false;
      SPI_finish();
      PopActiveSnapshot();
      CommitTransactionCommand();
    } else {
      ReleaseCurrentSubTransaction();
      CurrentResourceOwner = owner;
    }
    MemoryContextSwitchTo(caller);
  }
  PG_CATCH();
  {
    if (own) disable_timeout(STATEMENT_TIMEOUT, false);
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    if (own) {
      AbortCurrentTransaction();
    } else {
      RollbackAndReleaseCurrentSubTransaction();
      CurrentResourceOwner = owner;
    }
    MemoryContextSwitchTo(caller);
    const bool lock_wait = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
    const bool timed_out = edata->sqlerrcode == ERRCODE_QUERY_CANCELED || lock_wait;
    if (timed_out && !own && !(lock_wait && lock_wait_fails)) ReThrowError(edata);
    if (timed_out && own) {
      ereport(LOG, (errmsg("jobkeeper cleanup batch timed out; retrying with a smaller batch"),
                    errdetail("%s", edata->message)));
      outcome = Outcome::kTimedOut;
    } else {
      jk::pg::CopyClipped(error, kPassErrorLength, edata->message);
      outcome = Outcome::kFailed;
    }
    FreeErrorData(edata);
  }
  PG_END_TRY();
  return outcome;
}

namespace {

// Runs an attempt in its own transaction or a subtransaction (see RunIsolatedBody).
Outcome RunIsolated(TxMode mode, Attempt* a) {
  char* error = a->error;
  // run_ttl(): a sweep that meets a row locked in the instant after its check gives up after
  // the batch's lock timeout and hands the rest to the index path, instead of failing the call.
  const bool lock_wait_fails = a->sweep && mode == TxMode::kCallerTransaction;
  return RunIsolatedBody(mode, [](void* attempt) { RunAs(static_cast<Attempt*>(attempt)); }, a,
                         error, lock_wait_fails);
}

// Repeats batches of kind until one takes fewer rows than asked for (or, once, after one
// batch), adding the batches' two counts to *first and *second. A timeout halves the batch;
// kMaxFloorTimeouts at the smallest size end the step with the error recorded. A batch that
// fails otherwise is halved down to kSalvageRows rows and then redone one row at a time; the
// failing rows are skipped for the rest of the step.
void RunStep(TxMode mode, const BatchKind& kind, Datum cutoff, bool once, int first_batch,
             CleanupCounts* counts, BetweenBatches between, int64* first, int64* second) {
  const bool worker = mode == TxMode::kTransactionPerBatch;
  Skipped skipped = {
      static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * kMaxSkipped)), 0};
  char resume[kResumeKeyLength] = "";  // where a keyset kind's next batch starts
  jk::core::ExportLookAhead look(!worker);  // whether expired jobs' batches look at exports first
  // Whether a batch has taken a full batch: the next ones may fuse their two statements. The
  // first batch of a step does not, so that a step with nothing to do runs no change at all
  // (no statement trigger of the application's fires).
  bool more = false;
  int batch = first_batch;
  int floor_timeouts = 0;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (between != nullptr) between(counts);  // may reload the settings
    // A kind with its own batch size (a TTL rule's) keeps it; the others follow the setting,
    // which a reload may change during the pass.
    const int configured =
        once ? first_batch : (kind.batch_size > 0 ? kind.batch_size : jk::pg::cleanup_batch_size);
    batch = std::min(batch, configured);
    if (worker) pgstat_report_activity(STATE_RUNNING, kind.activity);
    if (!worker && caller_subtransactions >= kMaxCallerSubtransactions) {
      char message[kPassErrorLength];
      snprintf(message, sizeof message,
               "%s: stopped after %d batches in one call; call it again for the rest",
               kind.activity, kMaxCallerSubtransactions);
      NoteError(counts, message);
      break;
    }
    Attempt a = NewAttempt(kind, cutoff, batch, false, worker, &skipped, resume);
    a.quick = kind.quick_lock_sql != nullptr && !look.LooksFirst();
    a.fuse = kind.fused_sql != nullptr && more;
    Outcome outcome = RunIsolated(mode, &a);
    // A batch that fails for a row's sake is halved until it is small, so that the rows
    // before the bad one go in batches; then the small batch is redone one row at a time.
    if (outcome == Outcome::kFailed && batch > kSalvageRows) {
      ereport(LOG, (errmsg("jobkeeper cleanup batch of %d rows failed; retrying with %d",
                           batch, std::max(batch / 2, kSalvageRows)),
                    errdetail("%s", a.error)));
      batch = std::max(batch / 2, kSalvageRows);
      continue;
    }
    if (outcome == Outcome::kFailed) {
      ereport(LOG, (errmsg("jobkeeper cleanup batch failed; redoing it row by row"),
                    errdetail("%s", a.error)));
      char batch_error[kPassErrorLength];
      strlcpy(batch_error, a.error, sizeof batch_error);
      a = NewAttempt(kind, cutoff, batch, true, worker, &skipped, resume);
      a.quick = kind.quick_lock_sql != nullptr && !look.LooksFirst();
      outcome = RunIsolated(mode, &a);
      if (outcome == Outcome::kFailed) {  // not a row's fault: the step cannot go on
        NoteError(counts, a.error);
        break;
      }
      // Row by row, every row went through (the failure was passing, or lay in rows taken
      // meanwhile): keep the batch's own error.
      if (outcome == Outcome::kDone && a.rows_skipped == 0) NoteError(counts, batch_error);
    }
    if (outcome == Outcome::kTimedOut) {
      if (batch <= jk::core::NextBatchSize(batch, true, configured) &&
          ++floor_timeouts >= kMaxFloorTimeouts) {
        char message[kPassErrorLength];
        snprintf(message, sizeof message,
                 "%s: every batch timed out, the smallest (%d rows) %d times; the step ends "
                 "and the next pass tries again", kind.activity, batch, kMaxFloorTimeouts);
        ereport(WARNING, (errmsg("%s", message)));
        NoteError(counts, message);
        break;
      }
      batch = jk::core::NextBatchSize(batch, true, configured);
      continue;
    }
    if (a.postponed) {
      counts->postponed = true;
      break;
    }
    floor_timeouts = 0;
    strlcpy(resume, a.resume, sizeof resume);  // a batch that went through moves the start on
    if (a.quick) look.AfterBatch(a.taken, a.first, a.rows_skipped);
    *first += a.first;
    *second += a.second;
    counts->rows_skipped += a.rows_skipped;
    if (a.error[0] != '\0') NoteError(counts, a.error);
    // Each batch's deletes reach the statistics at once (at most once a second), so that
    // autovacuum sees them during a long pass.
    if (worker) pgstat_report_stat(false);
    if (skipped.count == kMaxSkipped) {
      NoteError(counts, "too many rows failed; the step ends and the next pass tries again");
      break;
    }
    // A short batch means nothing is left that this pass may take (rows skipped because
    // someone holds them wait for the next pass).
    if (once || a.taken < a.limit) break;
    // A full batch that changed nothing would be taken again and again (say, an application's
    // BEFORE trigger that silently keeps the rows), unless the batch was a quick one whose
    // kept jobs the next batches now leave alone.
    if (a.first == 0 && a.second == 0 && a.rows_skipped == 0 && !(a.quick && look.LooksFirst())) {
      char message[kPassErrorLength];
      snprintf(message, sizeof message,
               "%s: a batch of %d rows changed none of them; the step ends and the next pass "
               "tries again", kind.activity, batch);
      NoteError(counts, message);
      break;
    }
    more = true;
    batch = jk::core::NextBatchSize(batch, false, configured);
  }
  pfree(skipped.tids);
}

}  // namespace

void NoteError(CleanupCounts* counts, const char* error) {
  if (counts->error[0] == '\0') jk::pg::CopyClipped(counts->error, sizeof counts->error, error);
}

void BeginCallerRun() { caller_subtransactions = 0; }

void RunBatches(TxMode mode, const BatchKind& kind, std::uintptr_t cutoff, CleanupCounts* counts,
                BetweenBatches between, int64* changed) {
  int64 unused = 0;
  const int size = kind.batch_size > 0 ? kind.batch_size : jk::pg::cleanup_batch_size;
  RunStep(mode, kind, static_cast<Datum>(cutoff), false, size, counts, between, changed, &unused);
}

bool RunSweepBatches(TxMode mode, const BatchKind& kind, std::uintptr_t cutoff,
                     std::uint32_t pages, int pages_per_batch, CleanupCounts* counts,
                     BetweenBatches between, int64* deleted, int64* left) {
  const bool worker = mode == TxMode::kTransactionPerBatch;
  Skipped none = {nullptr, 0};
  int step = std::max(pages_per_batch, 1);
  const int batch_rows = kind.batch_size > 0 ? kind.batch_size : jk::pg::cleanup_batch_size;
  int floor_timeouts = 0;
  for (BlockNumber block = 0; block < pages;) {
    CHECK_FOR_INTERRUPTS();
    if (between != nullptr) between(counts);
    if (worker) pgstat_report_activity(STATE_RUNNING, kind.activity);
    if (!worker && caller_subtransactions >= kMaxCallerSubtransactions) return false;
    Attempt a = NewAttempt(kind, static_cast<Datum>(cutoff), 0, false, worker, &none, "");
    a.sweep = true;
    a.sweep_from = block;
    a.sweep_to = block + std::min<BlockNumber>(step, pages - block);
    const Outcome outcome = RunIsolated(mode, &a);
    if (outcome == Outcome::kFailed) {  // a row's fault, maybe: the index path skips it alone
      ereport(LOG, (errmsg("jobkeeper sweep batch failed; taking the rows by index instead"),
                    errdetail("%s", a.error)));
      return false;
    }
    if (outcome == Outcome::kTimedOut) {
      if (step == 1 && ++floor_timeouts >= kMaxFloorTimeouts) return false;
      step = jk::core::NextSweepPages(step, true, 0, batch_rows, pages_per_batch);
      continue;
    }
    if (a.postponed) {
      counts->postponed = true;
      return true;
    }
    floor_timeouts = 0;
    *deleted += a.first;
    *left += a.second;
    if (worker) pgstat_report_stat(false);
    block = a.sweep_to;
    step = jk::core::NextSweepPages(step, false, a.first, batch_rows, pages_per_batch);
  }
  return true;
}

void RunLeasePass(TxMode mode, CleanupCounts* counts) {
  if (mode == TxMode::kCallerTransaction) SPI_connect();
  for (const BatchKind* kind : {&kJobLeases, &kExportLeases}) {
    RunStep(mode, *kind, 0, false, jk::pg::cleanup_batch_size, counts, nullptr,
            &counts->leases_requeued, &counts->leases_failed);
  }
  // Batches that finished without their hint reaching the worker (a transaction that sent its
  // events itself, a worker restart, a batch someone held when its hint came).
  if (SchemaHasBatches(mode)) RunBatchFinishStep(mode, counts);
  if (mode == TxMode::kCallerTransaction) SPI_finish();
}

void RunLeaseBatch(int batch_size, CleanupCounts* counts) {
  BeginCallerRun();
  SPI_connect();
  for (const BatchKind* kind : {&kJobLeases, &kExportLeases}) {
    RunStep(TxMode::kCallerTransaction, *kind, 0, true, batch_size, counts, nullptr,
            &counts->leases_requeued, &counts->leases_failed);
  }
  SPI_finish();
}

void RunCleanupPass(TxMode mode, CleanupCounts* counts, BetweenBatches between) {
  BeginCallerRun();
  RunLeasePass(mode, counts);

  const jk::core::RetentionSettings settings{
      jk::pg::job_retention_s < 0 ? jk::core::kKeepForever
                                  : int64{jk::pg::job_retention_s} * USECS_PER_SEC,
      jk::pg::export_retention_s < 0 ? jk::core::kKeepForever
                                     : int64{jk::pg::export_retention_s} * USECS_PER_SEC};
  const jk::core::RetentionCutoffs cutoffs =
      jk::core::ComputeCutoffs(GetCurrentTimestamp(), settings);

  if (mode == TxMode::kCallerTransaction) SPI_connect();
  int64 unused = 0;
  const int size = jk::pg::cleanup_batch_size;
  // Exports first: a job goes only once it has no export left, so expired exports must be
  // gone before their jobs are looked at.
  if (cutoffs.exports_enabled && !counts->postponed) {
    RunStep(mode, kExpiredExports, TimestampTzGetDatum(cutoffs.export_cutoff), false, size,
            counts, between, &counts->exports_deleted, &unused);
  }
  const bool batches = SchemaHasBatches(mode);
  if (cutoffs.jobs_enabled && !counts->postponed) {
    // With batches, the jobs outside them and the jobs of done batches, each by its own path.
    const BatchKind* const with_batches[] = {&kExpiredLooseJobs, &kExpiredBatchJobs, nullptr};
    const BatchKind* const without[] = {&kExpiredJobs, nullptr};
    for (const BatchKind* const* kind = batches ? with_batches : without; *kind != nullptr;
         kind++) {
      RunStep(mode, **kind, TimestampTzGetDatum(cutoffs.job_cutoff), false, size, counts,
              between, &counts->jobs_deleted, &unused);
    }
  }
  // A finished batch goes with its last job.
  if (batches && cutoffs.jobs_enabled && !counts->postponed) {
    RunBatchDeleteStep(mode, counts, cutoffs.job_cutoff);
  }
  if (jk::pg::deleted_files_retention_s >= 0 && !counts->postponed) {
    const jk::core::RetentionCutoffs files = jk::core::ComputeCutoffs(
        GetCurrentTimestamp(),
        {int64{jk::pg::deleted_files_retention_s} * USECS_PER_SEC, jk::core::kKeepForever});
    RunStep(mode, kOldDeletedFiles, TimestampTzGetDatum(files.job_cutoff), false, size, counts,
            between, &unused, &unused);
  }
  if (mode == TxMode::kCallerTransaction) SPI_finish();
}

bool PgRestoreConnected() {
  SPI_connect();
  const bool connected = RestoreConnected();
  SPI_finish();
  return connected;
}

}  // namespace jk::worker
