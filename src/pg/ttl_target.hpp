// A TTL rule's target as the catalog describes it now, and what to say about its problems.
// Both add_ttl_rule() and the worker read targets here, and src/core/ttl.cpp decides.
#pragma once

#include "core/ttl.hpp"
#include "pg/postgres.hpp"

namespace jk::pg {

// A target's facts and the names its statements and messages use.
struct TtlTargetInfo {
  jk::core::TtlTarget facts;
  Oid table_owner;
  const char* table;      // the table, schema-qualified and quoted for SQL (or its OID)
  const char* column;     // the column, quoted for SQL
  const char* type_name;  // the column's type as SQL writes it, when it exists
  const char* owner;      // the rule's owner role, or its OID when that role is gone
};

// Reads the target tbl.column for a rule owned by `owner`, with SPI connected.
TtlTargetInfo ReadTtlTarget(Oid tbl, const char* column, Oid owner);

// What to say about a problem: SQLSTATE, message and hint (null when none).
struct TtlProblemText {
  int sqlstate;
  const char* message;
  const char* hint;
};
TtlProblemText DescribeTtlProblem(jk::core::TtlProblem problem, const TtlTargetInfo& target);

}  // namespace jk::pg
