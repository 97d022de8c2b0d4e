// The SQL versions this library serves (see versions.hpp).
#include "core/versions.hpp"

namespace jk::core {

namespace {

// Parses "major.minor" (digits only); false otherwise.
bool ParseVersion(std::string_view v, long* major, long* minor) noexcept {
  long* part = major;
  *major = *minor = 0;
  bool digits = false;
  for (char c : v) {
    if (c == '.' && part == major && digits) {
      part = minor;
      digits = false;
    } else if (c >= '0' && c <= '9' && *part < 100000) {
      *part = *part * 10 + (c - '0');
      digits = true;
    } else {
      return false;
    }
  }
  return part == minor && digits;
}

}  // namespace

bool IsServedSqlVersion(std::string_view installed) noexcept {
  for (std::string_view v : kServedSqlVersions) {
    if (v == installed) return true;
  }
  return false;
}

}  // namespace jk::core

namespace jk::core {

bool SqlVersionAtLeast(std::string_view installed, std::string_view since) noexcept {
  long a_major, a_minor, b_major, b_minor;
  if (!ParseVersion(installed, &a_major, &a_minor) || !ParseVersion(since, &b_major, &b_minor)) {
    return false;
  }
  return a_major != b_major ? a_major > b_major : a_minor >= b_minor;
}

}  // namespace jk::core
