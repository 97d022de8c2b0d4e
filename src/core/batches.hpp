// Batches (SPEC section 10): how one job's change moves the roll-up counts of a batch it is in.
// A batch's counts are kept per status (and the sum of its jobs' progress); each change of a
// job adds its delta to the batches it was or is in. Which batches: the job's batch list
// before and after (a job joins or leaves a batch by a change of that list).
#pragma once

#include <cstdint>
#include <optional>

#include "core/status.hpp"

namespace jk::core {

// A job as a batch counts it.
struct BatchedJob {
  Status status;
  int progress;
};

// What one batch's counts change by.
struct BatchDelta {
  int pending = 0, processing = 0, completed = 0, failed = 0, cancelled = 0;
  std::int64_t progress = 0;
  // The batch may have just finished (its last unfinished job finished or left, or it gained
  // a finished job): the database worker checks it and announces it once.
  bool may_finish = false;

  bool IsEmpty() const noexcept {
    return pending == 0 && processing == 0 && completed == 0 && failed == 0 && cancelled == 0 &&
           progress == 0 && !may_finish;
  }
};

// The delta of a batch for a job that was `before` in it (nothing: was not in it) and is
// `after` in it (nothing: has left it, or was deleted).
BatchDelta DeltaFor(std::optional<BatchedJob> before, std::optional<BatchedJob> after) noexcept;

// The status counter of `delta` for `status`.
int& CounterOf(BatchDelta& delta, Status status) noexcept;

}  // namespace jk::core
