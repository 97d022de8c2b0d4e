// The per-database event rings in shared memory (see event_ring.hpp).
#include "worker/event_ring.hpp"

#include <cstring>

#include "worker/shared_state.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/proc.h"
}

namespace jk::worker {

namespace {

// The ring a backend of this database last used: checked again under its lock each time.
int cached_ring = -1;

EventRing* Ring(int index) { return &State()->rings[index]; }

// Copies `n` bytes into the ring after its used part, wrapping at the end.
void CopyIn(EventRing* r, const char* src, uint32_t n) {
  const uint32_t at = (r->start + r->used) % kEventRingBytes;
  const uint32_t first = n < kEventRingBytes - at ? n : kEventRingBytes - at;
  std::memcpy(r->data + at, src, first);
  std::memcpy(r->data, src + first, n - first);
  r->used += n;
}

// True when `r` has a worker of this database attached (caller holds the ring's lock).
bool Serves(const EventRing* r) { return r->dboid == MyDatabaseId && r->latch != nullptr; }

}  // namespace

const char* ChannelName(EventChannel channel) {
  switch (channel) {
    case EventChannel::kJobs: return "jobkeeper_jobs";
    case EventChannel::kExports: return "jobkeeper_exports";
    case EventChannel::kBatches: break;
    case EventChannel::kBatchHint: break;
  }
  return "jobkeeper_batches";
}

int ReserveEvents(uint32_t bytes) {
  SharedState* st = State();
  if (st == nullptr || bytes > kEventRingShare) return -1;
  // Where the worker of this database is: its ring's dboid, read without the lock as a hint.
  if (cached_ring < 0 || cached_ring >= st->slot_count ||
      st->rings[cached_ring].dboid != MyDatabaseId) {
    cached_ring = -1;
    for (int i = 0; i < st->slot_count; i++) {
      if (st->rings[i].dboid == MyDatabaseId) {
        cached_ring = i;
        break;
      }
    }
    if (cached_ring < 0) return -1;
  }
  EventRing* r = Ring(cached_ring);
  bool ok = false;
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  if (Serves(r) && r->used + r->reserved + bytes <= kEventRingBytes) {
    r->reserved += bytes;
    ok = true;
  }
  LWLockRelease(r->lock);
  return ok ? cached_ring : -1;
}

void PublishEvents(int ring, const char* entries, uint32_t bytes) {
  EventRing* r = Ring(ring);
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  r->reserved -= bytes;
  // The ring went to another database's worker since the reservation: nobody here listens.
  if (r->dboid != MyDatabaseId) {
    LWLockRelease(r->lock);
    return;
  }
  const bool was_empty = r->used == 0;
  CopyIn(r, entries, bytes);
  Latch* latch = r->latch;
  LWLockRelease(r->lock);
  // The worker takes everything each time it wakes: only the first entry needs to wake it.
  if (was_empty && latch != nullptr) SetLatch(latch);
}

void ReleaseEvents(int ring, uint32_t bytes) {
  EventRing* r = Ring(ring);
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  r->reserved -= bytes;
  LWLockRelease(r->lock);
}

void AttachEventRing(int ring) {
  EventRing* r = Ring(ring);
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  if (r->dboid != MyDatabaseId) {
    // The slot served another database before: its events went with it. Room that its
    // committing backends reserved stays reserved until they publish into the void.
    r->dboid = MyDatabaseId;
    r->start = 0;
    r->used = 0;
  }
  r->latch = MyLatch;
  LWLockRelease(r->lock);
}

void DetachEventRing(int ring) {
  EventRing* r = Ring(ring);
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  if (r->latch == MyLatch) r->latch = nullptr;
  LWLockRelease(r->lock);
}

bool EventsWaiting(int ring) { return Ring(ring)->used > 0; }

uint32_t TakeEvents(int ring, char* out) {
  EventRing* r = Ring(ring);
  LWLockAcquire(r->lock, LW_EXCLUSIVE);
  const uint32_t n = r->used;
  const uint32_t first = n < kEventRingBytes - r->start ? n : kEventRingBytes - r->start;
  std::memcpy(out, r->data + r->start, first);
  std::memcpy(out + first, r->data, n - first);
  r->start = (r->start + n) % kEventRingBytes;
  r->used = 0;
  LWLockRelease(r->lock);
  return n;
}

}  // namespace jk::worker
