// Declares SQL-callable entry points: C linkage, exported, with their info record.
#pragma once

#include "pg/postgres.hpp"

// Defines the SQL-callable function `name`; everything else in the library stays hidden
// (-fvisibility=hidden), and PGDLLEXPORT is predefined to mark what is exported.
#define JK_FUNCTION(name)                               \
  extern "C" {                                          \
  PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);             \
  PG_FUNCTION_INFO_V1(name);                            \
  }                                                     \
  Datum name(PG_FUNCTION_ARGS)
