// The batches' side of the worker and of run_cleanup() (SPEC section 10): a batch whose last job
// has finished is stamped and announced on jobkeeper_batches, exactly once; a finished batch
// whose jobs retention has deleted goes with the last of them.
#pragma once

#include "worker/cleanup_pass.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/uuid.h"
}

namespace jk::worker {

// Stamps finished_at of each batch among ids (every batch when ids is null) whose jobs are all
// finished, the last of them after its stamp, and queues its NOTIFY jobkeeper_batches in the current transaction
// (unless jobkeeper.notify is off). Locks the batches first, skipping any that someone holds
// (a transaction reopening it, or a batch function: the next check takes it), and reads the
// counts with a snapshot taken after the locks, so a batch is stamped once per finish
// whatever commits meanwhile. SPI connected, in a READ COMMITTED transaction. Returns how
// many it announced.
long FinishBatches(const pg_uuid_t* ids, int n);

// True when the installed schema has batches (1.1 and later); in a transaction, or for the
// worker (kTransactionPerBatch) in a short one of its own.
bool SchemaHasBatches();
bool SchemaHasBatches(TxMode mode);

// A pass's batch steps, each run like a batch (its own transaction for the worker, a
// subtransaction of run_cleanup()'s): every batch checked for a finish to announce, or the
// finished batches left without jobs (stamped at or before the jobs' retention cutoff)
// deleted. Nothing when the schema has no batches.
void RunBatchFinishStep(TxMode mode, CleanupCounts* counts);
void RunBatchDeleteStep(TxMode mode, CleanupCounts* counts, TimestampTz cutoff);

}  // namespace jk::worker
