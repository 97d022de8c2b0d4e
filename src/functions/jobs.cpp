// The hot job functions in C++ over SPI with saved plans: submit_job, claim_jobs, complete_job
// (SPEC section 4). Their argument errors are the PL/pgSQL versions' word for word; the status
// rules stay in the trigger. SECURITY DEFINER without SET clauses: the search path is pinned
// around each call's statements (pg/saved_plans.hpp), and the claim's planner setting is held
// only while its plan may be made.
#include <cstring>

#include "core/hex.hpp"
#include "pg/entry.hpp"
#include "pg/guard.hpp"
#include "pg/saved_plans.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/tupconvert.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"
}

namespace {

[[noreturn]] void BadArgument(const char* message) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg_internal("%s", message)));
}

// A text argument as (pointer, bytes); nothing when it is null.
bool TextArg(FunctionCallInfo fcinfo, int n, const char** data, int* bytes) {
  if (PG_ARGISNULL(n)) return false;
  text* t = PG_GETARG_TEXT_PP(n);
  *data = VARDATA_ANY(t);
  *bytes = static_cast<int>(VARSIZE_ANY_EXHDR(t));
  return true;
}

int Characters(const char* data, int bytes) { return pg_mbstrlen_with_len(data, bytes); }

// The first 40 characters of a text, as PL/pgSQL's left(x, 40) gave them.
char* Left40(const char* data, int bytes) {
  return pnstrdup(data, pg_mbcharcliplen(data, bytes, 40));
}

// jsonb_typeof's answer for a jsonb value.
const char* JsonbTypeName(Jsonb* j) {
  if (JB_ROOT_IS_OBJECT(j)) return "object";
  if (JB_ROOT_IS_ARRAY(j) && !JB_ROOT_IS_SCALAR(j)) return "array";
  JsonbValue v;
  JsonbExtractScalar(&j->root, &v);
  switch (v.type) {
    case jbvNull: return "null";
    case jbvString: return "string";
    case jbvNumeric: return "number";
    case jbvBool: return "boolean";
    default: return "unknown";
  }
}

// Runs a saved plan; the caller is connected to SPI with the search path pinned.
int Execute(SPIPlanPtr plan, Datum* values, const char* nulls, long limit) {
  const int rc = SPI_execute_plan(plan, values, nulls, false, limit);
  if (rc < 0) elog(ERROR, "jobkeeper: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
  return rc;
}

// Calls jobkeeper.<function>(...) for its errors or effect (retry_job, _refuse).
void CallHelper(SPIPlanPtr* cache, const char* sql, int nargs, const Oid* types, Datum* values,
                const char* nulls) {
  Execute(jk::pg::SavedPlan(cache, sql, nargs, types, true), values, nulls, 0);
}

}  // namespace

