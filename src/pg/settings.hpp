// The jobkeeper.* settings (GUCs), defined once when the library loads.
#pragma once

namespace jk::pg {

// jobkeeper.notify: a NotifyMode (pg/events.hpp): off, on or direct.
extern int notify_mode;
// Retention, in seconds; -1 keeps rows forever (PGC_SUSET: per cluster, database or session).
extern int job_retention_s;
extern int export_retention_s;
extern int deleted_files_retention_s;
// Cleanup runs: how often, in batches of how many rows, each batch at most how long.
extern int cleanup_interval_s;
extern int cleanup_batch_size;
extern int cleanup_batch_timeout_ms;
// The worker's pause between two batches of a pass, in milliseconds (0: none).
extern int cleanup_batch_delay_ms;
extern int cleanup_history;
// How often the worker re-queues expired leases, in seconds.
extern int lease_check_interval_s;
// How often the worker runs the TTL rules, in seconds.
extern int ttl_interval_s;
// Databases the launcher serves (comma-separated names); empty means all.
extern char* worker_databases;
// How many databases the launcher serves at most (shared memory slots; server start only).
extern int max_databases;

// Defines every jobkeeper.* setting; called from _PG_init.
void DefineSettings();

}  // namespace jk::pg
