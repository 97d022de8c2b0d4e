// The retention rules of SPEC section 5: which finished rows may be deleted at a given time,
// how the cleanup batch size adapts, and when the next run is due. Time is a parameter.
#pragma once

#include <cstdint>
#include <optional>

#include "core/status.hpp"

namespace jk::core {

// Microseconds, PostgreSQL's TimestampTz unit; the epoch does not matter here.
using Micros = std::int64_t;

// A retention setting meaning "never delete".
inline constexpr Micros kKeepForever = -1;
// The smallest batch the cleanup shrinks to after timeouts.
inline constexpr int kMinBatchSize = 10;

struct RetentionSettings {
  Micros job_retention;     // how long a finished job is kept, or kKeepForever
  Micros export_retention;  // how long a finished export is kept, or kKeepForever
};

// A finished row is expired when its finished_at is at or before its cutoff.
struct RetentionCutoffs {
  bool jobs_enabled;
  Micros job_cutoff;
  bool exports_enabled;
  Micros export_cutoff;
};

// Returns the cutoffs at time now (now - retention, saturating at the smallest value).
RetentionCutoffs ComputeCutoffs(Micros now, const RetentionSettings& settings) noexcept;

// True when a job, considered alone, may go: finished, and finished at or before the cutoff.
bool IsJobExpired(Status status, std::optional<Micros> finished_at,
                  const RetentionCutoffs& cutoffs) noexcept;

// True when an export may go: finished, and finished at or before the export cutoff.
bool IsExportExpired(Status status, std::optional<Micros> finished_at,
                     const RetentionCutoffs& cutoffs) noexcept;

// True when an export keeps its job alive: it is pending or processing, or finished less
// than export_retention ago (or exports are kept forever).
bool ExportKeepsJob(Status status, std::optional<Micros> finished_at,
                    const RetentionCutoffs& cutoffs) noexcept;

// Returns the batch size for the next batch: half after a timeout (never below
// kMinBatchSize or above configured), double after a success, up to configured.
int NextBatchSize(int current, bool timed_out, int configured) noexcept;

// Whether a batch of expired jobs looks for their exports before it locks them. A job goes
// only once it has no export left, and the batch's delete always looks again after the
// locks, so this decides only what the locking costs: looking first keeps the jobs that still
// have exports from being locked; not looking saves that look for every job. The worker's
// steps start without it. Once a batch finds that its exports kept more than a tenth of the
// jobs it locked, the rest of the step looks first: those jobs stay at the front of the index,
// and every later batch would lock them again. run_cleanup() looks first from the start: its
// locks last until its caller's transaction ends, and a kept job locked that long would hold
// up whoever requests an export of it.
class ExportLookAhead {
 public:
  explicit ExportLookAhead(bool looks_first) noexcept : looks_first_(looks_first) {}
  bool LooksFirst() const noexcept { return looks_first_; }
  // After a batch: the jobs it locked, deleted, and skipped because their delete failed.
  void AfterBatch(std::int64_t locked, std::int64_t deleted, std::int64_t skipped) noexcept;

 private:
  bool looks_first_;
};

// Returns when the next run is due: interval after the last start, but not before now.
Micros NextRunAt(Micros last_start, Micros interval, Micros now) noexcept;

}  // namespace jk::core