// submit_job(file_name, file_path, file_hash, queue, priority, run_after, max_attempts,
// metadata) -> (id, status, deduplicated).
JK_FUNCTION(jobkeeper_submit_job) {
  // A malformed hash is refused first (22P02), as the PL/pgSQL version's DECLARE did.
  char hash[jk::core::kSha256HexLength + 1];
  const char* data;
  int bytes;
  const bool has_hash = TextArg(fcinfo, 2, &data, &bytes);
  if (has_hash) {
    const std::string_view view(data, static_cast<size_t>(bytes));
    jk::pg::Guard([&] { jk::core::NormalizeSha256Hex(view, hash); });
  }
  const char* name;
  int name_bytes;
  if (!TextArg(fcinfo, 0, &name, &name_bytes) || name_bytes == 0) {
    BadArgument("file_name must not be empty");
  }
  const char* file_name = pnstrdup(name, name_bytes);
  if (name_bytes > 255 && Characters(name, name_bytes) > 255) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("file_name \"%s...\" is %d characters long, more than 255",
                           Left40(name, name_bytes), Characters(name, name_bytes))));
  }
  if (!TextArg(fcinfo, 1, &data, &bytes) || bytes == 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("file_path of \"%s\" must not be empty", file_name)));
  }
  if (!TextArg(fcinfo, 3, &data, &bytes) || bytes == 0) BadArgument("queue must not be empty");
  if (bytes > 255 && Characters(data, bytes) > 255) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("queue \"%s...\" of \"%s\" is %d characters long, more than 255",
                           Left40(data, bytes), file_name, Characters(data, bytes))));
  }
  if (PG_ARGISNULL(4)) BadArgument("priority must not be null");
  if (PG_ARGISNULL(5)) BadArgument("run_after must not be null");
  if (PG_ARGISNULL(6) || PG_GETARG_INT32(6) < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("max_attempts must be at least 1, not %s",
                           PG_ARGISNULL(6) ? "null" : psprintf("%d", PG_GETARG_INT32(6)))));
  }
  if (PG_ARGISNULL(7) || !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(7))) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("metadata must be a JSON object, not %s",
                           PG_ARGISNULL(7) ? "null" : JsonbTypeName(PG_GETARG_JSONB_P(7)))));
  }
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "jobkeeper.submit_job() must return a record");
  }

  static SPIPlanPtr insert_plan = nullptr;
  static SPIPlanPtr insert_hash_plan = nullptr;
  static SPIPlanPtr dedup_plan = nullptr;
  static SPIPlanPtr retry_plan = nullptr;
  const Oid types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, INT4OID,
                        JSONBOID};
  Datum args[8];
  char nulls[8];
  for (int i = 0; i < 8; i++) {
    args[i] = PG_GETARG_DATUM(i);
    nulls[i] = ' ';
  }
  if (has_hash) args[2] = CStringGetTextDatum(hash);

  nulls[2] = has_hash ? ' ' : 'n';

  pg_uuid_t id;  // copied out of SPI's memory, which SPI_finish frees
  char status[16] = "";
  bool deduplicated = false;
  SPI_connect();
  jk::pg::PinSearchPath();
  auto take_row = [&] {
    bool isnull;
    const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    std::memcpy(&id, DatumGetUUIDP(d), sizeof id);
    strlcpy(status, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), sizeof status);
  };
  if (!has_hash) {
    SPIPlanPtr plan = jk::pg::SavedPlan(&insert_plan,
        "INSERT INTO jobkeeper.jobs (file_name, file_path, queue, priority, run_after, "
        "max_attempts, metadata) VALUES ($1, $2, $4, $5, $6, $7, $8) RETURNING id, status",
        8, types, true);
    Execute(plan, args, nulls, 0);
    take_row();
  } else {
    // Dedup: the unique index on file_hash decides. ON CONFLICT DO NOTHING waits for a
    // concurrent insert of the same hash to commit, then the UPDATE finds that row; if the row
    // vanished in between (retention), the loop inserts again. So a submit always returns
    // exactly one row and never fails with a unique violation.
    SPIPlanPtr insert = jk::pg::SavedPlan(&insert_hash_plan,
        "INSERT INTO jobkeeper.jobs (file_name, file_path, file_hash, queue, priority, "
        "run_after, max_attempts, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (file_hash) DO NOTHING RETURNING id, status",
        8, types, true);
    const Oid hash_type[1] = {TEXTOID};
    SPIPlanPtr dedup = jk::pg::SavedPlan(&dedup_plan,
        "UPDATE jobkeeper.jobs SET submit_count = submit_count OPERATOR(pg_catalog.+) 1 "
        "WHERE file_hash OPERATOR(pg_catalog.=) $1 RETURNING id, status",
        1, hash_type, true);
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      Execute(insert, args, nulls, 0);
      if (SPI_processed == 1) {
        take_row();
        break;
      }
      Execute(dedup, &args[2], nulls, 0);
      if (SPI_processed == 1) {
        take_row();
        deduplicated = true;
        // A failed or cancelled upload submitted again is worth another try.
        if (std::strcmp(status, "failed") == 0 || std::strcmp(status, "cancelled") == 0) {
          const Oid uuid_type[1] = {UUIDOID};
          Datum retry_args[1] = {UUIDPGetDatum(&id)};
          CallHelper(&retry_plan, "SELECT jobkeeper.retry_job($1)", 1, uuid_type, retry_args,
                     nulls);
          strlcpy(status, "pending", sizeof status);
        }
        break;
      }
    }
  }
  jk::pg::UnpinSearchPath();
  SPI_finish();

  Datum values[3] = {UUIDPGetDatum(&id), CStringGetTextDatum(status),
                     BoolGetDatum(deduplicated)};
  bool result_nulls[3] = {false, false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, result_nulls)));
}

