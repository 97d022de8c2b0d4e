// The one way glue includes PostgreSQL's headers from C++.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
}
