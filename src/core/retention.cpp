// Retention decisions without a clock: every function takes the time it reasons about.
#include "core/retention.hpp"

#include <algorithm>
#include <limits>

namespace jk::core {

namespace {

Micros SaturatingSub(Micros a, Micros b) noexcept {
  const Micros lowest = std::numeric_limits<Micros>::min();
  return a < lowest + b ? lowest : a - b;  // b >= 0 here
}

}  // namespace

RetentionCutoffs ComputeCutoffs(Micros now, const RetentionSettings& s) noexcept {
  RetentionCutoffs c{};
  c.jobs_enabled = s.job_retention >= 0;
  c.job_cutoff = c.jobs_enabled ? SaturatingSub(now, s.job_retention) : 0;
  c.exports_enabled = s.export_retention >= 0;
  c.export_cutoff = c.exports_enabled ? SaturatingSub(now, s.export_retention) : 0;
  return c;
}

bool IsJobExpired(Status status, std::optional<Micros> finished_at,
                  const RetentionCutoffs& c) noexcept {
  return c.jobs_enabled && IsFinished(status) && finished_at && *finished_at <= c.job_cutoff;
}

bool IsExportExpired(Status status, std::optional<Micros> finished_at,
                     const RetentionCutoffs& c) noexcept {
  return c.exports_enabled && IsFinished(status) && finished_at &&
         *finished_at <= c.export_cutoff;
}

bool ExportKeepsJob(Status status, std::optional<Micros> finished_at,
                    const RetentionCutoffs& c) noexcept {
  return !IsExportExpired(status, finished_at, c);
}

int NextBatchSize(int current, bool timed_out, int configured) noexcept {
  const int ceiling = std::max(configured, 1);
  const int floor = std::min(kMinBatchSize, ceiling);
  const int next = timed_out ? current / 2 : (current > ceiling / 2 ? ceiling : current * 2);
  return std::clamp(next, floor, ceiling);
}

void ExportLookAhead::AfterBatch(std::int64_t locked, std::int64_t deleted,
                                 std::int64_t skipped) noexcept {
  const std::int64_t kept = locked - deleted - skipped;
  if (kept > 0 && kept * 10 > locked) looks_first_ = true;
}

Micros NextRunAt(Micros last_start, Micros interval, Micros now) noexcept {
  const Micros due = last_start > std::numeric_limits<Micros>::max() - interval
                         ? std::numeric_limits<Micros>::max()
                         : last_start + interval;
  return std::max(due, now);
}

}  // namespace jk::core
