// The jobkeeper.databases setting: which databases the launcher serves.
#pragma once

#include <string_view>

namespace jk::core {

// True when name is one of the comma-separated names of list, or list is empty (or only
// blanks): every database. Names compare exactly as written, case included; blanks around a
// name are ignored; a name in double quotes may hold commas, blanks and "" for a quote.
bool DatabaseListContains(std::string_view list, std::string_view name) noexcept;

}  // namespace jk::core
