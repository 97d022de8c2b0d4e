// The records of cleanup and TTL runs: cleanup_runs, and the deleted_files entries waiting.
#include "worker/cleanup_records.hpp"

#include <cstring>

#include "pg/postgres.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

void RecordCleanupRun(const char* source, int64 started_at, const CleanupCounts& c,
                      const char* error) {
  SPI_connect();
  const bool ttl = strcmp(source, "run_ttl") == 0 || strcmp(source, "worker_ttl") == 0;
  Oid types[10] = {TEXTOID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID,
                   INT8OID, INT8OID,        TEXTOID, INT4OID, INT8OID};
  Datum values[10] = {CStringGetTextDatum(source), TimestampTzGetDatum(started_at),
                      Int64GetDatum(c.jobs_deleted), Int64GetDatum(c.exports_deleted),
                      Int64GetDatum(c.leases_requeued), Int64GetDatum(c.leases_failed),
                      Int64GetDatum(c.rows_skipped),
                      error != nullptr ? CStringGetTextDatum(error) : (Datum)0,
                      Int32GetDatum(jk::pg::cleanup_history), Int64GetDatum(c.ttl_rows_deleted)};
  const char nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', error != nullptr ? ' ' : 'n', ' ', ' '};
  if (SPI_execute_with_args(
          ttl ? "INSERT INTO jobkeeper.cleanup_runs (source, started_at, finished_at,"
                " jobs_deleted, exports_deleted, leases_requeued, leases_failed, rows_skipped,"
                " error, ttl_rows_deleted)"
                " VALUES ($1, $2, pg_catalog.clock_timestamp(), $3, $4, $5, $6, $7, $8, $10)"
              : "INSERT INTO jobkeeper.cleanup_runs (source, started_at, finished_at,"
                " jobs_deleted, exports_deleted, leases_requeued, leases_failed, rows_skipped,"
                " error)"
                " VALUES ($1, $2, pg_catalog.clock_timestamp(), $3, $4, $5, $6, $7, $8)",
          ttl ? 10 : 8, types, values, nulls, false, 0) != SPI_OK_INSERT) {
    elog(ERROR, "could not record the jobkeeper cleanup run");
  }
  // The retention runs and the TTL runs each keep their newest cleanup_history rows: TTL runs
  // every minute by default, and must not push the retention runs out.
  Oid trim_types[2] = {INT4OID, BOOLOID};
  Datum trim_values[2] = {Int32GetDatum(jk::pg::cleanup_history), BoolGetDatum(ttl)};
  if (SPI_execute_with_args(
          "DELETE FROM jobkeeper.cleanup_runs r"
          " WHERE (r.source OPERATOR(pg_catalog.=) ANY ('{worker_ttl,run_ttl}')) OPERATOR(pg_catalog.=) $2"
          "   AND r.id OPERATOR(pg_catalog.<) (SELECT pg_catalog.min(k.id) FROM ("
          "     SELECT x.id FROM jobkeeper.cleanup_runs x"
          "      WHERE (x.source OPERATOR(pg_catalog.=) ANY ('{worker_ttl,run_ttl}')) OPERATOR(pg_catalog.=) $2"
          "      ORDER BY x.id DESC LIMIT $1) k)",
          2, trim_types, trim_values, nullptr, false, 0) != SPI_OK_DELETE) {
    elog(ERROR, "could not trim jobkeeper.cleanup_runs");
  }
  SPI_finish();
}

void ReadWaitingFiles(int64* count, int64* oldest_at) {
  SPI_connect();
  if (SPI_execute("SELECT coalesce(sum(cardinality(b.file_paths) - b.claimed), 0)::bigint,"
                  "       min(b.deleted_at) FROM jobkeeper.deleted_file_batches b",
                  true, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "could not count the waiting jobkeeper deleted_files entries");
  }
  bool isnull;
  const Datum n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  *count = isnull ? 0 : DatumGetInt64(n);
  const Datum oldest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
  *oldest_at = isnull ? 0 : DatumGetTimestampTz(oldest);
  SPI_finish();
}

}  // namespace jk::worker
