// The statements of a cleanup pass. Each kind of batch is two statements: one locks up to a
// batch of rows with SKIP LOCKED and returns their ctids and ids, the other changes the locked
// rows, found by ctid (a TID scan). Joining the change to the locking query instead lets the
// planner hash the whole table for every batch, which made a cleanup quadratic. Locked rows
// cannot change under us, so their ctids stay valid until the change; and the change can be
// redone one row at a time when the batch fails, so that one bad row is skipped alone. A kind
// whose change needs no second look may also fuse the two (fused_sql): its change finds the
// rows by "ctid = ANY (ARRAY(SELECT ...))", an array computed once before the change runs, so
// the change stays a TID scan ("IN (SELECT ...)" would be the join again).
#pragma once

#include "worker/idle_cascade.hpp"

namespace jk::worker {

// One kind of batch.
struct BatchKind {
  const char* activity;  // what pg_stat_activity shows while it runs
  const char* row_kind;  // "job" or "export", for messages
  // ($1 timestamptz cutoff, $2 integer limit, $3 tid[] rows to skip) -> (tid[] locked rows,
  // uuid[] their ids for messages or null, bigint how many)
  const char* lock_sql;
  // ($1 tid[] locked rows) -> (bigint, bigint): the two counts the kind reports
  const char* change_sql;
  // The role whose rights the statements run with (a TTL rule's owner); 0: the caller's.
  unsigned int run_as = 0;
  // Rows per batch at most; 0: jobkeeper.cleanup_batch_size.
  int batch_size = 0;
  // A keyset kind's lock statement also takes ($4 text) the key its previous batch ended at
  // (null for the first) and returns its own last key as a fourth column: each batch then
  // starts there instead of walking again the index entries that the batches before it left
  // dead. Rows before the key that a batch skipped (held by someone) wait for the next pass.
  bool keyset = false;
  // A kind that can sweep (a TTL rule's): a DELETE ($1 timestamptz cutoff, $2 tid from, $3 tid
  // to) of the expired rows of a range of pages that no one holds. Null for the others.
  const char* sweep_sql = nullptr;
  // ($1 cutoff, $2 from, $3 to) -> (bigint): the expired rows of those pages left after it.
  const char* sweep_left_sql = nullptr;
  // Whether the change deletes only jobs it found without exports after their locks, so that
  // the foreign key's cascade has nothing to do and may be skipped (idle_cascade.hpp).
  IdleCascade cascade = IdleCascade::kNo;
  // Expired jobs: lock_sql without its look at the jobs' exports, for the batches that
  // jk::core::ExportLookAhead lets go without it (the change looks again). Null for the others.
  const char* quick_lock_sql = nullptr;
  // A kind whose change needs no second look after the locks (exports): one statement ($1
  // cutoff, $2 limit, $3 tid[] rows to skip) -> (bigint locked, and the change's two counts)
  // that locks a batch and changes it, used unless the batch is redone one row at a time.
  // Rows that someone changed between the statement's snapshot and its lock are locked but left
  // alone (their new version is not in the snapshot); a later batch or pass takes them.
  const char* fused_sql = nullptr;
};

// Expired leases: processing rows whose lease ended go back to pending, or to failed once
// their attempts are used up; a job's expiry is appended to its errors. Returns (requeued,
// failed). The cutoff is unused: a lease ends at now().
inline constexpr BatchKind kJobLeases = {
    "jobkeeper: re-queuing expired job leases", "job",
    "SELECT array_agg(v.tid), array_agg(v.id), count(*) FROM ("
    "  SELECT j.ctid AS tid, j.id FROM jobkeeper.jobs j"
    "   WHERE j.status = 'processing' AND j.lease_expires_at < now() AND j.ctid <> ALL ($3)"
    "   ORDER BY j.lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) v",
    "WITH done AS (UPDATE jobkeeper.jobs j"
    "   SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,"
    "       error_message = 'lease expired',"
    "       errors = j.errors || jsonb_build_array(jsonb_build_object("
    "                  'attempt', j.attempts, 'at', now(), 'error', 'lease expired')),"
    "       run_after = now()"
    " WHERE j.ctid = ANY ($1) RETURNING j.status)"
    " SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed')"
    "   FROM done"};

inline constexpr BatchKind kExportLeases = {
    "jobkeeper: re-queuing expired export leases", "export",
    "SELECT array_agg(v.tid), array_agg(v.id), count(*) FROM ("
    "  SELECT e.ctid AS tid, e.id FROM jobkeeper.export_jobs e"
    "   WHERE e.status = 'processing' AND e.lease_expires_at < now() AND e.ctid <> ALL ($3)"
    "   ORDER BY e.lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) v",
    "WITH done AS (UPDATE jobkeeper.export_jobs e"
    "   SET status = CASE WHEN e.attempts >= e.max_attempts THEN 'failed' ELSE 'pending' END,"
    "       error_message = 'lease expired'"
    " WHERE e.ctid = ANY ($1) RETURNING e.status)"
    " SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed')"
    "   FROM done"};

// The deleted rows' paths go to deleted_file_batches, up to 1000 to a row.
#define JK_RECORD_PATHS(kind, source)                                                    \
  "INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths)"               \
  " SELECT '" kind "', array_agg(g.id), array_agg(g.file_path)"                          \
  "   FROM (SELECT s.id, s.file_path, (row_number() OVER () - 1) / 1000 AS chunk"        \
  "           FROM " source " s WHERE s.file_path IS NOT NULL) g GROUP BY g.chunk"

// Finished exports older than the cutoff. Returns (deleted, 0).
#define JK_LOCK_EXPIRED_EXPORTS(columns)                                                  \
  "SELECT " columns " FROM jobkeeper.export_jobs e"                                       \
  " WHERE e.finished_at <= $1 AND e.status IN ('completed', 'failed', 'cancelled')"       \
  "   AND e.ctid <> ALL ($3)"                                                             \
  " ORDER BY e.finished_at LIMIT $2 FOR UPDATE SKIP LOCKED"
#define JK_DELETE_EXPORTS(tids)                                                           \
  "gone AS (DELETE FROM jobkeeper.export_jobs e WHERE e.ctid = ANY (" tids ")"            \
  "    RETURNING e.id, e.file_path),"                                                     \
  " files AS (" JK_RECORD_PATHS("export", "gone") ")"
inline constexpr BatchKind kExpiredExports = {
    "jobkeeper: deleting expired exports", "export",
    "SELECT array_agg(v.tid), array_agg(v.id), count(*) FROM ("
    JK_LOCK_EXPIRED_EXPORTS("e.ctid AS tid, e.id") ") v",
    "WITH " JK_DELETE_EXPORTS("$1") " SELECT count(*), 0::bigint FROM gone",
    /*run_as=*/0, /*batch_size=*/0, /*keyset=*/false, /*sweep_sql=*/nullptr,
    /*sweep_left_sql=*/nullptr, /*cascade=*/IdleCascade::kNo, /*quick_lock_sql=*/nullptr,
    /*fused_sql=*/
    "WITH locked AS (" JK_LOCK_EXPIRED_EXPORTS("e.ctid AS tid") "), "
    JK_DELETE_EXPORTS("ARRAY(SELECT locked.tid FROM locked)")
    " SELECT (SELECT count(*) FROM locked), count(*), 0::bigint FROM gone"};
// The fused statement takes no resume key and runs with the cascade as it is.
static_assert(!kExpiredExports.keyset && kExpiredExports.cascade == IdleCascade::kNo);
#undef JK_LOCK_EXPIRED_EXPORTS
#undef JK_DELETE_EXPORTS

// Jobs finished at or before the cutoff that have no export left: the export step ran first
// and took the expired ones; any other export keeps its job. The "OFFSET 0" keeps each NOT
// EXISTS a per-row index probe rather than a hash anti-join over every export. The change,
// with a snapshot taken after the locks, deletes the locked jobs that still have no export:
// an export committed between the lock statement's snapshot and its lock shows up there and
// keeps its job, and none can be added once the job is locked (the foreign key check needs a
// lock that conflicts with ours). So the ON DELETE CASCADE finds nothing to delete whose path
// would go unrecorded, and never takes an active export. That second look is what keeps the
// exports safe; the lock statement's own look only spares the locks of the jobs kept, and
// the quick lock statement leaves it out (jk::core::ExportLookAhead). Returns (deleted, 0).
#define JK_LOCK_EXPIRED_JOBS(extra, look)                                                  \
  "SELECT array_agg(v.tid), array_agg(v.id), count(*) FROM ("                              \
  "  SELECT j.ctid AS tid, j.id FROM jobkeeper.jobs j"                                     \
  "   WHERE j.finished_at <= $1 AND j.status IN ('completed', 'failed', 'cancelled')"      \
  "     AND j.ctid <> ALL ($3)" extra look                                                 \
  "   ORDER BY j.finished_at LIMIT $2 FOR UPDATE SKIP LOCKED) v"
#define JK_NO_EXPORT \
  "     AND NOT EXISTS (SELECT FROM jobkeeper.export_jobs e WHERE e.job_id = j.id OFFSET 0)"
#define JK_EXPIRED_JOBS(name, extra, idle)                                                 \
  inline constexpr BatchKind name = {                                                      \
      "jobkeeper: deleting expired jobs", "job",                                           \
      JK_LOCK_EXPIRED_JOBS(extra, JK_NO_EXPORT),                                           \
      JK_DELETE_LOCKED_JOBS, /*run_as=*/0, /*batch_size=*/0, /*keyset=*/false,            \
      /*sweep_sql=*/nullptr, /*sweep_left_sql=*/nullptr, /*cascade=*/idle,                 \
      /*quick_lock_sql=*/JK_LOCK_EXPIRED_JOBS(extra, "")}
#define JK_DELETE_LOCKED_JOBS                                                               \
  "WITH gone AS (DELETE FROM jobkeeper.jobs j WHERE j.ctid = ANY ($1)" JK_NO_EXPORT         \
  "    RETURNING j.id, j.file_path),"                                                       \
  " files AS (" JK_RECORD_PATHS("job", "gone") ")"                                          \
  " SELECT count(*), 0::bigint FROM gone"
JK_EXPIRED_JOBS(kExpiredJobs, "", IdleCascade::kJobs);
// With batches (1.1), jobs outside batches, through jobs_finished_idx, which holds only them.
JK_EXPIRED_JOBS(kExpiredLooseJobs, "     AND j.batch_ids IS NULL",
                IdleCascade::kJobsOutsideBatches);
#undef JK_EXPIRED_JOBS
#undef JK_LOCK_EXPIRED_JOBS

// And the jobs of batches that are done (SPEC section 10): announced as finished at or before
// the cutoff and still finished (nothing pending or processing since). They are found through
// batch_jobs, so the finished jobs of a batch still open are never read; a job goes once every
// batch it is in is done, so that a batch's jobs go together. The done batches are found once
// per statement.
#define JK_DONE_BATCHES                                                                     \
  "(SELECT pg_catalog.array_agg(b.id) FROM jobkeeper.batches b"                             \
  "   WHERE b.finished_at OPERATOR(pg_catalog.<=) $1"                                        \
  "     AND (SELECT pg_catalog.sum(c.pending) OPERATOR(pg_catalog.=) 0"                      \
  "             AND pg_catalog.sum(c.processing) OPERATOR(pg_catalog.=) 0"                   \
  "            FROM jobkeeper.batch_counts c WHERE c.batch_id OPERATOR(pg_catalog.=) b.id))"
inline constexpr BatchKind kExpiredBatchJobs = {
    "jobkeeper: deleting the jobs of finished batches", "job",
    "SELECT array_agg(v.tid), array_agg(v.id), count(*) FROM ("
    "  SELECT j.ctid AS tid, j.id FROM jobkeeper.batch_jobs bj"
    "    JOIN jobkeeper.jobs j ON j.id OPERATOR(pg_catalog.=) bj.job_id"
    "   WHERE bj.batch_id OPERATOR(pg_catalog.=) ANY (" JK_DONE_BATCHES "::pg_catalog.uuid[])"
    "     AND j.finished_at OPERATOR(pg_catalog.<=) $1"
    "     AND j.status IN ('completed', 'failed', 'cancelled')"
    "     AND j.ctid OPERATOR(pg_catalog.<>) ALL ($3)"
    "     AND j.batch_ids OPERATOR(pg_catalog.<@) " JK_DONE_BATCHES
    "     AND NOT EXISTS (SELECT FROM jobkeeper.export_jobs e"
    "                      WHERE e.job_id OPERATOR(pg_catalog.=) j.id OFFSET 0)"
    "   LIMIT $2 FOR UPDATE OF j SKIP LOCKED) v",
    JK_DELETE_LOCKED_JOBS};
#undef JK_DONE_BATCHES
#undef JK_DELETE_LOCKED_JOBS
#undef JK_NO_EXPORT
#undef JK_EXPIRED_JOBS
#undef JK_RECORD_PATHS

// Unclaimed path batches recorded at or before the cutoff (only when
// jobkeeper.deleted_files_retention is set). They have no uuid: a failing one is named by ctid.
inline constexpr BatchKind kOldDeletedFiles = {
    "jobkeeper: dropping old deleted_files entries", "deleted_files batch",
    "SELECT array_agg(v.tid), NULL::uuid[], count(*) FROM ("
    "  SELECT d.ctid AS tid FROM jobkeeper.deleted_file_batches d WHERE d.deleted_at <= $1"
    "     AND d.ctid <> ALL ($3)"
    "   ORDER BY d.id LIMIT $2 FOR UPDATE SKIP LOCKED) v",
    "WITH gone AS (DELETE FROM jobkeeper.deleted_file_batches d WHERE d.ctid = ANY ($1)"
    "    RETURNING 1)"
    " SELECT count(*), 0::bigint FROM gone"};

// True when a restore is loading this database ($1): another session is connected whose
// application_name is pg_restore (libpq's default for it), or is running a COPY ... FROM into
// one of jobkeeper's tables, which is how a restore loads them whatever its application_name
// (an idle session whose last statement was one does not count). The worker then changes nothing: a job restored
// before its exports would look as if it had none and be deleted (and the exports' COPY fail),
// and a row it added to cleanup_runs or deleted_file_batches would take an id that the
// restore's COPY of that table brings again.
inline constexpr const char* kRestoreConnectedSql =
    "SELECT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a"
    "  WHERE a.datid = $1 AND a.pid <> pg_catalog.pg_backend_pid()"
    "    AND (a.application_name = 'pg_restore'"
    "         OR (a.state <> 'idle' AND a.query ILIKE 'COPY jobkeeper.% FROM %')))";

}  // namespace jk::worker
