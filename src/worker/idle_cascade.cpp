// Deleting expired jobs without an idle cascade (see idle_cascade.hpp).
#include "worker/idle_cascade.hpp"

#include <cstring>
#include <iterator>

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

// jobkeeper's own triggers (src/sql/install/20_triggers.sql, 80_batches.sql). None of them
// acts on the DELETE of a job outside batches (the batch trigger's WHEN is false for it), nor
// on an export's or a path's row the change statement does not write.
constexpr const char* kOwnTriggers[] = {"jobkeeper_00_status", "jobkeeper_events"};
constexpr const char* kBatchTriggers[] = {"jobkeeper_batches_insert", "jobkeeper_batches_delete",
                                          "jobkeeper_batches_truncate"};

bool Named(const char* name, const char* const* names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(name, names[i]) == 0) return true;
  }
  return false;
}

// True when every trigger of rel is jobkeeper's own (its batch triggers only when batches_ok)
// or an internal one of the foreign key fk, and rel has no rule and no inheritance child.
// Locked until the batch ends, so that no trigger, rule or foreign key can be added to it
// before the change statement has run (CREATE TRIGGER waits for ROW EXCLUSIVE).
bool OnlyOwn(Oid relid, Oid schema, Oid fk, bool batches_ok) {
  Relation rel = table_open(relid, RowExclusiveLock);
  bool only_own = !rel->rd_rel->relhasrules && !rel->rd_rel->relhassubclass;
  const TriggerDesc* triggers = rel->trigdesc;
  for (int i = 0; only_own && triggers != nullptr && i < triggers->numtriggers; i++) {
    const Trigger& t = triggers->triggers[i];
    if (t.tgisinternal) {  // foreign keys' (and a few of PostgreSQL's own): only ours is known
      only_own = OidIsValid(fk) && t.tgconstraint == fk;
    } else {
      only_own = get_func_namespace(t.tgfoid) == schema &&
                 (Named(t.tgname, kOwnTriggers, std::size(kOwnTriggers)) ||
                  (batches_ok && Named(t.tgname, kBatchTriggers, std::size(kBatchTriggers))));
    }
  }
  table_close(rel, NoLock);
  return only_own;
}

}  // namespace

bool CascadeIsIdle(IdleCascade kind) {
  if (kind == IdleCascade::kNo) return false;
  const Oid schema = get_namespace_oid("jobkeeper", true);
  if (!OidIsValid(schema)) return false;
  const Oid jobs = get_relname_relid("jobs", schema);
  const Oid exports = get_relname_relid("export_jobs", schema);
  const Oid paths = get_relname_relid("deleted_file_batches", schema);
  if (!OidIsValid(jobs) || !OidIsValid(exports) || !OidIsValid(paths)) return false;
  const Oid fk = get_relation_constraint_oid(exports, "export_jobs_job_id_fkey", true);
  if (!OidIsValid(fk)) return false;
  // jobs: the DELETE's triggers. export_jobs: the cascade's DELETE would fire its statement
  // triggers and rules even for no row. deleted_file_batches: the paths' INSERT, which has no
  // trigger of ours (one there is the application's, and must fire).
  return OnlyOwn(jobs, schema, fk, kind == IdleCascade::kJobsOutsideBatches) &&
         OnlyOwn(exports, schema, fk, false) && OnlyOwn(paths, schema, InvalidOid, false);
}

void RunWithoutIdleCascade(void (*body)(void*), void* arg) {
  // Changing session_replication_role resets the session's plan cache (PostgreSQL replans).
  const int nest = NewGUCNestLevel();
  (void)set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
  body(arg);
  AtEOXact_GUC(true, nest);
}

}  // namespace jk::worker
