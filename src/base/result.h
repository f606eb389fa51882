// Errors as values. Every fallible function returns Result<T>; only cli/
// turns an Error into text on stderr and an exit code.
//
// An Error's message reads "subject: operation: cause", e.g.
//   branch 'prod/dev': btrfs snapshot /pool/prod/main -> /pool/prod/dev: No space left on device
// and, where it can, ends with the fix.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace pgd {

// Decides the exit code: Usage -> 2, everything else -> 1.
enum class ErrorKind { Usage, NotFound, Conflict, Failure };

struct Error {
  ErrorKind kind = ErrorKind::Failure;
  std::string message;

  // Prefixes context: Error{"No space"}.wrap("btrfs snapshot a -> b").
  Error wrap(const std::string& context) const {
    return Error{kind, context + ": " + message};
  }
};

template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected(Error{ErrorKind::Failure, std::move(message)});
}
inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected(Error{kind, std::move(message)});
}
inline tl::unexpected<Error> fail(Error error) {
  return tl::unexpected(std::move(error));
}

}  // namespace pgd

// TRY(expr): evaluates a Result; on error returns it from the enclosing function.
#define PGD_CONCAT_(a, b) a##b
#define PGD_CONCAT(a, b) PGD_CONCAT_(a, b)
#define TRY(expr)                                              \
  do {                                                         \
    auto&& PGD_CONCAT(try_, __LINE__) = (expr);                \
    if (!PGD_CONCAT(try_, __LINE__))                           \
      return ::tl::unexpected(PGD_CONCAT(try_, __LINE__).error()); \
  } while (0)

// TRY_ASSIGN(var, expr): like TRY, and moves the value into `var` (which it may
// declare). Expands to several statements: brace it under an `if`.
#define TRY_ASSIGN(var, expr)                                  \
  auto PGD_CONCAT(tryv_, __LINE__) = (expr);                   \
  if (!PGD_CONCAT(tryv_, __LINE__))                            \
    return ::tl::unexpected(PGD_CONCAT(tryv_, __LINE__).error()); \
  var = std::move(*PGD_CONCAT(tryv_, __LINE__))
