// Deleting expired jobs without an idle cascade (see idle_cascade.hpp).
#include "worker/idle_cascade.hpp"

#include <cstring>

#include "pg/postgres.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "commands/trigger.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace jk::worker {

namespace {

// jobkeeper's own triggers on jobs (src/sql/install/20_triggers.sql, 80_batches.sql). None of
// them acts on the DELETEs of jobs outside batches: the batch trigger's WHEN is false for them.
constexpr const char* kOwnTriggers[] = {"jobkeeper_00_status", "jobkeeper_events",
                                        "jobkeeper_batches_insert", "jobkeeper_batches_delete",
                                        "jobkeeper_batches_truncate"};

bool IsOwnTrigger(const Trigger& t, Oid schema) {
  if (get_func_namespace(t.tgfoid) != schema) return false;
  for (const char* name : kOwnTriggers) {
    if (strcmp(t.tgname, name) == 0) return true;
  }
  return false;
}

}  // namespace

bool JobsHaveOnlyOwnTriggers() {
  const Oid schema = get_namespace_oid("jobkeeper", true);
  const Oid jobs = OidIsValid(schema) ? get_relname_relid("jobs", schema) : InvalidOid;
  const Oid exports = OidIsValid(schema) ? get_relname_relid("export_jobs", schema) : InvalidOid;
  if (!OidIsValid(jobs) || !OidIsValid(exports)) return false;
  const Oid fk = get_relation_constraint_oid(exports, "export_jobs_job_id_fkey", true);
  if (!OidIsValid(fk)) return false;
  Relation rel = table_open(jobs, AccessShareLock);
  bool only_own = !rel->rd_rel->relhasrules;
  const TriggerDesc* triggers = rel->trigdesc;
  for (int i = 0; only_own && triggers != nullptr && i < triggers->numtriggers; i++) {
    const Trigger& t = triggers->triggers[i];
    // Internal triggers are foreign keys' (and a few of PostgreSQL's own): only ours is known.
    only_own = t.tgisinternal ? t.tgconstraint == fk : IsOwnTrigger(t, schema);
  }
  table_close(rel, AccessShareLock);
  // The change also records the paths in deleted_file_batches, which has no trigger of ours:
  // one there is the application's, and must fire.
  const Oid paths = get_relname_relid("deleted_file_batches", schema);
  if (only_own && OidIsValid(paths)) {
    rel = table_open(paths, AccessShareLock);
    only_own = !rel->rd_rel->relhasrules && rel->trigdesc == nullptr;
    table_close(rel, AccessShareLock);
  }
  return only_own && OidIsValid(paths);
}

void RunWithoutIdleCascade(void (*body)(void*), void* arg) {
  const int nest = NewGUCNestLevel();
  (void)set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
  body(arg);
  AtEOXact_GUC(true, nest);
}

}  // namespace jk::worker
