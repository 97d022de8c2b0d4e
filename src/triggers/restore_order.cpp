// A parallel pg_restore (--jobs) loads jobs and export_jobs at the same time: pg_dump orders
// the data of extension tables that reference each other for a serial restore only (a TABLE
// DATA entry of the archive depends on its table alone). The exports' foreign key checks, at
// the end of their COPY, would not see jobs that a COPY still running (or not yet begun) is
// loading, and the restore would fail. So when the first row of a COPY into export_jobs has a
// job that is not visible, the COPY waits for the transactions writing jobs, and looks again,
// until the job shows or nothing has written jobs for kIdleWaitMs.
#include "triggers/restore_order.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/cmdtag.h"
#include "tcop/pquery.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/timestamp.h"
}

namespace jk::triggers {

namespace {

// How long a COPY waits for its first job once nothing is writing jobs any more. A COPY of
// exports whose job does not exist fails this much later, with the foreign key's error.
constexpr long kIdleWaitMs = 5000;
constexpr long kPollMs = 50;

// The COPY that last checked: its transaction and its portal (the lookup below advances the
// command counter, so the command id does not name the statement).
LocalTransactionId checked_lxid = InvalidLocalTransactionId;
TimestampTz checked_portal = 0;

// True when job_id is a visible row of jobs, with a snapshot taken now.
bool JobVisible(Oid jobs, Datum job_id) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  Oid types[1] = {UUIDOID};
  Datum values[1] = {job_id};
  // Qualified operator: the trigger runs with the writer's search_path.
  const char* sql = psprintf("SELECT 1 FROM %s WHERE id OPERATOR(pg_catalog.=) $1",
                             quote_qualified_identifier(get_namespace_name(get_rel_namespace(jobs)),
                                                        get_rel_name(jobs)));
  if (SPI_execute_with_args(sql, 1, types, values, nullptr, false, 1) != SPI_OK_SELECT) {
    elog(ERROR, "could not look up the job of an export");
  }
  const bool visible = SPI_processed == 1;
  SPI_finish();
  return visible;
}

}  // namespace

void WaitForJobLoadsIfCopy(Relation exports, Datum job_id) {
  if (ActivePortal == nullptr || ActivePortal->commandTag != CMDTAG_COPY) return;
  if (checked_lxid == MyProc->lxid && checked_portal == ActivePortal->creation_time) return;
  checked_lxid = MyProc->lxid;
  checked_portal = ActivePortal->creation_time;
  const Oid jobs = get_relname_relid("jobs", RelationGetNamespace(exports));
  if (!OidIsValid(jobs) || JobVisible(jobs, job_id)) return;
  LOCKTAG tag;
  SET_LOCKTAG_RELATION(tag, MyDatabaseId, jobs);
  TimestampTz idle_since = GetCurrentTimestamp();
  for (;;) {
    // A load of jobs under way commits (or fails) before we look again: writers hold
    // RowExclusiveLock, which ShareLock conflicts with. Nothing is taken or kept. (A prepared
    // transaction that wrote jobs is waited for too; lock_timeout bounds that.)
    if (GetLockConflicts(&tag, ShareLock, nullptr)->backendId != InvalidBackendId) {
      WaitForLockers(tag, ShareLock, false);
      idle_since = GetCurrentTimestamp();
    }
    if (JobVisible(jobs, job_id)) return;
    if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), kIdleWaitMs)) return;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kPollMs,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

}  // namespace jk::triggers
