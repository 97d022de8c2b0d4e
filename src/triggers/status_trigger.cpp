// jobkeeper.status_trigger(): BEFORE INSERT OR UPDATE on jobs and export_jobs. It applies the
// status rules of SPEC section 3 (decided in core/row_rules) to each row, and records the event
// of an UPDATE that changes the status (an INSERT's is event_trigger.cpp's, once the row is
// stored). By the time a BEFORE ROW UPDATE trigger runs, PostgreSQL has locked the row (after
// rechecking a concurrently updated one against the WHERE clause), so the update goes ahead
// unless it fails, which rolls the event back with it, or a later BEFORE trigger of the
// table's owner cancels it (README: Events).
#include <cstring>

#include "core/row_checks.hpp"
#include "core/row_rules.hpp"
#include "pg/entry.hpp"
#include "pg/events.hpp"
#include "pg/guard.hpp"
#include "pg/settings.hpp"
#include "triggers/batch_counts.hpp"
#include "triggers/restore_order.hpp"
#include "triggers/trigger_rows.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "mb/pg_wchar.h"
#include "catalog/pg_trigger.h"
#include "nodes/bitmapset.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace {

using jk::core::Entity;
using jk::core::RowPlan;
using jk::core::Status;
using jk::triggers::ReadStatus;

// Attribute numbers (1-based, 0 when absent) of the columns the trigger reads or sets.
struct Columns {
  Oid relid;  // the table they were found in
  int id, status, progress, updated_at, finished_at, started_at, locked_by, lease_expires_at;
  int file_path, error_message, attempts, max_attempts;  // read by the value rules
  int file_name, file_hash, queue, submit_count, errors, metadata;  // jobs only
  int run_after;            // jobs only, named by events
  int job_id, export_type;  // exports only
  int batch_ids;            // jobs only, 0 before 1.1
  bool first_before_update;  // no BEFORE ROW UPDATE trigger sorts ahead of this one
};

// Finds the trigger's columns by name in `desc`; a table lacking one is a misuse.
void FindColumns(Relation rel, Entity entity, Columns* c) {
  TupleDesc desc = RelationGetDescr(rel);
  std::memset(c, 0, sizeof *c);
  c->relid = RelationGetRelid(rel);
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    const char* n = NameStr(att->attname);
    int* slot = std::strcmp(n, "id") == 0                 ? &c->id
                : std::strcmp(n, "status") == 0           ? &c->status
                : std::strcmp(n, "progress") == 0         ? &c->progress
                : std::strcmp(n, "updated_at") == 0       ? &c->updated_at
                : std::strcmp(n, "finished_at") == 0      ? &c->finished_at
                : std::strcmp(n, "started_at") == 0       ? &c->started_at
                : std::strcmp(n, "locked_by") == 0        ? &c->locked_by
                : std::strcmp(n, "lease_expires_at") == 0 ? &c->lease_expires_at
                : std::strcmp(n, "job_id") == 0           ? &c->job_id
                : std::strcmp(n, "file_path") == 0        ? &c->file_path
                : std::strcmp(n, "error_message") == 0    ? &c->error_message
                : std::strcmp(n, "attempts") == 0         ? &c->attempts
                : std::strcmp(n, "max_attempts") == 0     ? &c->max_attempts
                : std::strcmp(n, "file_name") == 0        ? &c->file_name
                : std::strcmp(n, "file_hash") == 0        ? &c->file_hash
                : std::strcmp(n, "queue") == 0            ? &c->queue
                : std::strcmp(n, "submit_count") == 0     ? &c->submit_count
                : std::strcmp(n, "errors") == 0           ? &c->errors
                : std::strcmp(n, "metadata") == 0         ? &c->metadata
                : std::strcmp(n, "run_after") == 0        ? &c->run_after
                : std::strcmp(n, "export_type") == 0      ? &c->export_type
                : std::strcmp(n, "batch_ids") == 0        ? &c->batch_ids
                                                          : nullptr;
    if (slot != nullptr) *slot = i + 1;
  }
  if (c->id == 0 || c->status == 0 || c->progress == 0 || c->updated_at == 0 ||
      c->finished_at == 0 || c->started_at == 0 || c->locked_by == 0 ||
      c->lease_expires_at == 0 || c->file_path == 0 || c->error_message == 0 ||
      c->attempts == 0 || c->max_attempts == 0 ||
      (entity == Entity::kJob && (c->file_name == 0 || c->file_hash == 0 || c->queue == 0 ||
                                  c->submit_count == 0 || c->errors == 0 || c->metadata == 0 ||
                                  c->run_after == 0)) ||
      (entity == Entity::kExport && (c->job_id == 0 || c->export_type == 0))) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.status_trigger() cannot run on table \"%s\"",
                           RelationGetRelationName(rel)),
                    errdetail("It runs only on jobkeeper.jobs and jobkeeper.export_jobs.")));
  }
}

