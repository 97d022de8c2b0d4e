// The status vocabulary and the transition table of SPEC section 3.
#include "core/status.hpp"

namespace jk::core {

std::optional<Status> ParseStatus(std::string_view text) noexcept {
  for (Status s : kAllStatuses) {
    if (text == StatusName(s)) return s;
  }
  return std::nullopt;
}

const char* StatusName(Status status) noexcept {
  switch (status) {
    case Status::kPending: return "pending";
    case Status::kProcessing: return "processing";
    case Status::kCompleted: return "completed";
    case Status::kFailed: return "failed";
    case Status::kCancelled: return "cancelled";
  }
  return "unknown";
}

bool IsTransitionAllowed(Status from, Status to) noexcept {
  switch (from) {
    case Status::kPending:
      return to == Status::kProcessing || to == Status::kCancelled;
    case Status::kProcessing:
      return to == Status::kCompleted || to == Status::kFailed || to == Status::kPending ||
             to == Status::kCancelled;
    case Status::kFailed:
    case Status::kCancelled:
      return to == Status::kPending;
    case Status::kCompleted:
      return false;  // final
  }
  return false;
}

}  // namespace jk::core
