#include "driver/crypto/ah.h"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>

#include "common/byte_reader.h"
#include "driver/crypto/constants.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/output_lease.h"

namespace ward::driver::crypto {

namespace {

constexpr std::size_t kAhLengthUnit = 4;
constexpr std::size_t kAhLengthBias = 2;  // RFC 4302 2.2: payload length is in 32-bit words minus 2

std::size_t round_up(std::size_t value, std::size_t unit) noexcept { return (value + unit - 1) / unit * unit; }

// RFC 4302 3.3.3.1: a copy of the IP header with its mutable fields set to zero.
std::array<std::byte, kIpv6HeaderLength> zero_mutable_fields(std::span<const std::byte> header, IpVersion version) noexcept {
  std::array<std::byte, kIpv6HeaderLength> copy{};
  std::copy(header.begin(), header.end(), copy.begin());
  if (version == IpVersion::V4) {
    constexpr std::size_t kTos = 1, kFlagsFragment = 6, kTtl = 8, kChecksum = 10;
    copy[kTos] = std::byte{0};
    copy[kFlagsFragment] = copy[kFlagsFragment + 1] = std::byte{0};
    copy[kTtl] = std::byte{0};
    copy[kChecksum] = copy[kChecksum + 1] = std::byte{0};
  } else {
    constexpr std::size_t kHopLimit = 7;
    copy[0] &= std::byte{0xf0};  // keep the version; zero the traffic class ...
    copy[1] = copy[2] = copy[3] = std::byte{0};  // ... and the flow label
    copy[kHopLimit] = std::byte{0};
  }
  return copy;
}

}  // namespace

Expected<AhSa, std::string> AhSa::create(const SaParams& params) {
  const std::string sa = describe_sa(params);
  if (params.protocol != SecurityProtocol::Ah) return unexpected(sa + ": not an AH SA");
  if (auto common = check_common_sa_params(params); !common) return unexpected(common.error());
  if (params.integrity == Integrity::None) return unexpected(sa + ": AH needs an integrity algorithm");
  if (params.cipher != Cipher::Null || !params.encryption_key.empty()) {
    return unexpected(sa + ": AH does not encrypt; cipher must be NULL with no encryption key");
  }
  if (params.udp_encapsulation) return unexpected(sa + ": AH cannot be UDP-encapsulated (RFC 3948 covers ESP only)");
  auto integrity = IntegrityTransform::create(params.integrity, params.integrity_key.reveal());
  if (!integrity) return unexpected(sa + ": " + integrity.error());
  auto replay = ReplayWindow::create(params.replay_window, params.extended_sequence_numbers);
  if (!replay) return unexpected(sa + ": " + replay.error());
  return AhSa(params, std::move(*integrity), std::move(*replay));
}

AhSa::AhSa(const SaParams& params, IntegrityTransform integrity, ReplayWindow replay)
    : spi_(params.spi),
      direction_(params.direction),
      mode_(params.mode),
      tunnel_(params.tunnel),
      esn_(params.extended_sequence_numbers),
      integrity_(std::move(integrity)),
      replay_(std::move(replay)) {}

std::size_t AhSa::icv_field_length(IpVersion version) const noexcept {
  const std::size_t alignment = version == IpVersion::V4 ? kAhIpv4Alignment : kAhIpv6Alignment;
  return round_up(kAhFixedLength + integrity_.icv_length(), alignment) - kAhFixedLength;
}

bool AhSa::compute_icv(std::span<const std::byte> ip_header, IpVersion version, std::span<const std::byte> ah_fixed,
                       std::span<const std::byte> icv_padding, std::span<const std::byte> payload,
                       std::uint32_t sequence_high, std::span<std::byte> icv_out) noexcept {
  const auto header = zero_mutable_fields(ip_header, version);
  static constexpr std::array<std::byte, kMaxIcvLength> kZeros{};
  const std::array<std::byte, 4> high{std::byte{static_cast<std::uint8_t>(sequence_high >> 24)},
                                      std::byte{static_cast<std::uint8_t>(sequence_high >> 16)},
                                      std::byte{static_cast<std::uint8_t>(sequence_high >> 8)},
                                      std::byte{static_cast<std::uint8_t>(sequence_high)}};
  const std::array<std::span<const std::byte>, 6> parts{
      std::span<const std::byte>(header).first(ip_header.size()),
      ah_fixed,
      std::span<const std::byte>(kZeros).first(integrity_.icv_length()),  // the ICV itself counts as zero
      icv_padding,
      payload,
      esn_ ? std::span<const std::byte>(high) : std::span<const std::byte>(),
  };
  return integrity_.compute(parts, icv_out);
}

Expected<void, DropReason> AhSa::encapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out) {
  OutputLease lease(out);
  ByteWriter& writer = lease.writer();
  if (direction_ != Direction::Outbound) return unexpected(DropReason::WrongDirection);
  auto info = parse_ip_packet(packet, mode_ == Mode::Tunnel ? Fragments::Allow : Fragments::Reject);
  if (!info) return unexpected(info.error());
  if (mode_ == Mode::Transport && info->has_options) return unexpected(DropReason::UnsupportedPacket);
  const std::uint64_t limit = esn_ ? ~std::uint64_t{0} : kMax32BitSequence;
  if (last_sent_ >= limit) return unexpected(DropReason::SequenceOverflow);
  const std::uint64_t sequence = last_sent_ + 1;
  const std::span<const std::byte> whole = packet.first(info->total_length);

  IpVersion version = info->version;
  std::size_t protocol_offset = info->protocol_field_offset;
  std::uint8_t next_header = info->protocol;
  std::span<const std::byte> payload;
  if (mode_ == Mode::Transport) {
    writer.bytes(whole.first(info->header_length));
    payload = whole.subspan(info->header_length);
  } else {
    version = tunnel_->local.version;
    protocol_offset = version == IpVersion::V4 ? kIpv4ProtocolOffset : kIpv6NextHeaderOffset;
    next_header = info->version == IpVersion::V4 ? kProtoIpv4InIp : kProtoIpv6InIp;
    write_outer_header(writer, *tunnel_, info->traffic_class, kProtoAh, ++ipv4_identification_);
    payload = whole;
  }
  writer.patch_u8(protocol_offset, kProtoAh);
  const std::size_t header_length = writer.size();
  const std::size_t icv_field = icv_field_length(version);
  const std::size_t ah_at = writer.size();
  writer.u8(next_header);
  writer.u8(static_cast<std::uint8_t>((kAhFixedLength + icv_field) / kAhLengthUnit - kAhLengthBias));
  writer.u16_be(0);  // reserved
  writer.u32_be(spi_);
  writer.u32_be(static_cast<std::uint32_t>(sequence));
  writer.zeros(icv_field);  // padding beyond the ICV stays zero
  writer.bytes(payload);
  if (auto finished = finish_ip_header(writer, version, header_length); !finished) {
    lease.discard();
    return finished;
  }
  const std::span<std::byte> all = writer.written();
  const std::size_t icv_length = integrity_.icv_length();
  if (!compute_icv(all.first(header_length), version, all.subspan(ah_at, kAhFixedLength),
                   all.subspan(ah_at + kAhFixedLength + icv_length, icv_field - icv_length), payload,
                   static_cast<std::uint32_t>(sequence >> 32),
                   all.subspan(ah_at + kAhFixedLength, integrity_.icv_length()))) {
    lease.discard();
    return unexpected(DropReason::CryptoFailure);
  }
  last_sent_ = sequence;
  return {};
}