// True when no BEFORE ROW UPDATE trigger of the table sorts ahead of this one (triggers fire in
// name order): then the UPDATE's target list (tg_updatedcols) names every column that can
// differ from the stored row. A disabled or conditional trigger ahead counts as one that runs.
bool IsFirstBeforeUpdate(Relation rel, FunctionCallInfo fcinfo) {
  const TriggerData* td = reinterpret_cast<const TriggerData*>(fcinfo->context);
  const TriggerDesc* triggers = rel->trigdesc;
  if (triggers == nullptr) return false;
  for (int i = 0; i < triggers->numtriggers; i++) {
    const Trigger& t = triggers->triggers[i];
    if (TRIGGER_FOR_ROW(t.tgtype) && TRIGGER_FOR_BEFORE(t.tgtype) &&
        TRIGGER_FOR_UPDATE(t.tgtype)) {
      return t.tgoid == td->tg_trigger->tgoid;
    }
  }
  return false;
}

// Returns the columns of the trigger's table, found once per statement: the trigger's FmgrInfo
// lives as long as the statement, during which the table's definition cannot change.
const Columns& ColumnsFor(FunctionCallInfo fcinfo, Relation rel, Entity entity) {
  Columns* c = static_cast<Columns*>(fcinfo->flinfo->fn_extra);
  if (c == nullptr || c->relid != RelationGetRelid(rel)) {
    c = static_cast<Columns*>(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Columns)));
    FindColumns(rel, entity, c);
    c->first_before_update = IsFirstBeforeUpdate(rel, fcinfo);
    fcinfo->flinfo->fn_extra = c;
  }
  return *c;
}

// The readers below take the trigger's slots rather than its HeapTuples: a slot deforms a row
// once and keeps the values (the UPDATE's new row arrives already deformed), where
// heap_getattr walks the row from its start for every column after a variable-length one.

int ReadProgress(TupleTableSlot* slot, int attnum) {
  bool isnull;
  Datum d = slot_getattr(slot, attnum, &isnull);
  return isnull ? 0 : DatumGetInt16(d);
}

const char* UuidText(HeapTuple tuple, TupleDesc desc, int attnum) {
  bool isnull;
  Datum d = heap_getattr(tuple, attnum, desc, &isnull);
  return isnull ? "(null)" : DatumGetCString(DirectFunctionCall1(uuid_out, d));
}

