// Turns whatever C++ threw into a SQLSTATE and text, without allocating.
#include "core/caught_error.hpp"

#include <cstring>
#include <new>

#include "core/error.hpp"
#include "core/text.hpp"

namespace jk::core {

void CopyTruncated(char* out, std::size_t size, const char* text) noexcept {
  const std::size_t len = Utf8PrefixLength(text, size - 1);
  std::memcpy(out, text, len);
  out[len] = '\0';
}

namespace {

void Fill(CaughtError* out, SqlState state, const char* message, const char* detail,
          const char* hint) noexcept {
  out->state = state;
  CopyTruncated(out->message, kCaughtTextSize, message);
  CopyTruncated(out->detail, kCaughtTextSize, detail);
  CopyTruncated(out->hint, kCaughtTextSize, hint);
}

}  // namespace

void CaptureCurrentException(CaughtError* out) noexcept {
  // Rethrowing the in-flight exception is the portable way to learn its type; every
  // branch ends here, so nothing escapes this noexcept function.
  try {
    throw;
  } catch (const Error& e) {
    Fill(out, e.state(), e.message().c_str(), e.detail().c_str(), e.hint().c_str());
  } catch (const std::bad_alloc&) {
    Fill(out, SqlState::kOutOfMemory, "out of memory",
         "jobkeeper could not allocate memory outside PostgreSQL's memory contexts.", "");
  } catch (const std::exception& e) {
    // The text of a standard exception is for a bug report, so it goes in the detail.
    Fill(out, SqlState::kInternalError, "internal error in jobkeeper", e.what(),
         "This is a bug in jobkeeper; please report it with this detail.");
  } catch (...) {
    Fill(out, SqlState::kInternalError, "internal error in jobkeeper",
         "An exception of unknown type was raised.",
         "This is a bug in jobkeeper; please report it with this detail.");
  }
}

}  // namespace jk::core
