// AhSa: RFC 4302 AH for one SA and one direction, transport or tunnel mode, IPv4 or IPv6, with
// HMAC-SHA1-96 or HMAC-SHA-256-128 (HMAC-MD5-96 with allow_legacy) and optional ESN.
//
// The ICV covers the IP header with its mutable fields zeroed (IPv4: TOS, flags/fragment offset,
// TTL, checksum; IPv6: traffic class, flow label, hop limit), the AH header with a zero ICV, the
// payload, and with ESN the implicit high half of the sequence number (RFC 4302 3.3.3.1). ICV
// padding (IPv6 with a 16-byte ICV) is sent as zeros and authenticated as received.
//
// Limits: the header that AH authenticates must be plain: IPv4 options and IPv6 extension headers
// in front of AH (whose mutability is per option) give DropReason::UnsupportedPacket. In tunnel
// mode the inner packet may carry either, since it is authenticated whole.
//
// Thread safety: as EspSa, one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/crypto/drop_reason.h"
#include "driver/crypto/esp.h"
#include "driver/crypto/replay_window.h"
#include "driver/crypto/sa_params.h"
#include "driver/crypto/transforms.h"

namespace ward::driver::crypto {

class AhSa {
 public:
  static Expected<AhSa, std::string> create(const SaParams& params);

  Expected<void, DropReason> encapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out);
  Expected<Decapsulated, DropReason> decapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out);

  std::uint32_t spi() const noexcept { return spi_; }
  std::uint64_t last_sent_sequence() const noexcept { return last_sent_; }
  const ReplayWindow& replay_window() const noexcept { return replay_; }

 private:
  AhSa(const SaParams& params, IntegrityTransform integrity, ReplayWindow replay);
  std::size_t icv_field_length(IpVersion version) const noexcept;
  // icv_padding: the bytes of the ICV field after the ICV; authenticated as sent (RFC 4302 3.3.3.2.1).
  bool compute_icv(std::span<const std::byte> ip_header, IpVersion version, std::span<const std::byte> ah_fixed,
                   std::span<const std::byte> icv_padding, std::span<const std::byte> payload,
                   std::uint32_t sequence_high, std::span<std::byte> icv_out) noexcept;

  std::uint32_t spi_;
  Direction direction_;
  Mode mode_;
  std::optional<TunnelEndpoints> tunnel_;
  bool esn_;
  IntegrityTransform integrity_;
  ReplayWindow replay_;
  std::uint64_t last_sent_ = 0;
  std::uint16_t ipv4_identification_ = 0;
};

}  // namespace ward::driver::crypto
