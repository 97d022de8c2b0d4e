#include "core/batches.hpp"

namespace jk::core {

int& CounterOf(BatchDelta& delta, Status status) noexcept {
  switch (status) {
    case Status::kPending: return delta.pending;
    case Status::kProcessing: return delta.processing;
    case Status::kCompleted: return delta.completed;
    case Status::kFailed: return delta.failed;
    case Status::kCancelled: break;
  }
  return delta.cancelled;
}

BatchDelta DeltaFor(std::optional<BatchedJob> before, std::optional<BatchedJob> after) noexcept {
  BatchDelta d;
  if (before) {
    CounterOf(d, before->status) -= 1;
    d.progress -= before->progress;
  }
  if (after) {
    CounterOf(d, after->status) += 1;
    d.progress += after->progress;
  }
  const bool was_unfinished = before && !IsFinished(before->status);
  const bool is_unfinished = after && !IsFinished(after->status);
  d.may_finish = !is_unfinished && (was_unfinished || (!before && after));
  return d;
}

}  // namespace jk::core