// Reads a text column; nothing when it is null. Detoasted in the per-row memory context.
std::optional<std::string_view> ReadText(TupleTableSlot* slot, int attnum) {
  bool isnull;
  Datum d = slot_getattr(slot, attnum, &isnull);
  if (isnull) return std::nullopt;
  text* t = DatumGetTextPP(d);
  return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

int ReadInt32(TupleTableSlot* slot, int attnum, int if_null) {
  bool isnull;
  Datum d = slot_getattr(slot, attnum, &isnull);
  return isnull ? if_null : DatumGetInt32(d);
}

// True when an UPDATE left the column as it was, byte for byte (a value checked when it was
// stored need not be checked again): a progress update or a heartbeat then reads no text.
// Different representations of one value (a short and a long header, a compressed copy)
// count as a change and are checked.
bool Unchanged(TupleTableSlot* old_slot, TupleTableSlot* slot, int attnum) {
  if (old_slot == nullptr) return false;
  bool old_null, new_null;
  const Datum o = slot_getattr(old_slot, attnum, &old_null);
  const Datum n = slot_getattr(slot, attnum, &new_null);
  if (old_null || new_null) return old_null && new_null;
  const char* ov = DatumGetPointer(o);
  const char* nv = DatumGetPointer(n);
  const Size size = VARSIZE_ANY(ov);
  return size == VARSIZE_ANY(nv) && std::memcmp(ov, nv, size) == 0;
}

// Which columns of the row may differ from what was stored and checked before.
struct Changes {
  TupleTableSlot* old_slot;  // the row before an UPDATE; null for an INSERT: all is new
  bool exact;                // `updated` is exact: no BEFORE trigger runs ahead of this one
  const Bitmapset* updated;  // the UPDATE's target columns
};

bool MayHaveChanged(const Changes& ch, TupleTableSlot* slot, int attnum) {
  if (ch.old_slot == nullptr) return true;
  if (ch.exact) return bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, ch.updated);
  return !Unchanged(ch.old_slot, slot, attnum);
}

// A text column for the value rules: nothing when it is null or unchanged by the UPDATE.
std::optional<std::string_view> ChangedText(const Changes& ch, TupleTableSlot* slot, int attnum) {
  if (!MayHaveChanged(ch, slot, attnum)) return std::nullopt;
  return ReadText(slot, attnum);
}

// The top level of a jsonb column, read from its root header without copying the value (only
// an out-of-line or compressed one is fetched whole); `if_unread` when it is null (NOT NULL
// decides) or unchanged by the UPDATE.
jk::core::JsonShape ReadJsonShape(const Changes& ch, TupleTableSlot* slot, int attnum,
                                  jk::core::JsonShape if_unread) {
  if (!MayHaveChanged(ch, slot, attnum)) return if_unread;
  bool isnull;
  Datum d = slot_getattr(slot, attnum, &isnull);
  if (isnull) return if_unread;
  const varlena* v = reinterpret_cast<const varlena*>(DatumGetPointer(d));
  if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v)) {
    v = pg_detoast_datum(const_cast<varlena*>(v));
  }
  uint32 header;
  std::memcpy(&header, VARDATA_ANY(v), sizeof header);  // JsonbContainer.header, maybe unaligned
  if ((header & JB_FOBJECT) != 0) return jk::core::JsonShape::kObject;
  if ((header & JB_FARRAY) != 0 && (header & JB_FSCALAR) == 0) return jk::core::JsonShape::kArray;
  return jk::core::JsonShape::kOther;
}

// The text a message quotes for a refused value: at most 80 bytes, cut at a character.
std::string_view Quoted(std::optional<std::string_view> v) {
  if (!v) return {};
  return v->substr(0, static_cast<size_t>(pg_mbcliplen(v->data(), static_cast<int>(v->size()), 80)));
}

