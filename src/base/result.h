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

// Decides the exit code: Usage -> 2, Interrupted -> 128 + the signal, everything else -> 1.
enum class ErrorKind { Usage, NotFound, Conflict, Failure, Interrupted };

struct Error {
  ErrorKind kind = ErrorKind::Failure;
  std::string message;

  // Prefixes context: Error{"No space"}.wrap("btrfs snapshot a -> b").
  Error wrap(const std::string& context) const {
    return Error{kind, context + ": " + message};
  }
};

// [[nodiscard]]: a Result nobody looks at is a failure nobody handles. A call
// that drops one on purpose says why with ignore_error().
template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result() = default;
  Result(const tl::expected<T, Error>& e) : tl::expected<T, Error>(e) {}
  Result(tl::expected<T, Error>&& e) : tl::expected<T, Error>(std::move(e)) {}
};

using Status = Result<void>;

// The error of a failed step whose undo failed too: both are reported, so the
// user learns what is left behind ("...; removing the half-made clone X failed too: ...").
inline Error with_undo(Error error, const Result<void>& undo, const std::string& undo_what) {
  if (!undo) error.message += "; " + undo_what + " failed too: " + undo.error().message;
  return error;
}

// Drops a result on purpose; `why` documents the reason at the call site.
template <typename T>
inline void ignore_error(const Result<T>& /*result*/, const char* /*why*/) {}

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