namespace {

// claim_jobs(worker, max_jobs, queues, lease) -> SETOF jobkeeper.jobs. skip_held: the schema
// (1.1 and later) has paused batches, whose held jobs the claim indexes leave out.
Datum ClaimJobs(FunctionCallInfo fcinfo, bool skip_held) {
  const char* data;
  int bytes;
  if (!TextArg(fcinfo, 0, &data, &bytes) || bytes == 0) {
    BadArgument("worker name must not be empty");
  }
  if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("max_jobs must be at least 1, not %s",
                           PG_ARGISNULL(1) ? "null" : psprintf("%d", PG_GETARG_INT32(1)))));
  }
  const Interval zero = {};
  if (PG_ARGISNULL(3) ||
      DatumGetBool(DirectFunctionCall2(interval_le, PG_GETARG_DATUM(3),
                                       IntervalPGetDatum(&zero)))) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("lease must be positive, not %s",
                           PG_ARGISNULL(3) ? "null"
                                           : DatumGetCString(DirectFunctionCall1(
                                                 interval_out, PG_GETARG_DATUM(3))))));
  }
  // Which statement: all queues, one (an equality on the leading column of
  // jobs_claim_queue_idx), or several.
  int which = 0;
  Datum queue_arg = 0;
  if (!PG_ARGISNULL(2)) {
    ArrayType* queues = PG_GETARG_ARRAYTYPE_P(2);
    const int n = ArrayGetNItems(ARR_NDIM(queues), ARR_DIMS(queues));
    which = n == 1 ? 1 : 2;
    queue_arg = PointerGetDatum(queues);
    if (n == 1) {
      // queues[1], as the PL/pgSQL version compared it (a null element matches nothing).
      bool isnull;
      int index = ARR_LBOUND(queues)[0];
      queue_arg = array_get_element(PointerGetDatum(queues), 1, &index, -1, -1, false, 'i',
                                    &isnull);
      if (isnull) which = 3;  // nothing can match
    }
  }
  InitMaterializedSRF(fcinfo, 0);
  if (which == 3) return (Datum)0;
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  // Each statement is an ordered scan of a partial claim index. Locking and updating in one
  // statement matters: a SELECT ... FOR UPDATE followed by a separate UPDATE claims three
  // times slower. SKIP LOCKED hands a row to one claimer and lets the others pass. The UPDATE
  // finds the picked rows through the primary key: for one job, equal to a scalar subquery
  // (an index scan, nothing to sort); for several, "= ANY (ARRAY(...))", since a join to the
  // CTE would, under a generic plan, hash the whole table to update a few rows.
#define JK_PICK(filter, limit)                                                               \
  "SELECT p.id FROM jobkeeper.jobs p WHERE p.status OPERATOR(pg_catalog.=) 'pending' AND "   \
  "p.run_after OPERATOR(pg_catalog.<=) pg_catalog.now() " filter                             \
  " ORDER BY p.priority, p.run_after, p.created_at LIMIT " limit " FOR UPDATE SKIP LOCKED"
#define JK_SET                                                                               \
  "UPDATE jobkeeper.jobs j SET status = 'processing', attempts = j.attempts "                \
  "OPERATOR(pg_catalog.+) 1, locked_by = $1, lease_expires_at = pg_catalog.now() "           \
  "OPERATOR(pg_catalog.+) $4 "
#define JK_CLAIM_ONE(filter)                                                                 \
  JK_SET "WHERE j.id OPERATOR(pg_catalog.=) (" JK_PICK(filter, "1") ") RETURNING j.*"
#define JK_CLAIM(filter)                                                                     \
  "WITH picked AS (" JK_PICK(filter, "$2") "), claimed AS (" JK_SET                          \
  "WHERE j.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT picked.id FROM picked)) RETURNING "   \
  "j.*) SELECT * FROM claimed c ORDER BY c.priority, c.run_after, c.created_at"
#define JK_ONE_QUEUE "AND p.queue OPERATOR(pg_catalog.=) $3"
#define JK_QUEUES "AND p.queue OPERATOR(pg_catalog.=) ANY ($3)"
#define JK_UNHELD "AND p.held OPERATOR(pg_catalog.=) false "
  // [skip_held][one][which]
  static SPIPlanPtr plans[2][2][3] = {};
  static const char* const sql[2][2][3] = {
      {{JK_CLAIM(""), JK_CLAIM(JK_ONE_QUEUE), JK_CLAIM(JK_QUEUES)},
       {JK_CLAIM_ONE(""), JK_CLAIM_ONE(JK_ONE_QUEUE), JK_CLAIM_ONE(JK_QUEUES)}},
      {{JK_CLAIM(JK_UNHELD), JK_CLAIM(JK_UNHELD JK_ONE_QUEUE), JK_CLAIM(JK_UNHELD JK_QUEUES)},
       {JK_CLAIM_ONE(JK_UNHELD), JK_CLAIM_ONE(JK_UNHELD JK_ONE_QUEUE),
        JK_CLAIM_ONE(JK_UNHELD JK_QUEUES)}}};