// Applies the value rules of SPEC section 2 (the tables' former CHECK constraints) to the row
// as it will be stored: `status` and `progress` are its final values. old_slot is the row
// before an UPDATE, null for an INSERT.
void CheckValues(Entity entity, const Changes& ch, TupleTableSlot* slot, HeapTuple row,
                 TupleDesc desc, const Columns& c, Status status, int progress) {
  jk::core::RowCheck check;
  std::string_view value;
  char number[16];
  if (entity == Entity::kJob) {
    jk::core::JobValues v;
    v.file_name = ChangedText(ch, slot, c.file_name);
    v.file_path = ChangedText(ch, slot, c.file_path);
    v.file_hash = ChangedText(ch, slot, c.file_hash);
    v.queue = ChangedText(ch, slot, c.queue);
    if (v.queue) {
      // Bytes bound characters from above: counting is needed only past 255 bytes.
      v.queue_characters = v.queue->size() <= jk::core::kMaxQueueCharacters
          ? v.queue->size()
          : static_cast<size_t>(pg_mbstrlen_with_len(v.queue->data(),
                                                     static_cast<int>(v.queue->size())));
    }
    // Only a failed row needs its error_message, changed or not.
    if (status == Status::kFailed) v.error_message = ReadText(slot, c.error_message);
    v.progress = progress;
    v.attempts = ReadInt32(slot, c.attempts, 0);
    v.max_attempts = ReadInt32(slot, c.max_attempts, 1);
    v.submit_count = ReadInt32(slot, c.submit_count, 1);
    v.errors = ReadJsonShape(ch, slot, c.errors, jk::core::JsonShape::kArray);
    v.metadata = ReadJsonShape(ch, slot, c.metadata, jk::core::JsonShape::kObject);
    check = jk::core::CheckJob(status, v);
    if (check == jk::core::RowCheck::kNone) return;
    if (check == jk::core::RowCheck::kFileHashFormat) value = Quoted(v.file_hash);
    if (check == jk::core::RowCheck::kQueueLength) {
      value = v.queue->substr(0, static_cast<size_t>(pg_mbcliplen(v.queue->data(), 160, 40)));
    }
    const int shown = check == jk::core::RowCheck::kAttemptsNegative      ? v.attempts
                      : check == jk::core::RowCheck::kMaxAttemptsTooSmall ? v.max_attempts
                      : check == jk::core::RowCheck::kSubmitCountTooSmall ? v.submit_count
                                                                          : v.progress;
    snprintf(number, sizeof number, "%d", shown);
    if (value.empty()) value = number;
  } else {
    jk::core::ExportValues v;
    v.export_type = ChangedText(ch, slot, c.export_type);
    // A completed export needs its file_path and a failed one its error, changed or not.
    if (status == Status::kCompleted) v.file_path = ReadText(slot, c.file_path);
    if (status == Status::kFailed) v.error_message = ReadText(slot, c.error_message);
    v.progress = progress;
    v.attempts = ReadInt32(slot, c.attempts, 0);
    v.max_attempts = ReadInt32(slot, c.max_attempts, 1);
    check = jk::core::CheckExport(status, v);
    if (check == jk::core::RowCheck::kNone) return;
    const int shown = check == jk::core::RowCheck::kAttemptsNegative      ? v.attempts
                      : check == jk::core::RowCheck::kMaxAttemptsTooSmall ? v.max_attempts
                                                                          : v.progress;
    snprintf(number, sizeof number, "%d", shown);
    value = check == jk::core::RowCheck::kExportTypeFormat ? Quoted(v.export_type) : number;
  }
  const char* id = UuidText(row, desc, c.id);
  jk::pg::Guard([&] { jk::core::ThrowRowCheck(entity, id, check, value); });
}

// Raises 55000 unless the export's job is completed: exports are made from finished work.
void CheckExportJobCompleted(HeapTuple tuple, TupleDesc desc, const Columns& c) {
  // Kept across calls; the plan cache re-plans it if the extension is dropped and recreated.
  static SPIPlanPtr plan = nullptr;
  bool isnull;
  Datum job_id = heap_getattr(tuple, c.job_id, desc, &isnull);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  if (plan == nullptr) {
    Oid types[1] = {UUIDOID};
    SPIPlanPtr p = SPI_prepare(
        "SELECT status FROM jobkeeper.jobs WHERE id OPERATOR(pg_catalog.=) $1", 1, types);
    if (p == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    plan = p;
  }
  Datum args[1] = {job_id};
  // Not read-only: a fresh snapshot, so that a COPY of exports sees the jobs that a parallel
  // restore committed after the COPY began (see restore_order.cpp).
  if (SPI_execute_plan(plan, args, nullptr, false, 1) != SPI_OK_SELECT)
    elog(ERROR, "SPI_execute_plan failed");
  const char* job_status = SPI_processed == 1
      ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : "(missing)";
  if (std::strcmp(job_status, "completed") != 0) {
    const char* export_id = UuidText(tuple, desc, c.id);
    const char* job = DatumGetCString(DirectFunctionCall1(uuid_out, job_id));
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("cannot start export %s: its job %s is \"%s\", not \"completed\"",
                           export_id, job, job_status),
                    errhint("An export can start processing only once its job is completed.")));
  }
  SPI_finish();
}

