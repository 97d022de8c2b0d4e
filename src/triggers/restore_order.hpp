// Keeps a parallel pg_restore of export_jobs from racing the load of jobs.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace jk::triggers {

// When the current statement is a COPY into export_jobs (relation exports) and the job of its
// first row (job_id) is not visible yet, waits for the load of jobs, at most a few seconds
// after the last writer of jobs ended. Once per statement; an INSERT never waits.
void WaitForJobLoadsIfCopy(Relation exports, Datum job_id);

}  // namespace jk::triggers
