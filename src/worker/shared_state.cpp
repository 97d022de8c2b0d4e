// The workers' shared memory: allocation at startup and the hold check.
#include "worker/shared_state.hpp"

#include <cstddef>
#include <cstring>

#include "pg/settings.hpp"
#include "worker/event_ring.hpp"

extern "C" {
#include "storage/ipc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
}

namespace jk::worker {

namespace {

SharedState* state = nullptr;

Size SlotsSize() {
  return MAXALIGN(add_size(offsetof(SharedState, slots),
                           mul_size(sizeof(DatabaseSlot),
                                    static_cast<Size>(jk::pg::max_databases))));
}

Size SharedStateSize() {
  return add_size(SlotsSize(),
                  mul_size(sizeof(EventRing), static_cast<Size>(jk::pg::max_databases)));
}

}  // namespace

void RequestSharedState() {
  RequestAddinShmemSpace(MAXALIGN(SharedStateSize()));
  // One lock for the slots and holds, one per event ring.
  RequestNamedLWLockTranche("jobkeeper", 1 + jk::pg::max_databases);
}

void AttachSharedState() {
  bool found;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  state = static_cast<SharedState*>(ShmemInitStruct("jobkeeper", SharedStateSize(), &found));
  if (!found) {
    std::memset(state, 0, SharedStateSize());
    LWLockPadded* locks = GetNamedLWLockTranche("jobkeeper");
    state->lock = &locks[0].lock;
    state->slot_count = jk::pg::max_databases;
    state->rings = reinterpret_cast<EventRing*>(reinterpret_cast<char*>(state) + SlotsSize());
    for (int i = 0; i < state->slot_count; i++) state->rings[i].lock = &locks[1 + i].lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

SharedState* State() { return state; }

bool IsHeld(const SharedState* st, Oid dboid) {
  for (const DatabaseHold& hold : st->holds) {
    // A backend that died between taking and releasing its hold leaves it behind: void.
    if (hold.dboid == dboid && BackendPidGetProc(hold.pid) != nullptr) return true;
  }
  return false;
}

}  // namespace jk::worker
