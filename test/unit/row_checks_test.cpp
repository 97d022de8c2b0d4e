// The value rules of a stored row (core/row_checks), in every state.
#include "core/row_checks.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace {

using jk::core::CheckExport;
using jk::core::CheckJob;
using jk::core::Entity;
using jk::core::ExportValues;
using jk::core::JobValues;
using jk::core::JsonShape;
using jk::core::RowCheck;
using jk::core::Status;

const std::string kHash(64, 'a');

JobValues GoodJob() {
  JobValues v;
  v.file_name = "a.mp3";
  v.file_path = "/up/a.mp3";
  v.file_hash = kHash;
  v.queue = "default";
  v.queue_characters = 7;
  return v;
}

ExportValues GoodExport() {
  ExportValues v;
  v.export_type = "pdf_summary";
  return v;
}

TEST(RowChecks, AGoodJobPassesInEveryStateButFailedWithoutError) {
  for (Status s : jk::core::kAllStatuses) {
    EXPECT_EQ(CheckJob(s, GoodJob()),
              s == Status::kFailed ? RowCheck::kFailedWithoutError : RowCheck::kNone)
        << jk::core::StatusName(s);
  }
  JobValues failed = GoodJob();
  failed.error_message = "boom";
  EXPECT_EQ(CheckJob(Status::kFailed, failed), RowCheck::kNone);
  failed.error_message = "";
  EXPECT_EQ(CheckJob(Status::kFailed, failed), RowCheck::kFailedWithoutError);
}

TEST(RowChecks, EachJobRuleRefusesItsValue) {
  auto with = [](auto change) {
    JobValues v = GoodJob();
    change(v);
    return CheckJob(Status::kPending, v);
  };
  EXPECT_EQ(with([](JobValues& v) { v.file_name = ""; }), RowCheck::kFileNameEmpty);
  EXPECT_EQ(with([](JobValues& v) { v.file_path = ""; }), RowCheck::kFilePathEmpty);
  EXPECT_EQ(with([](JobValues& v) { v.file_hash = "ABC"; }), RowCheck::kFileHashFormat);
  EXPECT_EQ(with([](JobValues& v) { v.file_hash = std::nullopt; }), RowCheck::kNone);
  EXPECT_EQ(with([](JobValues& v) { v.queue = ""; }), RowCheck::kQueueEmpty);
  EXPECT_EQ(with([](JobValues& v) { v.queue_characters = 255; }), RowCheck::kNone);
  EXPECT_EQ(with([](JobValues& v) { v.queue_characters = 256; }), RowCheck::kQueueLength);
  EXPECT_EQ(with([](JobValues& v) { v.progress = -1; }), RowCheck::kProgressRange);
  EXPECT_EQ(with([](JobValues& v) { v.progress = 101; }), RowCheck::kProgressRange);
  EXPECT_EQ(with([](JobValues& v) { v.progress = 100; }), RowCheck::kNone);
  EXPECT_EQ(with([](JobValues& v) { v.attempts = -1; }), RowCheck::kAttemptsNegative);
  EXPECT_EQ(with([](JobValues& v) { v.max_attempts = 0; }), RowCheck::kMaxAttemptsTooSmall);
  EXPECT_EQ(with([](JobValues& v) { v.submit_count = 0; }), RowCheck::kSubmitCountTooSmall);
  EXPECT_EQ(with([](JobValues& v) { v.errors = JsonShape::kObject; }), RowCheck::kErrorsNotArray);
  EXPECT_EQ(with([](JobValues& v) { v.metadata = JsonShape::kArray; }),
            RowCheck::kMetadataNotObject);
  EXPECT_EQ(with([](JobValues& v) { v.metadata = JsonShape::kOther; }),
            RowCheck::kMetadataNotObject);
  // Nulls are NOT NULL's to refuse, after the trigger.
  EXPECT_EQ(with([](JobValues& v) { v.file_name = std::nullopt; }), RowCheck::kNone);
}

TEST(RowChecks, EachExportRuleRefusesItsValue) {
  auto with = [](Status s, auto change) {
    ExportValues v = GoodExport();
    change(v);
    return CheckExport(s, v);
  };
  const auto same = [](ExportValues&) {};
  for (Status s : jk::core::kAllStatuses) {
    const RowCheck expected = s == Status::kCompleted ? RowCheck::kCompletedWithoutFile
                              : s == Status::kFailed  ? RowCheck::kFailedWithoutError
                                                      : RowCheck::kNone;
    EXPECT_EQ(with(s, same), expected) << jk::core::StatusName(s);
  }
  EXPECT_EQ(with(Status::kCompleted, [](ExportValues& v) { v.file_path = "/out.pdf"; }),
            RowCheck::kNone);
  EXPECT_EQ(with(Status::kPending, [](ExportValues& v) { v.export_type = "PDF"; }),
            RowCheck::kExportTypeFormat);
  EXPECT_EQ(with(Status::kPending, [](ExportValues& v) { v.progress = 101; }),
            RowCheck::kProgressRange);
  EXPECT_EQ(with(Status::kPending, [](ExportValues& v) { v.max_attempts = 0; }),
            RowCheck::kMaxAttemptsTooSmall);
}

TEST(RowChecks, ExportTypeIsALowercaseIdentifierOfAtMost50) {
  EXPECT_TRUE(jk::core::IsExportType("srt"));
  EXPECT_TRUE(jk::core::IsExportType("markdown_transcript"));
  EXPECT_TRUE(jk::core::IsExportType("a" + std::string(49, '0')));
  EXPECT_FALSE(jk::core::IsExportType("a" + std::string(50, '0')));
  EXPECT_FALSE(jk::core::IsExportType(""));
  EXPECT_FALSE(jk::core::IsExportType("1pdf"));
  EXPECT_FALSE(jk::core::IsExportType("_pdf"));
  EXPECT_FALSE(jk::core::IsExportType("pdf-summary"));
  EXPECT_FALSE(jk::core::IsExportType("pdf\n"));
}

TEST(RowChecks, MessagesNameTheRowTheValueAndTheRule) {
  try {
    jk::core::ThrowRowCheck(Entity::kJob, "0000-1", RowCheck::kFileHashFormat, "xyz");
    FAIL();
  } catch (const jk::core::Error& e) {
    EXPECT_EQ(e.state(), jk::core::SqlState::kCheckViolation);
    EXPECT_EQ(e.message(), "job 0000-1 has file_hash \"xyz\", which is not 64 lowercase hex digits");
    EXPECT_EQ(e.detail(), "Rule jobs_file_hash_format.");
  }
  try {
    jk::core::ThrowUnknownStatus(Entity::kExport, "e1", "done");
    FAIL();
  } catch (const jk::core::Error& e) {
    EXPECT_EQ(e.state(), jk::core::SqlState::kCheckViolation);
    EXPECT_EQ(e.message(), "export e1 has status \"done\", which is not a status");
  }
  for (int i = 1; i <= static_cast<int>(RowCheck::kCompletedWithoutFile); i++) {
    EXPECT_STRNE(jk::core::RowCheckName(Entity::kJob, static_cast<RowCheck>(i)), "");
  }
}

}  // namespace
