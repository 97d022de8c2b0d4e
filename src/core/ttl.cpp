// TTL rule decisions over catalog facts (see ttl.hpp).
#include "core/ttl.hpp"

#include <algorithm>

namespace jk::core {

TtlProblem CheckTtlTarget(const TtlTarget& t) noexcept {
  if (!t.table_exists) return TtlProblem::kNoTable;
  if (t.is_system) return TtlProblem::kSystemCatalog;
  if (t.is_jobkeeper) return TtlProblem::kJobkeeperTable;
  if (t.is_partitioned) return TtlProblem::kPartitioned;
  if (!t.is_plain_table) return TtlProblem::kNotATable;
  if (t.is_temporary) return TtlProblem::kTemporary;
  if (!t.column_exists) return TtlProblem::kNoColumn;
  if (t.column_type == TtlColumnType::kOther) return TtlProblem::kColumnType;
  if (!t.has_leading_index) return TtlProblem::kNoIndex;
  if (!t.owner_exists) return TtlProblem::kOwnerMissing;
  if (!t.owner_may_own) return TtlProblem::kNotOwner;
  if (t.owner_is_superuser) return TtlProblem::kOwnerSuperuser;
  return TtlProblem::kNone;
}

TtlOwner PickTtlOwner(bool caller_is_superuser) noexcept {
  return caller_is_superuser ? TtlOwner::kTableOwner : TtlOwner::kCaller;
}

TtlAction TtlActionFor(TtlProblem problem) noexcept {
  switch (problem) {
    case TtlProblem::kNone:
      return TtlAction::kRun;
    case TtlProblem::kNoTable:
    case TtlProblem::kNoColumn:
      return TtlAction::kRetire;
    default:
      return TtlAction::kSkip;
  }
}

long long SweepProbeRows(double reltuples) noexcept {
  if (!(reltuples >= kSweepMinRows)) return 0;  // also NaN and -1 (never analyzed)
  return static_cast<long long>(reltuples * kSweepShare) + 1;
}

bool UseSweep(double reltuples, long long expired_counted) noexcept {
  const long long probe = SweepProbeRows(reltuples);
  return probe > 0 && expired_counted >= probe;
}

int SweepPagesPerBatch(int batch_size, double reltuples, double relpages) noexcept {
  if (!(relpages >= 1) || !(reltuples >= 1) || batch_size < 1) return 1;
  const double rows_per_page = reltuples / relpages;
  const double pages = batch_size / rows_per_page;
  if (pages < 1) return 1;
  if (pages > 1000000) return 1000000;
  return static_cast<int>(pages);
}

int NextSweepPages(int current, bool timed_out, long long deleted, int batch_rows,
                   int base_pages) noexcept {
  if (current < 1) current = 1;
  if (base_pages < 1) base_pages = 1;
  if (timed_out) return current > 1 ? current / 2 : 1;
  const long long most = static_cast<long long>(base_pages) * kSweepGrowth;
  if (deleted * 2 < batch_rows) {
    return static_cast<int>(std::min(current * 2LL, std::max<long long>(most, current)));
  }
  if (deleted > 2LL * batch_rows && current > base_pages) {
    return current / 2 > base_pages ? current / 2 : base_pages;
  }
  return current;
}

bool IsValidTtlBatchSize(int batch_size) noexcept {
  return batch_size >= 1 && batch_size <= kMaxTtlBatchSize;
}

}  // namespace jk::core
