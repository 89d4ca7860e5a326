#pragma once
// Status and Result<T>: the error channel for expected failures (bad input, I/O).
// Errors carry a kind so callers can tell a user's mistake from a broken invariant.

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace sluice {

enum class ErrorKind {
  kOk = 0,
  kUser,          // bad SQL, option, data: the user can fix it
  kNotSupported,  // valid but not implemented yet
  kIo,            // the outside world failed (file, network)
  kInternal,      // a bug in Sluice
  kCancelled,     // stopped on request
};

const char* ErrorKindName(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message)
      : state_(std::make_shared<State>(State{kind, std::move(message)})) {}

  static Status Ok() { return {}; }
  template <typename... Args>
  static Status User(fmt::format_string<Args...> f, Args&&... args) {
    return {ErrorKind::kUser, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status NotSupported(fmt::format_string<Args...> f, Args&&... args) {
    return {ErrorKind::kNotSupported, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Io(fmt::format_string<Args...> f, Args&&... args) {
    return {ErrorKind::kIo, fmt::format(f, std::forward<Args>(args)...)};
  }
  template <typename... Args>
  static Status Internal(fmt::format_string<Args...> f, Args&&... args) {
    return {ErrorKind::kInternal, fmt::format(f, std::forward<Args>(args)...)};
  }
  static Status Cancelled(std::string m) { return {ErrorKind::kCancelled, std::move(m)}; }

  bool ok() const { return state_ == nullptr; }
  ErrorKind kind() const { return state_ ? state_->kind : ErrorKind::kOk; }
  const std::string& message() const;
  // "kind: message" for logs; user errors print the message alone.
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  struct State {
    ErrorKind kind;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) std::abort();                     // a Result from an OK status is a bug
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& value() { return *value_; }
  T MoveValue() { return std::move(*value_); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace sluice

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)

#define SLUICE_RETURN_NOT_OK(expr) \
  do {                             \
    ::sluice::Status _st = (expr); \
    if (!_st.ok()) return _st;     \
  } while (0)

#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = tmp.MoveValue()

#define SLUICE_ASSIGN_OR_RETURN(lhs, rexpr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, rexpr)
