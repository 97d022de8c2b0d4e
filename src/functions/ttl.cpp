// jobkeeper.add_ttl_rule(), drop_ttl_rule() and run_ttl(): TTL rules for application tables
// (SPEC section 11). add and drop are SECURITY INVOKER: they check that the caller may own the
// table, then write ttl_rules with the rights of that table's owner (the extension's owner).
#include "core/ttl.hpp"
#include "pg/entry.hpp"
#include "pg/ttl_target.hpp"
#include "worker/cleanup_records.hpp"
#include "worker/ttl_pass.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

[[noreturn]] void Refuse(const jk::pg::TtlProblemText& text) {
  ereport(ERROR, (errcode(text.sqlstate), errmsg_internal("%s", text.message),
                  text.hint != nullptr ? errhint("%s", text.hint) : 0));
  pg_unreachable();
}

void RequireArgument(FunctionCallInfo fcinfo, int arg, const char* name) {
  if (PG_ARGISNULL(arg)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be null", name)));
  }
}

// Checks that the calling role may own table tbl (its owner, or a member with its privileges);
// returns the target as seen for a rule owned by `owner` (the caller when InvalidOid).
jk::pg::TtlTargetInfo RequireMayOwn(Oid tbl, const char* column, Oid owner) {
  const jk::pg::TtlTargetInfo caller = jk::pg::ReadTtlTarget(tbl, column, GetUserId());
  if (!caller.facts.table_exists) {
    Refuse(jk::pg::DescribeTtlProblem(jk::core::TtlProblem::kNoTable, caller));
  }
  if (!caller.facts.owner_may_own) {
    Refuse(jk::pg::DescribeTtlProblem(jk::core::TtlProblem::kNotOwner, caller));
  }
  return OidIsValid(owner) ? jk::pg::ReadTtlTarget(tbl, column, owner) : caller;
}

// True when now() - ttl is a timestamp, as the worker computes it for every pass. The
// subtraction is a pure function: its error can be caught without a subtransaction.
bool CutoffInRange(Interval* ttl) {
  MemoryContext caller = CurrentMemoryContext;
  volatile bool ok = true;
  PG_TRY();
  {
    (void)DirectFunctionCall2(timestamptz_mi_interval,
                              TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                              IntervalPGetDatum(ttl));
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    FlushErrorState();
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

Oid RelationOwner(Oid relid) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", relid);
  const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
  ReleaseSysCache(tuple);
  return owner;
}

// Runs sql with the rights of jobkeeper.ttl_rules's owner: the caller's own privileges on it
// do not matter once RequireMayOwn has passed.
int ExecuteAsRulesOwner(const char* sql, int nargs, Oid* types, Datum* values, const char* nulls) {
  const Oid rules = get_relname_relid("ttl_rules", get_namespace_oid("jobkeeper", false));
  Oid user;
  int context;
  GetUserIdAndSecContext(&user, &context);
  SetUserIdAndSecContext(RelationOwner(rules), context | SECURITY_LOCAL_USERID_CHANGE);
  const int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
  SetUserIdAndSecContext(user, context);
  return rc;
}

}  // namespace

// add_ttl_rule(tbl regclass, column_name name, ttl interval, batch_size integer) returns the
// rule (jobkeeper.ttl_rules): added, or changed when tbl.column_name already has one.
JK_FUNCTION(jobkeeper_add_ttl_rule) {
  RequireArgument(fcinfo, 0, "tbl");
  RequireArgument(fcinfo, 1, "column_name");
  RequireArgument(fcinfo, 2, "ttl");
  const Oid tbl = PG_GETARG_OID(0);
  const char* column = NameStr(*PG_GETARG_NAME(1));
  Interval* ttl = PG_GETARG_INTERVAL_P(2);
  Interval zero = {};
  if (DatumGetBool(DirectFunctionCall2(interval_lt, IntervalPGetDatum(ttl),
                                       IntervalPGetDatum(&zero)))) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ttl must not be negative, not %s",
                           DatumGetCString(DirectFunctionCall1(interval_out,
                                                               IntervalPGetDatum(ttl))))));
  }
  if (!CutoffInRange(ttl)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ttl %s is too long: now() - ttl is not a timestamp",
                           DatumGetCString(DirectFunctionCall1(interval_out,
                                                               IntervalPGetDatum(ttl))))));
  }
  const bool sized = !PG_ARGISNULL(3);
  if (sized && !jk::core::IsValidTtlBatchSize(PG_GETARG_INT32(3))) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("batch_size must be null or between 1 and %d, not %d",
                           jk::core::kMaxTtlBatchSize, PG_GETARG_INT32(3))));
  }

  SPI_connect();
  const Oid caller = GetUserId();
  jk::pg::TtlTargetInfo target = RequireMayOwn(tbl, column, InvalidOid);
  Oid owner = caller;
  if (jk::core::PickTtlOwner(superuser_arg(caller)) == jk::core::TtlOwner::kTableOwner) {
    owner = target.table_owner;
    target = jk::pg::ReadTtlTarget(tbl, column, owner);
  }
  const jk::core::TtlProblem problem = jk::core::CheckTtlTarget(target.facts);
  if (problem != jk::core::TtlProblem::kNone) {
    Refuse(jk::pg::DescribeTtlProblem(problem, target));
  }
  Oid types[5] = {OIDOID, NAMEOID, INTERVALOID, INT4OID, OIDOID};
  Datum values[5] = {ObjectIdGetDatum(tbl), PG_GETARG_DATUM(1), IntervalPGetDatum(ttl),
                     sized ? PG_GETARG_DATUM(3) : (Datum)0, ObjectIdGetDatum(owner)};
  const char nulls[5] = {' ', ' ', ' ', sized ? ' ' : 'n', ' '};
  if (ExecuteAsRulesOwner(
          "INSERT INTO jobkeeper.ttl_rules AS r (tbl, column_name, ttl, batch_size, owner)"
          " VALUES ($1::pg_catalog.regclass, $2, $3, $4, $5::pg_catalog.regrole)"
          " ON CONFLICT (tbl, column_name) DO UPDATE"
          "   SET ttl = EXCLUDED.ttl, batch_size = EXCLUDED.batch_size, owner = EXCLUDED.owner,"
          "       last_error = NULL"
          " RETURNING r.*",
          5, types, values, nulls) != SPI_OK_INSERT_RETURNING ||
      SPI_processed != 1) {
    elog(ERROR, "could not store the jobkeeper TTL rule");
  }
  const Datum rule =
      PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
  SPI_finish();
  PG_RETURN_DATUM(rule);
}

