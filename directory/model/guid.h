// Guid: a 128-bit identifier in the curly-braced text form AD uses for ipsecID values.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ward::model {

class Guid {
 public:
  // Data1..Data4 as in the text form {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}, most significant first.
  using Bytes = std::array<std::uint8_t, 16>;

  constexpr Guid() = default;
  constexpr explicit Guid(const Bytes& bytes) : bytes_(bytes) {}

  // Accepts the form with or without braces, any letter case.
  static std::optional<Guid> parse(std::string_view text);
  static Guid random();

  // "{6A1E5C3F-72B7-11D2-ACF0-0260B025CAFE}", upper case as Windows writes it.
  std::string to_string() const;
  const Bytes& bytes() const noexcept { return bytes_; }
  bool is_nil() const noexcept { return *this == Guid{}; }

  friend constexpr auto operator<=>(const Guid&, const Guid&) = default;

 private:
  Bytes bytes_{};
};

}  // namespace ward::model
