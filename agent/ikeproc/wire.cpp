#include "agent/ikeproc/wire.h"

#include <algorithm>

namespace ward::agent::ikeproc {

namespace {
constexpr std::uint8_t kFamilyV4 = 4;
constexpr std::uint8_t kFamilyV6 = 6;
}  // namespace

void Encoder::address(const IpAddress& a) {
  u8(a.family() == IpFamily::V4 ? kFamilyV4 : kFamilyV6);
  raw(a.bytes().data(), a.bytes().size());
}

void Encoder::address(const driver::crypto::IpAddress& a) {
  u8(a.version == driver::crypto::IpVersion::V4 ? kFamilyV4 : kFamilyV6);
  raw(a.bytes.data(), a.bytes.size());
}

void Decoder::fail(std::string_view field, const std::string& why, std::optional<std::size_t> at) {
  if (error_.empty()) {
    error_ = what_ + ": " + path_ + std::string(field) + " at byte " + std::to_string(at.value_or(position_)) + ": " + why;
  }
}

void Decoder::raw(void* p, std::size_t n, std::string_view field) {
  if (!ok() || n == 0) return;
  if (n > in_.size() - position_) {
    fail(field, "needs " + std::to_string(n) + " bytes, " + std::to_string(in_.size() - position_) + " left");
    return;
  }
  std::memcpy(p, in_.data() + position_, n);
  position_ += n;
}

bool Decoder::boolean(std::string_view field) {
  const auto at = position_;
  const auto v = u8(field);
  if (v > 1) fail(field, "not a boolean", at);
  return v == 1;
}

std::vector<std::byte> Decoder::bytes(std::string_view field) {
  const auto n = count(field, 1);
  std::vector<std::byte> out(ok() ? n : 0);
  raw(out.data(), out.size(), field);
  return out;
}

std::size_t Decoder::count(std::string_view field, std::size_t min_size) {
  const auto at = position_;
  const auto n = u32(field);
  if (ok() && static_cast<std::uint64_t>(n) * min_size > in_.size() - position_) {
    fail(field, "count " + std::to_string(n) + " exceeds the body", at);
  }
  return ok() ? n : 0;
}

// A family byte (4 or 6), then 16 bytes; an IPv4 address uses the first 4, the rest must be zero.
IpAddress Decoder::address(std::string_view field) {
  const auto at = position_;
  const auto family = u8(field);
  std::array<std::uint8_t, 16> b{};
  raw(b.data(), b.size(), field);
  if (!ok()) return {};
  if (family == kFamilyV4) {
    if (std::any_of(b.begin() + 4, b.end(), [](std::uint8_t x) { return x != 0; })) fail(field, "IPv4 address with bytes after the fourth", at);
    return IpAddress::v4(static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
                         static_cast<std::uint32_t>(b[2]) << 8 | b[3]);
  }
  if (family != kFamilyV6) fail(field, "address family " + std::to_string(family), at);
  return IpAddress::v6(b);
}

driver::crypto::IpAddress Decoder::crypto_address(std::string_view field) {
  const auto a = address(field);
  if (!ok()) return {};
  driver::crypto::IpAddress out;
  out.version = a.family() == IpFamily::V4 ? driver::crypto::IpVersion::V4 : driver::crypto::IpVersion::V6;
  std::transform(a.bytes().begin(), a.bytes().end(), out.bytes.begin(), [](std::uint8_t x) { return std::byte{x}; });
  return out;
}

}  // namespace ward::agent::ikeproc
