// Defines the jobkeeper.* settings and holds their current values.
#include "pg/settings.hpp"

#include <climits>

#include "pg/postgres.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace jk::pg {

bool notify_enabled = true;
int job_retention_s = 12 * 3600;
int export_retention_s = 24 * 3600;
int deleted_files_retention_s = -1;
int cleanup_interval_s = 3600;
int cleanup_batch_size = 5000;
int cleanup_batch_timeout_ms = 5000;
int cleanup_history = 1000;
int lease_check_interval_s = 10;
char* worker_databases = nullptr;
int max_databases = 64;

void DefineSettings() {
  DefineCustomBoolVariable(
      "jobkeeper.notify",
      "Sends NOTIFY jobkeeper_jobs / jobkeeper_exports when work becomes pending or finishes.",
      "Turn off where nobody LISTENs: each notifying commit takes a cluster-wide lock.",
      &notify_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.job_retention", "How long finished jobs are kept before cleanup deletes them.",
      "-1 keeps them forever.", &job_retention_s, 12 * 3600, -1, INT_MAX, PGC_SUSET,
      GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.export_retention",
      "How long finished exports are kept; a job is kept while it has younger exports.",
      "-1 keeps them forever.", &export_retention_s, 24 * 3600, -1, INT_MAX, PGC_SUSET,
      GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.deleted_files_retention",
      "How long unclaimed entries of jobkeeper.deleted_files are kept.",
      "-1 (the default) keeps them until claim_deleted_files() takes them: a dropped path is "
      "a file orphaned on disk.", &deleted_files_retention_s, -1, -1, INT_MAX, PGC_SUSET,
      GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.cleanup_interval", "Time between the worker's retention cleanup runs.", nullptr,
      &cleanup_interval_s, 3600, 1, INT_MAX, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.cleanup_batch_size", "Rows deleted per cleanup transaction.",
      "The worker halves it for the next batch after a timeout and grows it back after.",
      &cleanup_batch_size, 5000, 1, 1000000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.cleanup_batch_timeout",
      "Statement and lock timeout of each batch the worker runs.", nullptr,
      &cleanup_batch_timeout_ms, 5000, 10, INT_MAX, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "jobkeeper.cleanup_history", "How many rows of jobkeeper.cleanup_runs are kept.", nullptr,
      &cleanup_history, 1000, 1, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "jobkeeper.lease_check_interval",
      "Time between the worker's checks for expired leases.", nullptr, &lease_check_interval_s,
      10, 1, INT_MAX, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "jobkeeper.databases", "Databases whose jobkeeper worker runs (comma-separated).",
      "Empty: every database where the extension is installed.", &worker_databases, "",
      PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  // A server-start setting can only be defined while shared_preload_libraries loads; without
  // preload there are no workers and nothing to size.
  if (!process_shared_preload_libraries_in_progress) return;
  DefineCustomIntVariable(
      "jobkeeper.max_databases", "How many databases the launcher serves at most.",
      "Each served database takes one slot of shared memory and one of max_worker_processes; "
      "a database beyond the cap is logged once and not served.",
      &max_databases, 64, 1, 10000, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
}

}  // namespace jk::pg
