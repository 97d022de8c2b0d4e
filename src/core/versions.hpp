// The SQL versions of jobkeeper that this library serves (SPEC section 9). One library serves
// every released SQL version it supports: after a package upgrade, a database still at an
// older version keeps its functions, triggers and worker until someone runs ALTER EXTENSION
// jobkeeper UPDATE; nothing updates by itself.
#pragma once

#include <string_view>

namespace jk::core {

// Oldest first; the last one is the library's own version (a test checks it against
// jobkeeper.control). A version leaves this list only with a new major version.
inline constexpr std::string_view kServedSqlVersions[] = {"1.0", "1.1"};

// True when a database at SQL version `installed` can be served by this library.
bool IsServedSqlVersion(std::string_view installed) noexcept;

// True when SQL version `installed` ("major.minor") is `since` or newer; false when either
// does not parse.
bool SqlVersionAtLeast(std::string_view installed, std::string_view since) noexcept;

// The first SQL version with TTL rules (jobkeeper.ttl_rules): the worker of a database still
// at an older version has none to run.
inline constexpr std::string_view kTtlRulesSince = "1.1";

}  // namespace jk::core
