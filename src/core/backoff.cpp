// Exponential retry backoff with a cap, free of overflow for any attempt count.
#include "core/backoff.hpp"

namespace jk::core {

std::int64_t RetryDelaySeconds(std::int64_t attempts) noexcept {
  if (attempts < 1) attempts = 1;
  std::int64_t delay = kRetryBaseSeconds;
  // Doubling stops at the cap, so a huge attempt count never shifts past 63 bits.
  for (std::int64_t i = 1; i < attempts && delay < kRetryMaxSeconds; ++i) delay *= 2;
  return delay < kRetryMaxSeconds ? delay : kRetryMaxSeconds;
}

}  // namespace jk::core
