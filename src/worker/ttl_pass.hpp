// One pass over the TTL rules (SPEC section 11), shared by run_ttl() and the worker.
#pragma once

#include "worker/cleanup_pass.hpp"

namespace jk::worker {

// What one rule did in a pass.
struct TtlRuleResult {
  std::int64_t rule_id;
  unsigned int tbl;             // the table's OID
  char column[64];              // NAMEDATALEN
  std::int64_t rows_deleted;
  bool retired;                 // its table or column is gone: the rule was removed
  char error[kPassErrorLength];  // "" when none
};

// Runs every rule of jobkeeper.ttl_rules once, each as its owner, in the cleanup's batches;
// adds the rows deleted to counts->ttl_rows_deleted and records each rule's counts and error
// in ttl_rules. A rule whose table or column is gone is retired; a rule with another problem
// is skipped with its error; a failing rule never stops the others. When results is given,
// *results receives one entry per rule (palloc'd in the current memory context) and *count
// their number. Connected to a database at SQL version 1.1 or newer, SPI not yet connected.
void RunTtlPass(TxMode mode, CleanupCounts* counts, BetweenBatches between,
                TtlRuleResult** results, int* count);

}  // namespace jk::worker
