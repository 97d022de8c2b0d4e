// The value rules of a stored row, decided without PostgreSQL.
#include "core/row_checks.hpp"

#include <string>

#include "core/error.hpp"
#include "core/hex.hpp"

namespace jk::core {

namespace {

bool Empty(const std::optional<std::string_view>& v) { return !v || v->empty(); }

// Range rules shared by both tables.
RowCheck CheckCounters(int progress, int attempts, int max_attempts) {
  if (progress < 0 || progress > 100) return RowCheck::kProgressRange;
  if (attempts < 0) return RowCheck::kAttemptsNegative;
  if (max_attempts < 1) return RowCheck::kMaxAttemptsTooSmall;
  return RowCheck::kNone;
}

}  // namespace

bool IsExportType(std::string_view type) noexcept {
  if (type.empty() || type.size() > 50 || type[0] < 'a' || type[0] > 'z') return false;
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

RowCheck CheckJob(Status status, const JobValues& v) noexcept {
  // Null names are left to NOT NULL, which PostgreSQL checks after the triggers.
  if (v.file_name && v.file_name->empty()) return RowCheck::kFileNameEmpty;
  if (v.file_path && v.file_path->empty()) return RowCheck::kFilePathEmpty;
  if (v.file_hash && !IsSha256Hex(*v.file_hash)) return RowCheck::kFileHashFormat;
  if (v.queue && v.queue->empty()) return RowCheck::kQueueEmpty;
  if (v.queue && v.queue_characters > kMaxQueueCharacters) return RowCheck::kQueueLength;
  if (RowCheck c = CheckCounters(v.progress, v.attempts, v.max_attempts); c != RowCheck::kNone) {
    return c;
  }
  if (v.submit_count < 1) return RowCheck::kSubmitCountTooSmall;
  if (v.errors != JsonShape::kArray) return RowCheck::kErrorsNotArray;
  if (v.metadata != JsonShape::kObject) return RowCheck::kMetadataNotObject;
  if (status == Status::kFailed && Empty(v.error_message)) return RowCheck::kFailedWithoutError;
  return RowCheck::kNone;
}

RowCheck CheckExport(Status status, const ExportValues& v) noexcept {
  if (v.export_type && !IsExportType(*v.export_type)) return RowCheck::kExportTypeFormat;
  if (RowCheck c = CheckCounters(v.progress, v.attempts, v.max_attempts); c != RowCheck::kNone) {
    return c;
  }
  if (status == Status::kCompleted && Empty(v.file_path)) return RowCheck::kCompletedWithoutFile;
  if (status == Status::kFailed && Empty(v.error_message)) return RowCheck::kFailedWithoutError;
  return RowCheck::kNone;
}

const char* RowCheckName(Entity entity, RowCheck check) noexcept {
  const bool job = entity == Entity::kJob;
  switch (check) {
    case RowCheck::kNone: return "";
    case RowCheck::kFileNameEmpty: return "jobs_file_name_not_empty";
    case RowCheck::kFilePathEmpty: return "jobs_file_path_not_empty";
    case RowCheck::kFileHashFormat: return "jobs_file_hash_format";
    case RowCheck::kQueueEmpty: return "jobs_queue_not_empty";
    case RowCheck::kQueueLength: return "jobs_queue_length";
    case RowCheck::kProgressRange: return job ? "jobs_progress_range" : "export_jobs_progress_range";
    case RowCheck::kAttemptsNegative:
      return job ? "jobs_attempts_not_negative" : "export_jobs_attempts_not_negative";
    case RowCheck::kMaxAttemptsTooSmall:
      return job ? "jobs_max_attempts_positive" : "export_jobs_max_attempts_positive";
    case RowCheck::kSubmitCountTooSmall: return "jobs_submit_count_positive";
    case RowCheck::kErrorsNotArray: return "jobs_errors_array";
    case RowCheck::kMetadataNotObject: return "jobs_metadata_object";
    case RowCheck::kFailedWithoutError:
      return job ? "jobs_failed_has_error" : "export_jobs_failed_has_error";
    case RowCheck::kExportTypeFormat: return "export_jobs_export_type_format";
    case RowCheck::kCompletedWithoutFile: return "export_jobs_completed_has_file";
  }
  return "";
}

void ThrowRowCheck(Entity entity, std::string_view id, RowCheck check, std::string_view value) {
  const std::string row = std::string(EntityName(entity)) + " " + std::string(id);
  const std::string quoted = "\"" + std::string(value) + "\"";
  std::string what;
  switch (check) {
    case RowCheck::kNone: what = "is fine"; break;
    case RowCheck::kFileNameEmpty: what = "has an empty file_name"; break;
    case RowCheck::kFilePathEmpty: what = "has an empty file_path"; break;
    case RowCheck::kFileHashFormat:
      what = "has file_hash " + quoted + ", which is not 64 lowercase hex digits";
      break;
    case RowCheck::kQueueEmpty: what = "has an empty queue"; break;
    case RowCheck::kQueueLength:
      what = "has queue " + quoted + "..., longer than 255 characters";
      break;
    case RowCheck::kProgressRange: what = "has progress " + std::string(value) + ", not 0 to 100"; break;
    case RowCheck::kAttemptsNegative: what = "has attempts " + std::string(value) + ", below 0"; break;
    case RowCheck::kMaxAttemptsTooSmall:
      what = "has max_attempts " + std::string(value) + ", below 1";
      break;
    case RowCheck::kSubmitCountTooSmall:
      what = "has submit_count " + std::string(value) + ", below 1";
      break;
    case RowCheck::kErrorsNotArray: what = "has errors that are not a JSON array"; break;
    case RowCheck::kMetadataNotObject: what = "has metadata that is not a JSON object"; break;
    case RowCheck::kFailedWithoutError: what = "is failed without an error_message"; break;
    case RowCheck::kExportTypeFormat:
      what = "has export_type " + quoted + ", which does not match ^[a-z][a-z0-9_]{0,49}$";
      break;
    case RowCheck::kCompletedWithoutFile: what = "is completed without a file_path"; break;
  }
  throw Error(SqlState::kCheckViolation, row + " " + what,
              std::string("Rule ") + RowCheckName(entity, check) + ".");
}

void ThrowUnknownStatus(Entity entity, std::string_view id, std::string_view status) {
  throw Error(SqlState::kCheckViolation,
              std::string(EntityName(entity)) + " " + std::string(id) + " has status \"" +
                  std::string(status) + "\", which is not a status",
              "", "A status is one of \"pending\", \"processing\", \"completed\", \"failed\" and "
                  "\"cancelled\".");
}

}  // namespace jk::core
