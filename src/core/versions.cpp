// The SQL versions this library serves (see versions.hpp).
#include "core/versions.hpp"

namespace jk::core {

bool IsServedSqlVersion(std::string_view installed) noexcept {
  for (std::string_view v : kServedSqlVersions) {
    if (v == installed) return true;
  }
  return false;
}

}  // namespace jk::core