// An UPDATE of a job in a batch (before or after it) moves the batch's counts. A job in none
// pays a null test of the row that the UPDATE deformed already; one whose status, progress
// and batches stay as they were (a heartbeat, a metadata edit) pays nothing more.
void CountBatches(const TriggerData* td, const Columns& c, const Changes& changes,
                  Status old_status, int old_progress, Status new_status,
                  const Datum* values, const bool* nulls) {
  const bool in_after = !nulls[c.batch_ids - 1];
  const bool ids_changed = MayHaveChanged(changes, td->tg_newslot, c.batch_ids);
  const bool in_before = ids_changed ? !slot_attisnull(td->tg_trigslot, c.batch_ids) : in_after;
  if (!in_before && !in_after) return;
  const int new_progress = DatumGetInt16(values[c.progress - 1]);
  if (!ids_changed && old_status == new_status && old_progress == new_progress) return;
  jk::triggers::BatchSide before, after;
  before.present = after.present = true;
  if (in_before && ids_changed) {
    bool isnull;
    before.batch_ids = slot_getattr(td->tg_trigslot, c.batch_ids, &isnull);
  } else if (in_before) {
    before.batch_ids = values[c.batch_ids - 1];  // unchanged: the stored row need not be read
  }
  before.status = old_status;
  before.progress = old_progress;
  after.batch_ids = in_after ? values[c.batch_ids - 1] : (Datum)0;
  after.status = new_status;
  after.progress = new_progress;
  after.finished_at = nulls[c.finished_at - 1] ? (Datum)0 : values[c.finished_at - 1];
  bool isnull;
  const Datum id = slot_getattr(td->tg_trigslot, c.id, &isnull);
  jk::triggers::CountBatchChange(td->tg_relation, id, before, after);
}

}  // namespace