Expected<Decapsulated, DropReason> AhSa::decapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out) {
  OutputLease lease(out);
  ByteWriter& writer = lease.writer();
  if (direction_ != Direction::Inbound) return unexpected(DropReason::WrongDirection);
  auto info = parse_ip_packet(packet);
  if (!info) return unexpected(info.error());
  if (info->protocol != kProtoAh) return unexpected(DropReason::NotIpsec);
  if (info->has_options) return unexpected(DropReason::UnsupportedPacket);
  if (mode_ == Mode::Tunnel && (info->source != tunnel_->remote || info->destination != tunnel_->local)) {
    return unexpected(DropReason::TunnelAddressMismatch);
  }
  const std::span<const std::byte> whole = packet.first(info->total_length);
  const std::span<const std::byte> header = whole.first(info->header_length);
  ByteReader reader(whole.subspan(info->header_length), "AH header", info->header_length);
  auto ah_fixed = reader.bytes(kAhFixedLength, "AH header");
  if (!ah_fixed) return unexpected(DropReason::Truncated);
  ByteReader fields(*ah_fixed, "AH header", info->header_length);
  const std::uint8_t next_header = *fields.u8("next header");
  const std::uint8_t length_field = *fields.u8("payload length");
  (void)*fields.u16_be("reserved");
  const std::uint32_t spi = *fields.u32_be("SPI");
  const std::uint32_t low = *fields.u32_be("sequence number");
  const std::size_t icv_field = icv_field_length(info->version);
  if ((std::size_t{length_field} + kAhLengthBias) * kAhLengthUnit != kAhFixedLength + icv_field) {
    return unexpected(DropReason::BadLength);
  }
  auto icv = reader.bytes(icv_field, "ICV");
  if (!icv) return unexpected(DropReason::Truncated);
  const std::span<const std::byte> payload = reader.rest();
  if (spi != spi_) return unexpected(DropReason::BadSpi);

  auto sequence = replay_.check(low);
  if (!sequence) return unexpected(sequence.error());
  std::array<std::byte, kMaxIcvLength> computed{};
  const std::span<std::byte> computed_icv = std::span<std::byte>(computed).first(integrity_.icv_length());
  if (!compute_icv(header, info->version, *ah_fixed, icv->subspan(computed_icv.size()), payload,
                   static_cast<std::uint32_t>(*sequence >> 32), computed_icv)) {
    return unexpected(DropReason::CryptoFailure);
  }
  if (CRYPTO_memcmp(computed_icv.data(), icv->data(), computed_icv.size()) != 0) {
    return unexpected(DropReason::IcvMismatch);
  }
  replay_.commit(*sequence);

  if (mode_ == Mode::Transport) {
    writer.bytes(header);
    writer.patch_u8(info->protocol_field_offset, next_header);
    writer.bytes(payload);
    if (auto finished = finish_ip_header(writer, info->version, info->header_length); !finished) {
      lease.discard();
      return unexpected(finished.error());
    }
    return Decapsulated{*sequence, next_header};
  }
  if (!is_tunnel_next_header(next_header)) return unexpected(DropReason::BadNextHeader);
  auto inner = parse_ip_packet(payload, Fragments::Allow);
  const IpVersion expected_version = next_header == kProtoIpv4InIp ? IpVersion::V4 : IpVersion::V6;
  if (!inner || inner->version != expected_version) return unexpected(DropReason::BadInnerPacket);
  writer.bytes(payload.first(inner->total_length));
  return Decapsulated{*sequence, next_header};
}

}  // namespace ward::driver::crypto
