// Deleting expired jobs without the foreign key's ON DELETE CASCADE when it has nothing to do.
#pragma once

namespace jk::worker {

// Whether a kind of cleanup batch leaves the foreign key's cascade idle: kJobs, its change
// deletes only jobs it found without exports after their locks; kJobsOutsideBatches, and only
// jobs outside batches (the batch triggers, whose WHEN is then false for them, may be there).
enum class IdleCascade { kNo, kJobs, kJobsOutsideBatches };

// True when the kind leaves the cascade idle and jobkeeper.jobs and export_jobs have no
// trigger, rule, inheritance child or foreign key but jobkeeper's own and
// export_jobs_job_id_fkey, and deleted_file_batches none at all: then the only thing the change
// statement fires that can matter is that cascade. Checked for every batch, with the three
// tables locked until it ends: an application that adds a trigger, a rule or a foreign key
// referencing jobs turns the skip off from the next batch on.
bool CascadeIsIdle(IdleCascade kind);

// Runs body(arg), a change statement that deletes only jobs it has locked and found without
// any export (after the locks, so none can be added), with session_replication_role = replica:
// PostgreSQL then skips the cascade, which would run a query per job (about 13 µs) to find
// nothing. The setting is restored when body returns; an error restores it with the
// (sub)transaction's abort.
void RunWithoutIdleCascade(void (*body)(void*), void* arg);

}  // namespace jk::worker
