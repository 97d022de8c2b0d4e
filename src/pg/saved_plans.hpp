// Saved SPI plans for jobkeeper's C functions, made and run with only pg_catalog on the search
// path (SPEC section 7: functions that run SQL pin it). PostgreSQL analyses a saved plan again
// whenever the search path at execution differs from the one it was made under, so each call
// pins the path around its statements, which costs far less than a SET clause on the function
// (a GUC save and restore per call). Every statement names its tables with their schema and
// its operators with OPERATOR(pg_catalog.x) besides.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace jk::pg {

// Pins the search path to pg_catalog until UnpinSearchPath(); pairs must nest. An error
// between them needs no unpinning: the transaction's (or subtransaction's) abort does it.
void PinSearchPath();
void UnpinSearchPath();

// Returns the plan cached in *cache, preparing and keeping it on first use (with the search
// path pinned by the caller). generic: plan it once for every call, never for the values of
// one call (CURSOR_OPT_GENERIC_PLAN).
SPIPlanPtr SavedPlan(SPIPlanPtr* cache, const char* sql, int nargs, const Oid* types,
                     bool generic);

// Runs a saved plan (SPI_execute_plan, not read-only) with sequential scans ruled out while
// its generic plan may be made: a small table that its updates bloat (batch_counts holds a
// few rows and many dead versions of them) would otherwise be planned as a scan once and read
// whole on every call. Raises an error when SPI fails; returns SPI's code.
int ExecuteIndexed(SPIPlanPtr plan, Datum* values, const char* nulls, long limit);

}  // namespace jk::pg