// drop_ttl_rule(tbl regclass, column_name name) drops the rule on tbl.column_name, or every
// rule of tbl when column_name is null, and returns how many; P0002 when there is none.
JK_FUNCTION(jobkeeper_drop_ttl_rule) {
  RequireArgument(fcinfo, 0, "tbl");
  const Oid tbl = PG_GETARG_OID(0);
  const bool one = !PG_ARGISNULL(1);
  const char* column = one ? NameStr(*PG_GETARG_NAME(1)) : "";
  SPI_connect();
  const jk::pg::TtlTargetInfo target = RequireMayOwn(tbl, column, InvalidOid);
  Oid types[2] = {OIDOID, NAMEOID};
  Datum values[2] = {ObjectIdGetDatum(tbl), one ? PG_GETARG_DATUM(1) : (Datum)0};
  const char nulls[2] = {' ', one ? ' ' : 'n'};
  if (ExecuteAsRulesOwner("DELETE FROM jobkeeper.ttl_rules r"
                          " WHERE r.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
                          "   AND ($2 IS NULL OR r.column_name OPERATOR(pg_catalog.=) $2)",
                          2, types, values, nulls) != SPI_OK_DELETE) {
    elog(ERROR, "could not drop the jobkeeper TTL rule");
  }
  const uint64 dropped = SPI_processed;
  if (dropped == 0) {  // while SPI is connected: the names live in its memory
    ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
                    one ? errmsg("table %s has no TTL rule on column %s", target.table,
                                 target.column)
                        : errmsg("table %s has no TTL rule", target.table)));
  }
  SPI_finish();
  PG_RETURN_INT32(static_cast<int32>(dropped));
}

// run_ttl() runs every rule now, in the caller's transaction, and returns one row per rule:
// (rule_id, tbl, column_name, rows_deleted, error). Recorded in ttl_rules and cleanup_runs.
JK_FUNCTION(jobkeeper_run_ttl) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  jk::worker::CleanupCounts counts = {};
  const TimestampTz started = GetCurrentTimestamp();
  jk::worker::TtlRuleResult* results = nullptr;
  int count = 0;
  jk::worker::RunTtlPass(jk::worker::TxMode::kCallerTransaction, &counts, nullptr, &results,
                         &count);
  if (counts.error[0] != '\0') {
    ereport(WARNING, (errmsg("jobkeeper.run_ttl(): %s", counts.error),
                      errdetail("The other rules ran; each rule's error is in its row of the "
                                "result and in jobkeeper.ttl_rules.")));
  }
  jk::worker::RecordCleanupRun("run_ttl", started, counts,
                               counts.error[0] != '\0' ? counts.error : nullptr);
  for (int i = 0; i < count; i++) {
    const jk::worker::TtlRuleResult& r = results[i];
    NameData column;
    namestrcpy(&column, r.column);
    Datum values[5] = {Int64GetDatum(r.rule_id), ObjectIdGetDatum(r.tbl), NameGetDatum(&column),
                       Int64GetDatum(r.rows_deleted), CStringGetTextDatum(r.error)};
    bool nulls[5] = {false, false, false, false, r.error[0] == '\0'};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  PG_RETURN_VOID();
}
