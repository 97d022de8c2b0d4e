// The events of SPEC section 6, collected per transaction and sent only once it commits:
// through the database's worker when one runs (the committing transaction never takes
// PostgreSQL's notify lock), else by the transaction itself at commit, as NOTIFY does.
#pragma once

#include <cstdint>

#include "worker/event_ring.hpp"

extern "C" {
#include "utils/uuid.h"
}

namespace jk::pg {

// jobkeeper.notify: off, on (through the worker when there is one) or direct (each
// transaction sends its own at commit).
enum class NotifyMode : int { kOff = 0, kOn = 1, kDirect = 2 };

// Records an event of the current subtransaction; dropped if it rolls back.
void RecordEvent(jk::worker::EventChannel channel, const char* payload, uint32_t length);

// Records, with the current subtransaction, that batch `id` may have finished: the worker
// checks it once the transaction has committed. Recorded once per transaction and batch.
void RecordBatchHint(const pg_uuid_t* id);

// Registers the transaction callbacks that deliver or drop the events; from _PG_init.
void RegisterEventCallbacks();

// For the worker: sends the entries taken from its ring (event_ring.hpp's format) with NOTIFY
// in the current transaction. Batch hints are not sent.
void NotifyEntries(const char* entries, uint32_t bytes);

// For the worker: copies the batch ids of the hints among `entries` into `ids` (at most `max`,
// without repeats) and returns how many.
int TakeBatchHints(const char* entries, uint32_t bytes, pg_uuid_t* ids, int max);

}  // namespace jk::pg
