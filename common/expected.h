// Expected<T, E>: a value or the error that prevented it (std::expected arrives with C++23).
// Parsers and component boundaries return this instead of throwing.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <optional>
#include <variant>

namespace ward {

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  E& error() & { return error_; }
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return Unexpected<std::decay_t<E>>(std::forward<E>(error));
}

namespace detail {
[[noreturn]] inline void bad_expected_access(const char* what) {
  std::fprintf(stderr, "ward: %s on an Expected holding the other alternative\n", what);
  std::abort();
}
}  // namespace detail

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T, std::enable_if_t<std::is_constructible_v<T, U&&>, int> = 0>
  Expected(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Expected(Unexpected<E> error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Expected*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return checked_value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &checked_value(); }
  const T* operator->() const { return &value(); }

  E& error() & { return checked_error(); }
  const E& error() const& { return const_cast<Expected*>(this)->checked_error(); }
  E&& error() && { return std::move(checked_error()); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(storage_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  T& checked_value() {
    if (!has_value()) detail::bad_expected_access("value()");
    return std::get<0>(storage_);
  }
  E& checked_error() {
    if (has_value()) detail::bad_expected_access("error()");
    return std::get<1>(storage_).error();
  }

  std::variant<T, Unexpected<E>> storage_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Expected() = default;
  Expected(Unexpected<E> error) : error_(std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (!has_value()) detail::bad_expected_access("value()");
  }
  const E& error() const {
    if (has_value()) detail::bad_expected_access("error()");
    return error_->error();
  }

 private:
  std::optional<Unexpected<E>> error_;
};

}  // namespace ward
