// Parsing jobkeeper.databases without allocating: one pass over the list per lookup.
#include "core/database_list.hpp"

namespace jk::core {

namespace {

bool IsBlank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Compares the quoted item starting after the opening quote at list[pos] with name; moves
// pos past the closing quote.
bool QuotedEquals(std::string_view list, std::size_t* pos, std::string_view name) noexcept {
  std::size_t i = *pos + 1;
  std::size_t matched = 0;
  bool equal = true;
  while (i < list.size()) {
    char c = list[i];
    if (c == '"') {
      if (i + 1 < list.size() && list[i + 1] == '"') {
        ++i;  // "" stands for one quote
      } else {
        ++i;
        break;
      }
    }
    equal = equal && matched < name.size() && name[matched] == c;
    ++matched;
    ++i;
  }
  *pos = i;
  return equal && matched == name.size();
}

}  // namespace

bool DatabaseListContains(std::string_view list, std::string_view name) noexcept {
  std::size_t pos = 0;
  bool any = false;
  while (pos <= list.size()) {
    while (pos < list.size() && IsBlank(list[pos])) ++pos;
    bool equal;
    if (pos < list.size() && list[pos] == '"') {
      equal = QuotedEquals(list, &pos, name);
      any = true;
      while (pos < list.size() && list[pos] != ',') ++pos;  // anything after the quote
    } else {
      const std::size_t start = pos;
      while (pos < list.size() && list[pos] != ',') ++pos;
      std::size_t end = pos;
      while (end > start && IsBlank(list[end - 1])) --end;
      any = any || end > start;
      equal = end > start && list.substr(start, end - start) == name;
    }
    if (equal) return true;
    ++pos;  // past the comma (or the end)
  }
  return !any;
}

}  // namespace jk::core
