// Saved plans under a pinned search path (see saved_plans.hpp).
#include "pg/saved_plans.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "nodes/parsenodes.h"
#include "optimizer/cost.h"
#include "utils/memutils.h"
}

namespace jk::pg {

namespace {

// pg_catalog alone: no user schema, and no temporary schema, so that nothing a caller creates
// can stand in for a table, function or operator that a statement names.
OverrideSearchPath* pinned = nullptr;

}  // namespace

void PinSearchPath() {
  if (pinned == nullptr) {
    auto* path = static_cast<OverrideSearchPath*>(
        MemoryContextAllocZero(TopMemoryContext, sizeof(OverrideSearchPath)));
    path->schemas = NIL;
    path->addCatalog = true;
    path->addTemp = false;
    pinned = path;
  }
  PushOverrideSearchPath(pinned);
}

void UnpinSearchPath() { PopOverrideSearchPath(); }

SPIPlanPtr SavedPlan(SPIPlanPtr* cache, const char* sql, int nargs, const Oid* types,
                     bool generic) {
  if (*cache != nullptr) return *cache;
  SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, const_cast<Oid*>(types),
                                       generic ? CURSOR_OPT_GENERIC_PLAN : 0);
  if (plan == nullptr) {
    elog(ERROR, "jobkeeper: preparing \"%s\" failed: %s", sql,
         SPI_result_code_string(SPI_result));
  }
  SPI_keepplan(plan);
  *cache = plan;
  return plan;
}

int ExecuteIndexed(SPIPlanPtr plan, Datum* values, const char* nulls, long limit) {
  const bool seqscan = enable_seqscan;
  enable_seqscan = false;  // directly, not through the GUC machinery (see jobs.cpp's claim)
  int rc;
  PG_TRY();
  { rc = SPI_execute_plan(plan, values, nulls, false, limit); }
  PG_FINALLY();
  { enable_seqscan = seqscan; }
  PG_END_TRY();
  if (rc < 0) elog(ERROR, "jobkeeper: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
  return rc;
}

}  // namespace jk::pg
