// IP addresses, prefixes and port ranges (IPv4 and IPv6), shared by the model, driver and IKE.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ward {

enum class IpFamily : std::uint8_t { V4, V6 };

class IpAddress {
 public:
  constexpr IpAddress() = default;
  static IpAddress v4(std::uint32_t host_order);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);
  static std::optional<IpAddress> parse(std::string_view text);

  IpFamily family() const noexcept { return family_; }
  unsigned bit_width() const noexcept { return family_ == IpFamily::V4 ? 32 : 128; }
  // Network byte order; an IPv4 address uses the first 4 bytes.
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  // As on the wire: 4 bytes for IPv4, 16 for IPv6.
  std::span<const std::byte> wire_bytes() const noexcept {
    return std::as_bytes(std::span(bytes_).first(family_ == IpFamily::V4 ? 4 : 16));
  }
  std::uint32_t v4_host_order() const noexcept;
  bool bit(unsigned index) const noexcept;  // index 0 is the most significant bit
  std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::V4;
  std::array<std::uint8_t, 16> bytes_{};
};

class IpPrefix {
 public:
  IpPrefix() = default;
  // Host bits of `address` beyond `length` must be zero; use make() to check.
  static std::optional<IpPrefix> make(const IpAddress& address, unsigned length);
  static IpPrefix host(const IpAddress& address) { return *make(address, address.bit_width()); }
  static IpPrefix any(IpFamily family);
  // "10.1.0.0/16", "2001:db8::/32", or a bare address (a host prefix).
  static std::optional<IpPrefix> parse(std::string_view text);

  const IpAddress& address() const noexcept { return address_; }
  unsigned length() const noexcept { return length_; }
  IpFamily family() const noexcept { return address_.family(); }
  bool is_host() const noexcept { return length_ == address_.bit_width(); }
  bool is_any() const noexcept { return length_ == 0; }
  bool contains(const IpAddress& candidate) const noexcept;
  std::string to_string() const;

  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;

 private:
  IpAddress address_;
  unsigned length_ = 0;
};

// An inclusive port range; {0, 65535} is "any port".
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 65535;

  static constexpr PortRange any() { return {0, 65535}; }
  static constexpr PortRange single(std::uint16_t port) { return {port, port}; }
  bool is_any() const noexcept { return first == 0 && last == 65535; }
  bool is_single() const noexcept { return first == last; }
  bool contains(std::uint16_t port) const noexcept { return port >= first && port <= last; }
  std::string to_string() const;

  friend auto operator<=>(const PortRange&, const PortRange&) = default;
};

}  // namespace ward
