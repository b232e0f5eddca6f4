// Secret: a string that must never reach a log. It has no stream operator and wipes itself.
#pragma once

#include <string>
#include <string_view>

namespace ward::model {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) {}
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // Named so that every use of the clear text is visible at the call site.
  std::string_view reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  std::size_t size() const noexcept { return value_.size(); }

  friend bool operator==(const Secret& a, const Secret& b) noexcept;

 private:
  void wipe() noexcept;
  std::string value_;
};

}  // namespace ward::model
