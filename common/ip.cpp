#include "common/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ward {

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress address;
  address.family_ = IpFamily::V4;
  for (int i = 0; i < 4; ++i) address.bytes_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress address;
  address.family_ = IpFamily::V6;
  address.bytes_ = bytes;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN + 1] = {};
  std::memcpy(buffer, text.data(), text.size());
  std::array<std::uint8_t, 16> raw{};
  if (inet_pton(AF_INET, buffer, raw.data()) == 1) {
    IpAddress address;
    address.family_ = IpFamily::V4;
    address.bytes_ = raw;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, raw.data()) == 1) return v6(raw);
  return std::nullopt;
}

std::uint32_t IpAddress::v4_host_order() const noexcept {
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) | (std::uint32_t{bytes_[2]} << 8) |
         std::uint32_t{bytes_[3]};
}

bool IpAddress::bit(unsigned index) const noexcept {
  return ((bytes_[index / 8] >> (7 - index % 8)) & 1U) != 0;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_ == IpFamily::V4 ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

std::optional<IpPrefix> IpPrefix::make(const IpAddress& address, unsigned length) {
  if (length > address.bit_width()) return std::nullopt;
  for (unsigned i = length; i < address.bit_width(); ++i) {
    if (address.bit(i)) return std::nullopt;
  }
  IpPrefix prefix;
  prefix.address_ = address;
  prefix.length_ = length;
  return prefix;
}

IpPrefix IpPrefix::any(IpFamily family) {
  return *make(family == IpFamily::V4 ? IpAddress::v4(0) : IpAddress::v6({}), 0);
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  if (slash == std::string_view::npos) return host(*address);
  const auto digits = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return make(*address, length);
}

bool IpPrefix::contains(const IpAddress& candidate) const noexcept {
  if (candidate.family() != family()) return false;
  const auto& a = address_.bytes();
  const auto& b = candidate.bytes();
  const unsigned full_bytes = length_ / 8;
  if (std::memcmp(a.data(), b.data(), full_bytes) != 0) return false;
  const unsigned rest = length_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

std::string IpPrefix::to_string() const {
  return address_.to_string() + "/" + std::to_string(length_);
}

std::string PortRange::to_string() const {
  if (is_any()) return "any";
  if (is_single()) return std::to_string(first);
  return std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace ward
