// The records of cleanup and TTL runs (src/worker/cleanup_records.cpp).
#pragma once

#include <cstdint>

#include "worker/cleanup_pass.hpp"

namespace jk::worker {

// Appends a row to cleanup_runs (error may be null) and trims it to cleanup_history rows,
// in the current transaction. A TTL run's source (worker_ttl, run_ttl) records
// ttl_rows_deleted too, a column SQL version 1.0 does not have.
void RecordCleanupRun(const char* source, std::int64_t started_at, const CleanupCounts& counts,
                      const char* error);

// Reads how many deleted_files entries wait to be claimed and when the oldest was recorded
// (0 when none), in the current transaction.
void ReadWaitingFiles(std::int64_t* count, std::int64_t* oldest_at);

}  // namespace jk::worker
