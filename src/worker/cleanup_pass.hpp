// One retention cleanup pass (SPEC section 5), shared by run_cleanup() and the worker.
#pragma once

#include <cstdint>

namespace jk::worker {

struct CleanupCounts {
  std::int64_t jobs_deleted;
  std::int64_t exports_deleted;
  std::int64_t leases_requeued;
  std::int64_t leases_failed;
};

// How a pass uses transactions: run_cleanup() works inside its caller's transaction; the
// worker commits each batch on its own, under a statement and lock timeout, and halves the
// batch after a timeout instead of failing.
enum class TxMode { kCallerTransaction, kTransactionPerBatch };

// Re-queues expired leases, deletes expired exports and jobs (recording their file paths in
// deleted_files) and trims deleted_files, all in batches, with the settings now in effect.
// Must run connected to a database with the extension, with SPI not yet connected.
void RunCleanupPass(TxMode mode, CleanupCounts* counts);

// Re-queues expired leases only (the worker's frequent check); adds to counts.
void RunLeasePass(TxMode mode, CleanupCounts* counts);

// Appends a row to cleanup_runs (error may be null) and trims it to cleanup_history rows,
// in the current transaction.
void RecordCleanupRun(const char* source, std::int64_t started_at, const CleanupCounts& counts,
                      const char* error);

}  // namespace jk::worker
