// The SQL versions this library serves (see versions.hpp).
#include "core/versions.hpp"

#include <iterator>

namespace jk::core {

bool IsServedSqlVersion(std::string_view installed) noexcept {
  for (std::string_view v : kServedSqlVersions) {
    if (v == installed) return true;
  }
  return false;
}

std::string_view NewestServedSqlVersion() noexcept {
  return kServedSqlVersions[std::size(kServedSqlVersions) - 1];
}

}  // namespace jk::core