// Applies the status rules to the row being inserted or updated and returns the row to store.
JK_FUNCTION(jobkeeper_status_trigger) {
  TriggerData* td = jk::triggers::CheckedTriggerData(fcinfo, "status_trigger",
                                                     jk::triggers::Timing::kBefore);
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  const Entity entity = jk::triggers::TriggerEntity(td);
  TupleDesc desc = RelationGetDescr(td->tg_relation);
  HeapTuple row = is_update ? td->tg_newtuple : td->tg_trigtuple;
  TupleTableSlot* row_slot = is_update ? td->tg_newslot : td->tg_trigslot;
  const Columns& c = ColumnsFor(fcinfo, td->tg_relation, entity);

  Status new_status;
  if (!ReadStatus(row_slot, c.status, &new_status)) {
    const std::optional<std::string_view> status = ReadText(row_slot, c.status);
    if (!status) return PointerGetDatum(row);  // NOT NULL refuses it
    const char* id = UuidText(row, desc, c.id);
    const std::string_view shown = Quoted(status);
    jk::pg::Guard([&] { jk::core::ThrowUnknownStatus(entity, id, shown); });
  }
  const int new_progress = ReadProgress(row_slot, c.progress);

  RowPlan plan;
  Status old_status = new_status;
  int old_progress = 0;
  if (is_update) {
    if (!ReadStatus(td->tg_trigslot, c.status, &old_status)) old_status = new_status;
    old_progress = ReadProgress(td->tg_trigslot, c.progress);
    // Only a finished row that stays finished can lose its finished_at by this UPDATE. Asked
    // only then: finished_at is the last column, and reading it from the stored row would
    // deform the whole of it (jsonb columns included) for every progress update.
    const bool finished_at_cleared = old_status == new_status &&
                                     jk::core::IsFinished(new_status) &&
                                     !slot_attisnull(td->tg_trigslot, c.finished_at) &&
                                     slot_attisnull(row_slot, c.finished_at);
    const jk::core::RowUpdate update{old_status, new_status, old_progress, new_progress,
                                     finished_at_cleared};
    plan = jk::core::PlanUpdate(update);
    if (plan.violation != jk::core::Violation::kNone) {
      const char* id = UuidText(td->tg_trigtuple, desc, c.id);
      jk::pg::Guard([&] { jk::core::ThrowViolation(entity, id, update, plan.violation); });
    }
    if (entity == Entity::kExport && plan.entering_processing) {
      CheckExportJobCompleted(row, desc, c);
    }
  } else {
    // An INSERT obeys the rules of an UPDATE into its state (SPEC section 3).
    plan = jk::core::PlanInsert(new_status, new_progress,
                                !slot_attisnull(row_slot, c.lease_expires_at));
    if (entity == Entity::kExport) {
      bool isnull;
      const Datum job_id = heap_getattr(row, c.job_id, desc, &isnull);
      if (!isnull) jk::triggers::WaitForJobLoadsIfCopy(td->tg_relation, job_id);
      if (!isnull && plan.entering_processing) CheckExportJobCompleted(row, desc, c);
    }
  }

  const Changes changes{is_update ? td->tg_trigslot : nullptr, c.first_before_update,
                        td->tg_updatedcols};
  CheckValues(entity, changes, row_slot, row, desc, c, new_status,
              plan.set_progress ? plan.progress : new_progress);

  // Collect the replacements; at most six columns change.
  int cols[8];
  Datum values[8];
  bool nulls[8];
  int n = 0;
  const Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  auto set = [&](int attnum, Datum value, bool isnull) {
    cols[n] = attnum;
    values[n] = value;
    nulls[n] = isnull;
    n++;
  };
  if (is_update) set(c.updated_at, now, false);
  if (plan.set_finished_at && (is_update || slot_attisnull(row_slot, c.finished_at))) {
    set(c.finished_at, now, false);
  }
  if (plan.clear_finished_at) set(c.finished_at, (Datum)0, true);
  if (plan.set_progress) set(c.progress, Int16GetDatum(plan.progress), false);
  if (plan.set_started_at && slot_attisnull(row_slot, c.started_at)) set(c.started_at, now, false);
  if (plan.set_default_lease) {
    set(c.lease_expires_at,
        TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() + jk::core::kDefaultLeaseMicros),
        false);
  }
  if (plan.clear_lease) {
    set(c.locked_by, (Datum)0, true);
    set(c.lease_expires_at, (Datum)0, true);
  }
  if (n > 0) {
    // The row to store: the slot's values (deformed once) with the replacements, formed anew.
    slot_getallattrs(row_slot);
    const size_t natts = static_cast<size_t>(desc->natts);
    Datum* all_values = static_cast<Datum*>(palloc(natts * sizeof(Datum)));
    bool* all_nulls = static_cast<bool*>(palloc(natts * sizeof(bool)));
    std::memcpy(all_values, row_slot->tts_values, natts * sizeof(Datum));
    std::memcpy(all_nulls, row_slot->tts_isnull, natts * sizeof(bool));
    for (int i = 0; i < n; i++) {
      all_values[cols[i] - 1] = values[i];
      all_nulls[cols[i] - 1] = nulls[i];
    }
    row = heap_form_tuple(desc, all_values, all_nulls);
    // An UPDATE's event, from the row as it will be stored (every UPDATE sets updated_at, so
    // its row is always formed here).
    if (is_update && plan.notify &&
        static_cast<jk::pg::NotifyMode>(jk::pg::notify_mode) != jk::pg::NotifyMode::kOff) {
      const jk::triggers::EventColumns event{
          c.id, entity == Entity::kJob ? c.queue : c.export_type, c.run_after};
      jk::triggers::RecordRowEvent(entity == Entity::kJob, event, all_values, all_nulls,
                                   new_status);
    }
    if (is_update && c.batch_ids != 0) {
      CountBatches(td, c, changes, old_status, old_progress, new_status, all_values, all_nulls);
    }
  }

  return PointerGetDatum(row);
}
