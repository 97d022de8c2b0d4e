// Per-transaction event collection (see events.hpp).
//
// The events of a transaction are kept in TopTransactionContext in the ring's entry format, so
// that a commit copies them as they are. Subtransactions: an event belongs to the nesting level
// that recorded it; levels never decrease along the buffer (an inner level's events either
// become its parent's when it commits or are cut off when it aborts), so the buffer is a stack
// of runs, one per level that has events.
#include "pg/events.hpp"

#include <cstring>

#include "pg/settings.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/async.h"
#include "utils/memutils.h"
}

namespace jk::pg {

namespace {

using jk::worker::EventChannel;
using jk::worker::kEventHeaderBytes;

struct Run {
  int level;
  uint32_t start;  // offset of its first entry
};

char* buffer = nullptr;  // null when this transaction has no events
uint32_t length = 0;
uint32_t capacity = 0;
Run* runs = nullptr;
int run_count = 0;
int run_capacity = 0;
int reserved_ring = -1;  // the ring that holds room for this transaction's events

// The batches this transaction has hinted at, so that a bulk change of one batch's jobs
// records one hint (cleared whenever a subtransaction aborts: its hints may be gone).
constexpr int kHintMemory = 256;
pg_uuid_t hinted[kHintMemory];
int hinted_count = 0;

void Forget() {
  hinted_count = 0;
  buffer = nullptr;  // freed with TopTransactionContext
  length = capacity = 0;
  runs = nullptr;
  run_count = run_capacity = 0;
  reserved_ring = -1;
}

template <typename T>
T* Grow(T* old, uint32_t old_count, uint32_t new_count) {
  T* grown = static_cast<T*>(MemoryContextAlloc(TopTransactionContext, new_count * sizeof(T)));
  if (old_count > 0) std::memcpy(grown, old, old_count * sizeof(T));
  if (old != nullptr) pfree(old);
  return grown;
}

void SendDirectly() {
  NotifyEntries(buffer, length);
  Forget();
}

void OnTransaction(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
      if (length == 0) return;
      // Notifications queued now are sent by this commit, after it is durable.
      if (static_cast<NotifyMode>(notify_mode) == NotifyMode::kDirect) {
        SendDirectly();
        return;
      }
      reserved_ring = jk::worker::ReserveEvents(length);
      if (reserved_ring < 0) SendDirectly();
      return;
    case XACT_EVENT_COMMIT:
      if (reserved_ring >= 0) jk::worker::PublishEvents(reserved_ring, buffer, length);
      Forget();
      return;
    case XACT_EVENT_ABORT:
      if (reserved_ring >= 0) jk::worker::ReleaseEvents(reserved_ring, length);
      Forget();
      return;
    case XACT_EVENT_PRE_PREPARE:
      // A prepared transaction commits in another session, later: its events are dropped
      // (NOTIFY itself refuses PREPARE; LISTEN is a wake-up, and polling finds the rows).
    case XACT_EVENT_PREPARE:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
      Forget();
      return;
  }
}

void OnSubtransaction(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (event == SUBXACT_EVENT_ABORT_SUB) hinted_count = 0;
  if (run_count == 0) return;
  const int level = GetCurrentTransactionNestLevel();  // the one ending
  Run& top = runs[run_count - 1];
  if (top.level != level) return;
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    length = top.start;
    run_count--;
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    if (run_count > 1 && runs[run_count - 2].level == level - 1) {
      run_count--;  // merges into the parent's run
    } else {
      top.level = level - 1;
    }
  }
}

}  // namespace

void RecordEvent(EventChannel channel, const char* payload, uint32_t payload_length) {
  const uint32_t entry = kEventHeaderBytes + payload_length;
  if (length + entry > capacity) {
    uint32_t wanted = capacity == 0 ? 1024 : capacity * 2;
    while (wanted < length + entry) wanted *= 2;
    buffer = Grow(buffer, length, wanted);
    capacity = wanted;
  }
  const int level = GetCurrentTransactionNestLevel();
  if (run_count == 0 || runs[run_count - 1].level != level) {
    if (run_count == run_capacity) {
      const int wanted = run_capacity == 0 ? 4 : run_capacity * 2;
      runs = Grow(runs, run_count, wanted);
      run_capacity = wanted;
    }
    runs[run_count++] = Run{level, length};
  }
  char* at = buffer + length;
  const uint16_t n = static_cast<uint16_t>(payload_length);
  std::memcpy(at, &n, sizeof n);
  at[2] = static_cast<char>(channel);
  std::memcpy(at + kEventHeaderBytes, payload, payload_length);
  length += entry;
}

void RecordBatchHint(const pg_uuid_t* id) {
  for (int i = 0; i < hinted_count; i++) {
    if (std::memcmp(&hinted[i], id, sizeof *id) == 0) return;
  }
  RecordEvent(EventChannel::kBatchHint, reinterpret_cast<const char*>(id->data), UUID_LEN);
  if (hinted_count < kHintMemory) hinted[hinted_count++] = *id;
}

void NotifyEntries(const char* entries, uint32_t bytes) {
  char payload[8192];
  for (uint32_t at = 0; at + kEventHeaderBytes <= bytes;) {
    uint16_t n;
    std::memcpy(&n, entries + at, sizeof n);
    const auto channel = static_cast<EventChannel>(entries[at + 2]);
    if (channel != EventChannel::kBatchHint) {
      std::memcpy(payload, entries + at + kEventHeaderBytes, n);
      payload[n] = '\0';
      Async_Notify(jk::worker::ChannelName(channel), payload);
    }
    at += kEventHeaderBytes + n;
  }
}

int TakeBatchHints(const char* entries, uint32_t bytes, pg_uuid_t* ids, int max) {
  int count = 0;
  for (uint32_t at = 0; at + kEventHeaderBytes <= bytes;) {
    uint16_t n;
    std::memcpy(&n, entries + at, sizeof n);
    const auto channel = static_cast<EventChannel>(entries[at + 2]);
    if (channel == EventChannel::kBatchHint && n == UUID_LEN && count < max) {
      pg_uuid_t id;
      std::memcpy(id.data, entries + at + kEventHeaderBytes, UUID_LEN);
      bool seen = false;
      for (int i = 0; i < count && !seen; i++) seen = std::memcmp(&ids[i], &id, sizeof id) == 0;
      if (!seen) ids[count++] = id;
    }
    at += kEventHeaderBytes + n;
  }
  return count;
}

void RegisterEventCallbacks() {
  RegisterXactCallback(OnTransaction, nullptr);
  RegisterSubXactCallback(OnSubtransaction, nullptr);
}

}  // namespace jk::pg
