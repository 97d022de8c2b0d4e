// jobkeeper.retry_delay(attempts): the backoff fail_job applies before a retry.
#include "core/backoff.hpp"
#include "pg/entry.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/timestamp.h"
}

// Returns the delay before retrying after the given number of attempts (core/backoff).
JK_FUNCTION(jobkeeper_retry_delay) {
  const int32 attempts = PG_GETARG_INT32(0);
  Interval* delay = static_cast<Interval*>(palloc0(sizeof(Interval)));
  delay->time = jk::core::RetryDelaySeconds(attempts) * USECS_PER_SEC;
  PG_RETURN_INTERVAL_P(delay);
}
