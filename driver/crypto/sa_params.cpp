#include "driver/crypto/sa_params.h"

#include <cstdio>

#include <openssl/crypto.h>

namespace ward::driver::crypto {

void SecureBytes::wipe() noexcept {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

SecureBytes& SecureBytes::operator=(const SecureBytes& other) {
  if (this != &other) {
    wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
  IpAddress address;
  address.version = IpVersion::V4;
  address.bytes[0] = std::byte{a};
  address.bytes[1] = std::byte{b};
  address.bytes[2] = std::byte{c};
  address.bytes[3] = std::byte{d};
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, kIpv6AddressLength>& raw) noexcept {
  IpAddress address;
  address.version = IpVersion::V6;
  for (std::size_t i = 0; i < raw.size(); ++i) address.bytes[i] = std::byte{raw[i]};
  return address;
}

std::optional<IpAddress> IpAddress::from_bytes(std::span<const std::byte> raw) noexcept {
  if (raw.size() != kIpv4AddressLength && raw.size() != kIpv6AddressLength) return std::nullopt;
  IpAddress address;
  address.version = raw.size() == kIpv4AddressLength ? IpVersion::V4 : IpVersion::V6;
  std::copy(raw.begin(), raw.end(), address.bytes.begin());
  return address;
}

std::string IpAddress::to_string() const {
  char text[48];
  if (version == IpVersion::V4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", std::to_integer<unsigned>(bytes[0]),
                  std::to_integer<unsigned>(bytes[1]), std::to_integer<unsigned>(bytes[2]),
                  std::to_integer<unsigned>(bytes[3]));
    return text;
  }
  std::string out;
  for (std::size_t i = 0; i < kIpv6AddressLength; i += 2) {
    std::snprintf(text, sizeof text, "%s%x", i == 0 ? "" : ":",
                  (std::to_integer<unsigned>(bytes[i]) << 8) | std::to_integer<unsigned>(bytes[i + 1]));
    out += text;
  }
  return out;
}

std::string_view name_of(SecurityProtocol value) noexcept {
  switch (value) {
    case SecurityProtocol::Esp: return "ESP";
    case SecurityProtocol::Ah: return "AH";
  }
  return "?";
}

std::string_view name_of(Direction value) noexcept {
  switch (value) {
    case Direction::Inbound: return "inbound";
    case Direction::Outbound: return "outbound";
  }
  return "?";
}

std::string_view name_of(Mode value) noexcept {
  switch (value) {
    case Mode::Transport: return "transport";
    case Mode::Tunnel: return "tunnel";
  }
  return "?";
}

std::string_view name_of(Cipher value) noexcept {
  switch (value) {
    case Cipher::Null: return "NULL";
    case Cipher::AesCbc128: return "AES-CBC-128";
    case Cipher::AesCbc256: return "AES-CBC-256";
    case Cipher::AesGcm128: return "AES-GCM-128";
    case Cipher::AesGcm256: return "AES-GCM-256";
    case Cipher::TripleDesCbc: return "3DES-CBC";
  }
  return "?";
}

std::string_view name_of(Integrity value) noexcept {
  switch (value) {
    case Integrity::None: return "none";
    case Integrity::HmacSha1_96: return "HMAC-SHA1-96";
    case Integrity::HmacSha256_128: return "HMAC-SHA-256-128";
    case Integrity::HmacMd5_96: return "HMAC-MD5-96";
  }
  return "?";
}

std::string describe_sa(const SaParams& params) {
  char spi[16];
  std::snprintf(spi, sizeof spi, "0x%08x", params.spi);
  return std::string(name_of(params.protocol)) + " SA " + spi + " (" + std::string(name_of(params.direction)) + ")";
}

}  // namespace ward::driver::crypto

namespace ward::driver::crypto {

std::size_t encryption_key_length(Cipher cipher) noexcept {
  switch (cipher) {
    case Cipher::Null: return 0;
    case Cipher::AesCbc128: return kAes128KeyLength;
    case Cipher::AesCbc256: return kAes256KeyLength;
    case Cipher::AesGcm128: return kAes128KeyLength + kGcmSaltLength;
    case Cipher::AesGcm256: return kAes256KeyLength + kGcmSaltLength;
    case Cipher::TripleDesCbc: return kTripleDesKeyLength;
  }
  return 0;
}

std::size_t integrity_key_length(Integrity integrity) noexcept {
  switch (integrity) {
    case Integrity::None: return 0;
    case Integrity::HmacSha1_96: return kHmacSha1KeyLength;
    case Integrity::HmacSha256_128: return kHmacSha256KeyLength;
    case Integrity::HmacMd5_96: return kHmacMd5KeyLength;
  }
  return 0;
}

Expected<void, std::string> check_common_sa_params(const SaParams& params) {
  const std::string sa = describe_sa(params);
  if (params.spi < kMinValidSpi) {
    return unexpected(sa + ": SPI values below " + std::to_string(kMinValidSpi) + " are reserved (RFC 4303 2.1)");
  }
  if (params.mode == Mode::Tunnel) {
    if (!params.tunnel) return unexpected(sa + ": tunnel mode needs tunnel endpoints");
    if (params.tunnel->local.version != params.tunnel->remote.version) {
      return unexpected(sa + ": tunnel endpoints " + params.tunnel->local.to_string() + " and " +
                        params.tunnel->remote.to_string() + " are of different IP versions");
    }
  }
  if (params.replay_window > kMaxReplayWindow) {
    return unexpected(sa + ": replay window of " + std::to_string(params.replay_window) +
                      " packets exceeds the maximum of " + std::to_string(kMaxReplayWindow));
  }
  if (params.integrity == Integrity::HmacMd5_96 && !params.allow_legacy) {
    return unexpected(sa + ": HMAC-MD5-96 is a legacy algorithm; set allow_legacy in the SA parameters to use it");
  }
  const std::size_t key_length = integrity_key_length(params.integrity);
  if (params.integrity_key.size() != key_length) {
    return unexpected(sa + ": " + std::string(name_of(params.integrity)) + " needs a " + std::to_string(key_length) +
                      "-byte integrity key, got " + std::to_string(params.integrity_key.size()));
  }
  return {};
}

}  // namespace ward::driver::crypto
