// File: flopline/core/result.h
//
// Every fallible call in flopline returns core::Result<T>: a value or an Error. Result is
// tl::expected so that it can become std::expected under C++23 without touching callers.
//
//   FL_ASSIGN_OR_RETURN(auto arch, ParseHfConfig(text, path));
//   FL_RETURN_IF_ERROR(CheckPositive(tokens, "tokens"));
//
// Errors that come from user input carry a Location (file, line, column) and the field they are
// about; Error::ToString() renders the one-line message the CLI prints.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace flopline::core {

// Canonical codes after absl::StatusCode.
enum class Code {
  kInvalidArgument,     // the user's input is wrong: exit code 2
  kNotFound,            // a file, model or table row that does not exist
  kAlreadyExists,
  kFailedPrecondition,  // the system is not in a state to do this
  kAborted,             // retryable conflict
  kUnavailable,
  kDataLoss,            // stored data fails verification
  kInternal,            // a bug in flopline
};

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct Error {
  Code code = Code::kInternal;
  std::string message;
  std::optional<Location> where;
  std::string field;  // the input field the error is about, if any

  // "FILE:LINE:COL: field 'F': MESSAGE", dropping whatever part is unknown.
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// The success value of a Result<void>.
inline Result<void> Ok() { return {}; }

// Builders for the common cases. They return tl::unexpected so that `return InvalidArgument(..)`
// works from any function returning Result<T>.
tl::unexpected<Error> MakeError(Code code, std::string message, std::string field = {},
                                std::optional<Location> where = std::nullopt);

inline tl::unexpected<Error> InvalidArgument(std::string message, std::string field = {},
                                             std::optional<Location> where = std::nullopt) {
  return MakeError(Code::kInvalidArgument, std::move(message), std::move(field), std::move(where));
}
inline tl::unexpected<Error> NotFound(std::string message, std::string field = {},
                                      std::optional<Location> where = std::nullopt) {
  return MakeError(Code::kNotFound, std::move(message), std::move(field), std::move(where));
}

// The whole of the file at `path`; kNotFound naming the path when it cannot be opened or read.
Result<std::string> ReadFile(const std::string& path);

// A file from an untrusted place (a key, a credential, a document, an export): opened once, with
// its type, size and mode checked on that descriptor, so nothing can be swapped in between; a FIFO
// never blocks the open (O_NONBLOCK) and is refused; never more than `max_bytes` are read, whatever
// the file claims. Errors name the path: kNotFound when it cannot be opened, kInvalidArgument when
// it is not a regular file or too large, kFailedPrecondition when its mode is refused.
struct ReadLimits {
  size_t max_bytes = size_t{64} << 10;
  bool follow_symlink = false;   // a key file that is a symlink may point anywhere: refused (ELOOP)
  unsigned refused_mode = 0;     // permission bits that refuse the file, e.g. 077 for a secret key
  bool allow_empty = true;
};
Result<std::string> ReadRegularFile(const std::string& path, const ReadLimits& limits);

}  // namespace flopline::core

#define FL_CONCAT_INNER_(a, b) a##b
#define FL_CONCAT_(a, b) FL_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Result<void> or Result<T>); returns its error from the enclosing function.
// (__COUNTER__ keeps the temporaries of nested expansions, e.g. inside a lambda argument, apart.)
#define FL_RETURN_IF_ERROR(expr) FL_RETURN_IF_ERROR_IMPL_(FL_CONCAT_(fl_status_, __COUNTER__), expr)
#define FL_RETURN_IF_ERROR_IMPL_(tmp, expr)                           \
  do {                                                                \
    auto tmp = (expr);                                                \
    if (!tmp) return ::tl::unexpected(std::move(tmp).error());        \
  } while (false)

// Evaluates `expr` (a Result<T>); on success moves the value into `lhs`, otherwise returns the error.
#define FL_ASSIGN_OR_RETURN(lhs, expr) \
  FL_ASSIGN_OR_RETURN_IMPL_(FL_CONCAT_(fl_result_, __COUNTER__), lhs, expr)
#define FL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                 \
  auto tmp = (expr);                                              \
  if (!tmp) return ::tl::unexpected(std::move(tmp).error());      \
  lhs = std::move(tmp).value()
