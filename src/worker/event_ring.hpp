// The events a database's committed transactions left for its worker to send (SPEC section 6):
// one ring of bytes per worker slot in shared memory. A committing backend reserves room before
// its commit and writes its events after it, so its commit never waits on PostgreSQL's notify
// lock; the worker sends what it finds in one transaction of its own. Entries are
// [uint16 payload length][uint8 channel][payload bytes], wrapping at the end of the ring.
#pragma once

#include <cstdint>

#include "pg/postgres.hpp"

extern "C" {
#include "storage/latch.h"
#include "storage/lwlock.h"
}

namespace jk::worker {

inline constexpr uint32_t kEventRingBytes = 64 * 1024;
inline constexpr uint32_t kEventHeaderBytes = 3;
// A transaction whose events need more than this sends them itself at commit: a bulk change
// pays the notify lock once, and cannot crowd out the small transactions.
inline constexpr uint32_t kEventRingShare = kEventRingBytes / 4;
// How long the worker lets events gather once the first one has woken it: committing backends
// wake it only when the ring was empty, so this bounds the wake-ups (each a signal, and a
// transaction of the worker's) to about 100 a second however many commits announce work.
inline constexpr long kEventGatherMicros = 10 * 1000;

// kBatchHint is no NOTIFY: its payload is the 16 bytes of a batch id whose last job may have
// finished, for the worker to check and announce on kBatches (worker/batch_pass.hpp).
enum class EventChannel : uint8_t { kJobs = 0, kExports = 1, kBatches = 2, kBatchHint = 3 };
const char* ChannelName(EventChannel channel);

struct EventRing {
  LWLock* lock;
  Oid dboid;       // the database whose events it holds; set by the worker that attaches
  Latch* latch;    // that worker's latch while it runs, else null: nobody would send them
  uint32_t start;  // offset of the oldest byte
  uint32_t used;   // bytes written and not yet taken
  uint32_t reserved;  // bytes promised to transactions that are committing
  char data[kEventRingBytes];
};

// Reserves `bytes` in the ring of the worker that serves this database, before the commit.
// Returns the ring's index, or -1 when there is no such worker or not enough room: the caller
// then sends its events itself.
int ReserveEvents(uint32_t bytes);

// After the commit: writes the reserved entries (exactly the reserved bytes) and wakes the
// worker when the ring was empty. Never raises an error (it runs after the commit).
void PublishEvents(int ring, const char* entries, uint32_t bytes);

// After an abort that followed the reservation: gives the room back.
void ReleaseEvents(int ring, uint32_t bytes);

// For the worker of slot `ring`: makes the ring this database's and this process's (events
// left by an earlier worker of the same database are kept), or detaches it at exit.
void AttachEventRing(int ring);
void DetachEventRing(int ring);

// True when the ring holds entries (read without the lock: a hint).
bool EventsWaiting(int ring);

// For the worker: moves every waiting entry into `out` (kEventRingBytes long); returns the
// number of bytes taken.
uint32_t TakeEvents(int ring, char* out);

}  // namespace jk::worker
