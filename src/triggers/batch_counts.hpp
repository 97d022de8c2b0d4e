// Keeps a batch's roll-up (batch_counts) and its list of jobs (batch_jobs) as its jobs change
// (SPEC section 10; 80_batches.sql). Called by the status trigger for an UPDATE of a job in a
// batch and by batch_trigger() for an INSERT or DELETE of one; the deltas are core/batches'.
#pragma once

#include "core/status.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "utils/rel.h"
#include "utils/uuid.h"
}

namespace jk::triggers {

// One side of a job's change: the row before or after it.
struct BatchSide {
  bool present = false;    // false: no row (before an INSERT, after a DELETE)
  Datum batch_ids = 0;     // its uuid[]; 0 when null
  jk::core::Status status = jk::core::Status::kPending;
  int progress = 0;
  Datum finished_at = 0;   // 0 when null
};

// Applies the change of job `job_id` from `before` to `after` to the batches it was or is in:
// their job lists at once; their counts (in this backend's stripe) and the finished stamp of a
// batch it reopens just before the transaction commits, summed over all the transaction's
// changes, so that a bulk change of a batch's jobs writes its counter row once; a hint to the
// worker for a batch it may have finished. Runs its statements with the rights of the owner of
// `jobs`, as PostgreSQL runs a foreign key's.
void CountBatchChange(Relation jobs, Datum job_id, const BatchSide& before,
                      const BatchSide& after);

// For run_cleanup(): drops the waiting counts of batches it has just deleted (their rows went
// with them; written at commit they would come back), or all of them (a TRUNCATE of jobs).
void ForgetBatchCounts(const pg_uuid_t* batches, int n);
void ForgetAllBatchCounts();

// True when this transaction has changed batch `batch`'s counts and not yet written them:
// run_cleanup() then leaves it unannounced (its counts as this transaction reads them are not
// those it will commit).
bool HasWaitingBatchCounts(const pg_uuid_t* batch);

// Registers the transaction callbacks that write the counts before a commit (or PREPARE) and
// drop them with an aborted (sub)transaction; from _PG_init.
void RegisterBatchCallbacks();

}  // namespace jk::triggers
