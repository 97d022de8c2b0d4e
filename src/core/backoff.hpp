// How long a failed job waits before it may be claimed again.
#pragma once

#include <cstdint>

namespace jk::core {

inline constexpr std::int64_t kRetryBaseSeconds = 15;
inline constexpr std::int64_t kRetryMaxSeconds = 3600;

// Returns the delay after the `attempts`-th failed attempt: 15 s * 2^(attempts - 1), capped at
// one hour; attempts below 1 count as 1.
std::int64_t RetryDelaySeconds(std::int64_t attempts) noexcept;

}  // namespace jk::core
