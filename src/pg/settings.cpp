// Defines the jobkeeper.* settings and holds their current values.
#include "pg/settings.hpp"

#include <climits>

#include "pg/postgres.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace jk::pg {

int notify_mode = 1;  // NotifyMode::kOn
int job_retention_s = 12 * 3600;
int export_retention_s = 24 * 3600;
int deleted_files_retention_s = -1;
int cleanup_interval_s = 3600;
int cleanup_batch_size = 5000;
int cleanup_batch_timeout_ms = 5000;
int cleanup_batch_delay_ms = 0;
int cleanup_history = 1000;
int lease_check_interval_s = 10;
int ttl_interval_s = 60;
char* worker_databases = nullptr;
int max_databases = 64;

namespace {

// on: through the database's worker when one runs, else at commit; direct: each transaction at
// its own commit (PostgreSQL's notify lock, held through the commit's WAL flush); off: none.
// The boolean spellings are accepted as on and off.
const config_enum_entry kNotifyModes[] = {
    {"on", 1, false},    {"off", 0, false},   {"direct", 2, false}, {"true", 1, true},
    {"false", 0, true},  {"yes", 1, true},    {"no", 0, true},      {"1", 1, true},
    {"0", 0, true},      {nullptr, 0, false}};

}  // namespace

void DefineSettings() {
  DefineCustomEnumVariable(
      "jobkeeper.notify",
      "Sends NOTIFY jobkeeper_jobs / jobkeeper_exports when work becomes pending or finishes.",
      "on: sent after commit by the database's jobkeeper worker, in batches (by the "
      "transaction itself where no worker runs); direct: by each transaction at its commit; "
      "off: not sent.",
      &notify_mode, 1, kNotifyModes, PGC_USERSET, 0, nullptr, nullptr, nullptr);
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
      "jobkeeper.ttl_interval", "Time between the worker's runs of the TTL rules.",
      "Each run deletes the expired rows of every table with a rule in jobkeeper.ttl_rules.",
      &ttl_interval_s, 60, 1, INT_MAX, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
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
      "jobkeeper.cleanup_batch_delay",
      "How long the worker pauses between two batches of a cleanup pass.",
      "Trades the cleanup's rate for the latency of the statements running beside it; 0 runs "
      "the batches back to back. run_cleanup() never pauses.",
      &cleanup_batch_delay_ms, 0, 0, 60000, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
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
