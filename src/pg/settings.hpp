// The jobkeeper.* settings (GUCs), defined once when the library loads.
#pragma once

namespace jk::pg {

// jobkeeper.notify: whether status changes send NOTIFY jobkeeper_jobs / jobkeeper_exports.
extern bool notify_enabled;

// Defines every jobkeeper.* setting; called from _PG_init.
void DefineSettings();

}  // namespace jk::pg