#undef JK_UNHELD
#undef JK_PICK
#undef JK_SET
#undef JK_CLAIM_ONE
#undef JK_CLAIM
#undef JK_ONE_QUEUE
#undef JK_QUEUES
  const int one = PG_GETARG_INT32(1) == 1 ? 1 : 0;
  const Oid types[3][4] = {{TEXTOID, INT4OID, TEXTARRAYOID, INTERVALOID},
                           {TEXTOID, INT4OID, TEXTOID, INTERVALOID},
                           {TEXTOID, INT4OID, TEXTARRAYOID, INTERVALOID}};
  Datum args[4] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), queue_arg, PG_GETARG_DATUM(3)};
  const char nulls[4] = {' ', ' ', which == 0 ? 'n' : ' ', ' '};

  SPI_connect();
  jk::pg::PinSearchPath();
  SPIPlanPtr plan =
      jk::pg::SavedPlan(&plans[skip_held][one][which], sql[skip_held][one][which], 4,
                        types[which], true);
  // The generic plan is made once per session (and again after invalidations), perhaps while
  // the table is empty: sequential scans are ruled out while it may be made, so that it stays an
  // index scan however the table grows. enable_seqscan is set directly, not through the GUC
  // machinery, which would save and restore every setting per call; PG_FINALLY restores it.
  const bool seqscan = enable_seqscan;
  enable_seqscan = false;
  PG_TRY();
  { Execute(plan, args, nulls, 0); }
  PG_FINALLY();
  { enable_seqscan = seqscan; }
  PG_END_TRY();
  // The rows as jobkeeper.jobs' row type lays them out: after a downgrade and an update again,
  // it holds the dropped columns that RETURNING j.* leaves out.
  TupleConversionMap* map = SPI_processed > 0
      ? convert_tuples_by_name(SPI_tuptable->tupdesc, rsinfo->setDesc) : nullptr;
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    tuplestore_puttuple(rsinfo->setResult, map != nullptr ? execute_attr_map_tuple(row, map) : row);
  }
  jk::pg::UnpinSearchPath();
  SPI_finish();
  return (Datum)0;
}

}  // namespace

// The 1.0 schema's claim_jobs, and 1.1's, which leaves the held jobs of paused batches.
JK_FUNCTION(jobkeeper_claim_jobs) { return ClaimJobs(fcinfo, false); }
JK_FUNCTION(jobkeeper_claim_jobs_1_1) { return ClaimJobs(fcinfo, true); }

// complete_job(job_id, worker): a processing job to completed; with worker given, that worker
// must hold the lease.
JK_FUNCTION(jobkeeper_complete_job) {
  static SPIPlanPtr complete_plan = nullptr;
  static SPIPlanPtr refuse_plan = nullptr;
  const Oid types[2] = {UUIDOID, TEXTOID};
  Datum args[2] = {PG_GETARG_DATUM(0), PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1)};
  const char nulls[2] = {PG_ARGISNULL(0) ? 'n' : ' ', PG_ARGISNULL(1) ? 'n' : ' '};
  SPI_connect();
  jk::pg::PinSearchPath();
  Execute(jk::pg::SavedPlan(&complete_plan,
                            "UPDATE jobkeeper.jobs SET status = 'completed' WHERE id "
                            "OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) "
                            "'processing' AND ($2 IS NULL OR locked_by OPERATOR(pg_catalog.=) $2)",
                            2, types, true),
          args, nulls, 0);
  if (SPI_processed == 0) {
    const Oid refuse_types[2] = {UUIDOID, TEXTOID};
    CallHelper(&refuse_plan, "SELECT jobkeeper._refuse('job', $1, $2, 'complete')", 2,
               refuse_types, args, nulls);
  }
  jk::pg::UnpinSearchPath();
  SPI_finish();
  PG_RETURN_VOID();
}

// complete_jobs(job_ids, worker) -> integer: completes every listed job that is processing
// (under worker's lease when given) and returns how many; the others are left as they are.
JK_FUNCTION(jobkeeper_complete_jobs) {
  static SPIPlanPtr plan = nullptr;
  if (PG_ARGISNULL(0)) PG_RETURN_INT32(0);
  const Oid types[2] = {UUIDARRAYOID, TEXTOID};
  Datum args[2] = {PG_GETARG_DATUM(0), PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1)};
  const char nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};
  SPI_connect();
  jk::pg::PinSearchPath();
  Execute(jk::pg::SavedPlan(&plan,
                            "UPDATE jobkeeper.jobs SET status = 'completed' WHERE id "
                            "OPERATOR(pg_catalog.=) ANY ($1) AND status OPERATOR(pg_catalog.=) "
                            "'processing' AND ($2 IS NULL OR locked_by OPERATOR(pg_catalog.=) $2)",
                            2, types, true),
          args, nulls, 0);
  const uint64 completed = SPI_processed;
  jk::pg::UnpinSearchPath();
  SPI_finish();
  PG_RETURN_INT32(static_cast<int32>(completed));
}
