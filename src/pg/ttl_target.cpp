// Reading a TTL rule's target from the catalog (see ttl_target.hpp).
#include "pg/ttl_target.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/builtins.h"
}

namespace jk::pg {

namespace {

// One row of facts about table $1, its column $2 and the role $3 (a temporary table is named
// pg_temp.name: its schema's number is the session's). The index must be a valid
// btree whose first key is the column, without a predicate: the deletes take the oldest rows
// in the column's order. Members with the privileges of the table's owner (pg_has_role USAGE)
// may own it, as PostgreSQL's own ownership checks allow.
constexpr const char* kTargetSql =
    "SELECT c.oid IS NOT NULL, c.relkind = 'r', c.relkind = 'p', c.relpersistence = 't',"
    "       c.oid < 16384 OR n.nspname IN ('pg_catalog', 'information_schema', 'pg_toast'),"
    "       n.nspname = 'jobkeeper', a.attnum IS NOT NULL, a.atttypid,"
    "       EXISTS (SELECT FROM pg_catalog.pg_index i"
    "                 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
    "                 JOIN pg_catalog.pg_am am ON am.oid = ic.relam"
    "                WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum AND i.indisvalid"
    "                  AND i.indpred IS NULL AND am.amname = 'btree'),"
    "       r.oid IS NOT NULL,"
    "       CASE WHEN r.oid IS NOT NULL AND c.oid IS NOT NULL"
    "            THEN pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE') END,"
    "       coalesce(r.rolsuper, false), c.relowner,"
    "       coalesce(CASE WHEN c.relpersistence = 't' THEN 'pg_temp'"
    "                     ELSE pg_catalog.quote_ident(n.nspname) END"
    "                || '.' || pg_catalog.quote_ident(c.relname),"
    "                $1::pg_catalog.oid::pg_catalog.text),"
    "       pg_catalog.quote_ident($2), pg_catalog.format_type(a.atttypid, NULL),"
    "       coalesce(r.rolname::pg_catalog.text, $3::pg_catalog.oid::pg_catalog.text)"
    "  FROM (SELECT) one"
    "  LEFT JOIN pg_catalog.pg_class c ON c.oid = $1"
    "  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "  LEFT JOIN pg_catalog.pg_attribute a"
    "         ON a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped"
    "  LEFT JOIN pg_catalog.pg_roles r ON r.oid = $3";

bool Bool(int col) {
  bool isnull;
  const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
  return !isnull && DatumGetBool(d);
}

Oid ObjectId(int col) {
  bool isnull;
  const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
  return isnull ? InvalidOid : DatumGetObjectId(d);
}

jk::core::TtlColumnType ColumnType(Oid type) {
  switch (type) {
    case TIMESTAMPTZOID:
      return jk::core::TtlColumnType::kTimestamptz;
    case TIMESTAMPOID:
      return jk::core::TtlColumnType::kTimestamp;
    case DATEOID:
      return jk::core::TtlColumnType::kDate;
    default:
      return jk::core::TtlColumnType::kOther;
  }
}

}  // namespace

TtlTargetInfo ReadTtlTarget(Oid tbl, const char* column, Oid owner) {
  Oid types[3] = {OIDOID, NAMEOID, OIDOID};
  // A name Datum points at NAMEDATALEN bytes.
  Name name = static_cast<Name>(palloc0(NAMEDATALEN));
  namestrcpy(name, column);
  Datum values[3] = {ObjectIdGetDatum(tbl), NameGetDatum(name), ObjectIdGetDatum(owner)};
  if (SPI_execute_with_args(kTargetSql, 3, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "could not read the target of a jobkeeper TTL rule");
  }
  TtlTargetInfo t = {};
  t.facts.table_exists = Bool(1);
  t.facts.is_plain_table = Bool(2);
  t.facts.is_partitioned = Bool(3);
  t.facts.is_temporary = Bool(4);
  t.facts.is_system = Bool(5);
  t.facts.is_jobkeeper = Bool(6);
  t.facts.column_exists = Bool(7);
  t.facts.column_type = ColumnType(ObjectId(8));
  t.facts.has_leading_index = Bool(9);
  t.facts.owner_exists = Bool(10);
  t.facts.owner_may_own = Bool(11);
  t.facts.owner_is_superuser = Bool(12);
  t.table_owner = ObjectId(13);
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  // SPI_getvalue copies into the current (caller's) memory context.
  t.table = SPI_getvalue(row, desc, 14);
  t.column = SPI_getvalue(row, desc, 15);
  t.type_name = SPI_getvalue(row, desc, 16);
  t.owner = SPI_getvalue(row, desc, 17);
  SPI_freetuptable(SPI_tuptable);
  return t;
}

TtlProblemText DescribeTtlProblem(jk::core::TtlProblem problem, const TtlTargetInfo& t) {
  using jk::core::TtlProblem;
  switch (problem) {
    case TtlProblem::kNone:
      break;
    case TtlProblem::kNoTable:
      return {ERRCODE_UNDEFINED_TABLE, psprintf("table %s no longer exists", t.table), nullptr};
    case TtlProblem::kSystemCatalog:
      return {ERRCODE_INSUFFICIENT_PRIVILEGE,
              psprintf("a TTL rule cannot target system table %s", t.table), nullptr};
    case TtlProblem::kJobkeeperTable:
      return {ERRCODE_INSUFFICIENT_PRIVILEGE,
              psprintf("a TTL rule cannot target jobkeeper's own table %s", t.table),
              "jobkeeper.job_retention and jobkeeper.export_retention govern jobkeeper's tables."};
    case TtlProblem::kPartitioned:
      return {ERRCODE_WRONG_OBJECT_TYPE,
              psprintf("%s is a partitioned table; a TTL rule needs a plain table", t.table),
              "Add a rule to each partition, or drop old partitions whole."};
    case TtlProblem::kNotATable:
      return {ERRCODE_WRONG_OBJECT_TYPE,
              psprintf("%s is not a table; a TTL rule needs a plain table", t.table), nullptr};
    case TtlProblem::kTemporary:
      return {ERRCODE_WRONG_OBJECT_TYPE,
              psprintf("%s is a temporary table; a TTL rule needs a permanent one", t.table),
              "The worker cannot see another session's temporary tables."};
    case TtlProblem::kNoColumn:
      return {ERRCODE_UNDEFINED_COLUMN,
              psprintf("column %s of table %s does not exist", t.column, t.table), nullptr};
    case TtlProblem::kColumnType:
      return {ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
              psprintf("column %s of table %s is %s, not timestamptz, timestamp or date",
                       t.column, t.table, t.type_name),
              "A TTL rule deletes rows by a timestamptz, timestamp or date column."};
    case TtlProblem::kNoIndex:
      return {ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
              psprintf("no index of table %s leads with column %s", t.table, t.column),
              psprintf("CREATE INDEX ON %s (%s);", t.table, t.column)};
    case TtlProblem::kOwnerMissing:
      return {ERRCODE_UNDEFINED_OBJECT,
              psprintf("the owner of the TTL rule on %s, role %s, no longer exists", t.table,
                       t.owner),
              "Drop the rule and add it again as the table's owner."};
    case TtlProblem::kNotOwner:
      return {ERRCODE_INSUFFICIENT_PRIVILEGE,
              psprintf("role %s is not the owner of table %s", t.owner, t.table),
              "Only the table's owner, or a member of the owning role, may add or drop its "
              "TTL rule, and the rule's deletes run with that role's rights."};
    case TtlProblem::kOwnerSuperuser:
      return {ERRCODE_INSUFFICIENT_PRIVILEGE,
              psprintf("the TTL rule on %s would delete as superuser %s", t.table, t.owner),
              "A TTL rule's deletes never run as a superuser: give the table to an ordinary "
              "role (ALTER TABLE ... OWNER TO) and add the rule as that role or as a "
              "superuser."};
  }
  return {0, nullptr, nullptr};
}

}  // namespace jk::pg
