// The one exception type core code throws: a SQLSTATE plus user-facing text.
#pragma once

#include <exception>
#include <string>

#include "core/sqlstate.hpp"

namespace jk::core {

// An error meant for the SQL caller; the guard turns it into ereport(ERROR).
class Error : public std::exception {
 public:
  Error(SqlState state, std::string message, std::string detail = {}, std::string hint = {})
      : state_(state), message_(std::move(message)), detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  const char* what() const noexcept override { return message_.c_str(); }
  SqlState state() const noexcept { return state_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  SqlState state_;
  std::string message_;
  std::string detail_;
  std::string hint_;
};

}  // namespace jk::core
