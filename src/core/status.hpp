// The five statuses shared by jobs and exports, and which changes between them are allowed.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace jk::core {

enum class Status { kPending, kProcessing, kCompleted, kFailed, kCancelled };

inline constexpr Status kAllStatuses[] = {Status::kPending, Status::kProcessing,
                                          Status::kCompleted, Status::kFailed,
                                          Status::kCancelled};

// Returns the status spelled `text`, or nothing for any other text (case-sensitive).
std::optional<Status> ParseStatus(std::string_view text) noexcept;

// Returns the SQL spelling of `status`.
const char* StatusName(Status status) noexcept;

// True for completed, failed and cancelled: the states retention may delete.
constexpr bool IsFinished(Status status) noexcept {
  return status == Status::kCompleted || status == Status::kFailed ||
         status == Status::kCancelled;
}

// True when a row may move from `from` to a different status `to` (SPEC section 3).
bool IsTransitionAllowed(Status from, Status to) noexcept;

}  // namespace jk::core
