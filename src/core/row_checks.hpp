// The value rules of SPEC section 2 for one stored row (non-empty names, the hash format, the
// queue's length, ranges, JSON shapes, a failed row's error, a completed export's file). They
// are checked once per row by the status trigger, not as CHECK constraints, whose expressions
// PostgreSQL would read back from the catalog and compile again for every statement.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/row_rules.hpp"

namespace jk::core {

// The top level of a jsonb value.
enum class JsonShape { kObject, kArray, kOther };

// A job row's values that the rules read. Text columns that are null are nullopt.
struct JobValues {
  std::optional<std::string_view> file_name, file_path, file_hash, queue, error_message;
  std::size_t queue_characters = 0;  // in the database's encoding (the glue counts them)
  int progress = 0, attempts = 0, max_attempts = 1, submit_count = 1;
  JsonShape errors = JsonShape::kArray, metadata = JsonShape::kObject;
};

struct ExportValues {
  std::optional<std::string_view> export_type, file_path, error_message;
  int progress = 0, attempts = 0, max_attempts = 1;
};

// The rule a row breaks, if any; each is named as the CHECK constraint it replaces.
enum class RowCheck {
  kNone,
  kFileNameEmpty,        // jobs_file_name_not_empty
  kFilePathEmpty,        // jobs_file_path_not_empty
  kFileHashFormat,       // jobs_file_hash_format
  kQueueEmpty,           // jobs_queue_not_empty
  kQueueLength,          // jobs_queue_length
  kProgressRange,        // *_progress_range
  kAttemptsNegative,     // *_attempts_not_negative
  kMaxAttemptsTooSmall,  // *_max_attempts_positive
  kSubmitCountTooSmall,  // jobs_submit_count_positive
  kErrorsNotArray,       // jobs_errors_array
  kMetadataNotObject,    // jobs_metadata_object
  kFailedWithoutError,   // *_failed_has_error
  kExportTypeFormat,     // export_jobs_export_type_format
  kCompletedWithoutFile, // export_jobs_completed_has_file
};

// Longest queue name, in characters: the queue goes into every event's payload.
inline constexpr std::size_t kMaxQueueCharacters = 255;

// True for an export type matching ^[a-z][a-z0-9_]{0,49}$.
bool IsExportType(std::string_view type) noexcept;

// The first rule that a row in `status` with these values breaks; never throws.
RowCheck CheckJob(Status status, const JobValues& values) noexcept;
RowCheck CheckExport(Status status, const ExportValues& values) noexcept;

// The CHECK constraint name a rule stands for (for the error's detail).
const char* RowCheckName(Entity entity, RowCheck check) noexcept;

// Throws the 23514 jk::core::Error for `check` on the row whose id is `id`; `value` is the
// offending text value when there is one (quoted in the message, clipped by the caller).
[[noreturn]] void ThrowRowCheck(Entity entity, std::string_view id, RowCheck check,
                                std::string_view value);

// Throws the 23514 error for a status that is none of the five.
[[noreturn]] void ThrowUnknownStatus(Entity entity, std::string_view id,
                                     std::string_view status);

}  // namespace jk::core
