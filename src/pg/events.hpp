// The events of SPEC section 6, collected per transaction and sent only once it commits:
// through the database's worker when one runs (the committing transaction never takes
// PostgreSQL's notify lock), else by the transaction itself at commit, as NOTIFY does.
#pragma once

#include <cstdint>

#include "worker/event_ring.hpp"

namespace jk::pg {

// jobkeeper.notify: off, on (through the worker when there is one) or direct (each
// transaction sends its own at commit).
enum class NotifyMode : int { kOff = 0, kOn = 1, kDirect = 2 };

// Records an event of the current subtransaction; dropped if it rolls back.
void RecordEvent(jk::worker::EventChannel channel, const char* payload, uint32_t length);

// Registers the transaction callbacks that deliver or drop the events; from _PG_init.
void RegisterEventCallbacks();

// For the worker: sends the entries taken from its ring (event_ring.hpp's format) with NOTIFY
// in the current transaction.
void NotifyEntries(const char* entries, uint32_t bytes);

}  // namespace jk::pg
