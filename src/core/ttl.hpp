// The TTL rules of SPEC section 11: which table column a rule may target, whose rights its
// deletes run with, and what the worker does with a rule whose target changed. Facts about
// the catalog come in; no catalog is read here.
#pragma once

namespace jk::core {

// The types a TTL column may have.
enum class TtlColumnType { kTimestamptz, kTimestamp, kDate, kOther };

// What the catalog says about a rule's target, as of now.
struct TtlTarget {
  bool table_exists;
  bool is_plain_table;      // relkind 'r' (not a view, partitioned or foreign table, ...)
  bool is_partitioned;      // relkind 'p': each partition takes its own rule
  bool is_temporary;        // another session's worker cannot see it
  bool is_system;           // a system catalog (or information_schema)
  bool is_jobkeeper;        // one of jobkeeper's own tables, which its retention governs
  bool column_exists;
  TtlColumnType column_type;
  bool has_leading_index;   // a valid btree index, not partial, whose first key is the column
  bool owner_exists;        // the rule's owner role
  bool owner_may_own;       // the rule's owner has the privileges of the table's owner
  bool owner_is_superuser;
};

// Why a rule cannot run, or kNone.
enum class TtlProblem {
  kNone,
  kNoTable,
  kPartitioned,
  kNotATable,
  kTemporary,
  kSystemCatalog,
  kJobkeeperTable,
  kNoColumn,
  kColumnType,
  kNoIndex,
  kOwnerMissing,
  kNotOwner,
  kOwnerSuperuser,
};

// The first problem of a target, in the order above (what the target is, then its column,
// then its index, then who owns the rule); kNone when the rule may run.
TtlProblem CheckTtlTarget(const TtlTarget& target) noexcept;

// Whose rights a new rule's deletes run with: the role adding it, unless that role is a
// superuser, whose rule runs as the table's owner (never as a superuser).
enum class TtlOwner { kCaller, kTableOwner };
TtlOwner PickTtlOwner(bool caller_is_superuser) noexcept;

// What the worker does with a rule whose target has a problem: a rule whose table or column
// is gone is retired (removed, logged), since that OID or name may later mean something else;
// any other problem skips the rule for this pass with its error recorded, until fixed.
enum class TtlAction { kRun, kRetire, kSkip };
TtlAction TtlActionFor(TtlProblem problem) noexcept;

// How a rule's run takes its rows. By index (oldest first, each batch locked FOR UPDATE SKIP
// LOCKED, then deleted) when few of the table's rows have expired; by a sweep in physical
// order (each batch a range of pages, deleting what has expired there and is held by no one)
// when at least kSweepShare of them have: a sweep reads every page, but a row deleted by index
// costs three to five times one deleted by a sweep, and a row a sweep reads and keeps about a
// fifth of one it deletes (measured: 1,000,000 expired of 10,000,000, by index 4.3 s, swept
// 2.8 s). Rows a sweep leaves (someone held them) are then taken by index.
inline constexpr double kSweepShare = 0.05;
// The fewest rows (by the statistics) worth a sweep.
inline constexpr double kSweepMinRows = 10000;
// How many expired rows to count before deciding: enough to tell kSweepShare, at least one.
long long SweepProbeRows(double reltuples) noexcept;
// True when a sweep pays, given the table's row estimate and the expired rows counted
// (at most SweepProbeRows).
bool UseSweep(double reltuples, long long expired_counted) noexcept;
// Pages per sweep batch: about batch_size rows, at least one page.
int SweepPagesPerBatch(int batch_size, double reltuples, double relpages) noexcept;

// The most pages a sweep batch grows to, as a multiple of SweepPagesPerBatch: reading a kept
// row costs a small part of deleting one, so a batch over pages with little to delete may
// read many more rows in the same time.
inline constexpr int kSweepGrowth = 16;
// The next sweep batch's pages after one of `current` pages that deleted `deleted` rows
// (batch_rows the rows a batch should delete, base_pages SweepPagesPerBatch): half after a
// timeout (at least one); twice as many, up to base_pages * kSweepGrowth, after a batch that
// deleted less than half of batch_rows; half, down to base_pages, after one that deleted more
// than twice batch_rows; else the same.
int NextSweepPages(int current, bool timed_out, long long deleted, int batch_rows,
                   int base_pages) noexcept;

// True for a rule's own batch_size: 1 to kMaxTtlBatchSize (null: jobkeeper.cleanup_batch_size).
inline constexpr int kMaxTtlBatchSize = 1000000;
bool IsValidTtlBatchSize(int batch_size) noexcept;

}  // namespace jk::core
