// One retention cleanup pass (SPEC section 5), shared by run_cleanup(), expire_leases() and
// the worker.
#pragma once

#include <cstdint>

namespace jk::worker {

inline constexpr int kPassErrorLength = 256;

struct CleanupCounts {
  std::int64_t jobs_deleted;
  std::int64_t exports_deleted;
  std::int64_t leases_requeued;
  std::int64_t leases_failed;
  std::int64_t ttl_rows_deleted;   // rows of application tables deleted by TTL rules
  std::int64_t rows_skipped;       // rows whose change failed; left for the next pass
  bool postponed;                  // the deletes waited for a pg_restore (worker only)
  char error[kPassErrorLength];    // the pass's first error, "" when none
};

// How a pass uses transactions: run_cleanup() works inside its caller's transaction, each
// batch in a subtransaction; the worker commits each batch on its own, under a statement and
// lock timeout, and halves the batch after a timeout instead of failing. Either way a batch
// that fails for another reason is redone row by row, and the rows that fail are skipped.
enum class TxMode { kCallerTransaction, kTransactionPerBatch };

// What the worker does between two batches of a pass (apply a reload, keep the lease checks'
// cadence); null for run_cleanup().
using BetweenBatches = void (*)(CleanupCounts* counts);

// Re-queues expired leases, deletes expired exports and jobs (recording their file paths in
// deleted_files) and trims deleted_files when that is configured, all in batches, with the
// settings now in effect. Must run connected to a database with the extension, with SPI not
// yet connected.
void RunCleanupPass(TxMode mode, CleanupCounts* counts, BetweenBatches between);

struct BatchKind;

// How a batch, or any step run like one, went.
enum class Outcome { kDone, kTimedOut, kFailed };

// Runs body(arg) in its own transaction (kTransactionPerBatch: under the batch's statement and
// lock timeout, SPI connected, committed on its own) or in a subtransaction of the caller's
// (counted against the call's limit). A timeout is kTimedOut for the worker and raised for a
// caller; any other error is rolled back and returned as kFailed with its message in error
// (kPassErrorLength bytes). lock_wait_fails: for a caller, the body runs under a lock timeout
// of the batch's length, and a lock timeout is kFailed instead of raised.
Outcome RunIsolatedBody(TxMode mode, void (*body)(void*), void* arg, char* error,
                        bool lock_wait_fails);


// Runs batches of kind (a TTL rule's deletes) until none is left that the step may take, with
// the cleanup's timeouts, shrinking and skipping of failing rows; adds the rows changed to
// *changed. In the caller's transaction (kCallerTransaction), SPI must be connected and
// BeginCallerRun() called once for the call.
void RunBatches(TxMode mode, const BatchKind& kind, std::uintptr_t cutoff, CleanupCounts* counts,
                BetweenBatches between, std::int64_t* changed);

// Deletes in physical order with the kind's sweep statement, pages_per_batch pages at a time
// (halved after a timeout) up to page `pages`, adding the rows deleted to *deleted and the
// expired rows it had to leave (someone held them) to *left. Returns
// false when a batch failed otherwise or kept timing out at one page: the caller then takes
// the rows by index (RunBatches), which skips a failing row alone.
bool RunSweepBatches(TxMode mode, const BatchKind& kind, std::uintptr_t cutoff,
                     std::uint32_t pages, int pages_per_batch, CleanupCounts* counts,
                     BetweenBatches between, std::int64_t* deleted, std::int64_t* left);

// Starts counting the subtransactions of one run_cleanup() or run_ttl() call.
void BeginCallerRun();

// Records the pass's first error in counts (later ones are dropped).
void NoteError(CleanupCounts* counts, const char* error);

// Re-queues expired leases only (the worker's frequent check); adds to counts.
void RunLeasePass(TxMode mode, CleanupCounts* counts);

// Re-queues up to batch_size expired job leases and as many export leases, in the caller's
// transaction (expire_leases()); adds to counts.
void RunLeaseBatch(int batch_size, CleanupCounts* counts);

// True when a pg_restore session is connected to this database (in the current transaction).
bool PgRestoreConnected();

}  // namespace jk::worker
