// The workers' shared memory: allocation at startup and slot lookup.
#include "worker/shared_state.hpp"

#include <cstring>

extern "C" {
#include "storage/ipc.h"
#include "storage/shmem.h"
}

namespace jk::worker {

namespace {

SharedState* state = nullptr;

}  // namespace

void RequestSharedState() {
  RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState)));
  RequestNamedLWLockTranche("jobkeeper", 1);
}

void AttachSharedState() {
  bool found;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  state = static_cast<SharedState*>(ShmemInitStruct("jobkeeper", sizeof(SharedState), &found));
  if (!found) {
    std::memset(state, 0, sizeof(SharedState));
    state->lock = &(GetNamedLWLockTranche("jobkeeper"))->lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

SharedState* State() { return state; }

DatabaseSlot* SlotFor(Oid dboid) {
  DatabaseSlot* free_slot = nullptr;
  for (DatabaseSlot& slot : state->slots) {
    if (slot.in_use && slot.dboid == dboid) return &slot;
    if (!slot.in_use && free_slot == nullptr) free_slot = &slot;
  }
  if (free_slot != nullptr) {
    std::memset(free_slot, 0, sizeof(DatabaseSlot));
    free_slot->in_use = true;
    free_slot->dboid = dboid;
  }
  return free_slot;
}

}  // namespace jk::worker
