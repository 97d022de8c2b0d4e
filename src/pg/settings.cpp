// Defines the jobkeeper.* settings and holds their current values.
#include "pg/settings.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace jk::pg {

bool notify_enabled = true;

void DefineSettings() {
  DefineCustomBoolVariable(
      "jobkeeper.notify",
      "Sends NOTIFY jobkeeper_jobs / jobkeeper_exports when work becomes pending or finishes.",
      "Turn off where nobody LISTENs: each notifying commit takes a cluster-wide lock.",
      &notify_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

}  // namespace jk::pg
