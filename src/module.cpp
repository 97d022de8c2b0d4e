// The module's identity: the magic block and _PG_init.
#include "pg/entry.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "utils/guc.h"
}

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

// Called when the library is loaded, by CREATE EXTENSION's first call or by preloading.
void _PG_init(void) {
  jk::pg::DefineSettings();
#if PG_VERSION_NUM >= 150000
  // Settings jobkeeper.* that the library does not define are typos: refuse them.
  MarkGUCPrefixReserved("jobkeeper");
#endif
}
