#include "driver/crypto/esp.h"

#include <algorithm>
#include <array>

#include "common/byte_reader.h"
#include "driver/crypto/constants.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/output_lease.h"

namespace ward::driver::crypto {

namespace {

constexpr std::size_t kUdpLengthOffset = 4;
constexpr std::size_t kGcmAadMaxLength = 12;  // SPI + 64-bit ESN sequence number (RFC 4106 5)
constexpr std::size_t kMaxPadLength = 255;

// The default padding of RFC 4303 2.4: bytes 1, 2, 3, ..., 255.
constexpr std::array<std::byte, kMaxPadLength> kPaddingPattern = [] {
  std::array<std::byte, kMaxPadLength> pattern{};
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = std::byte{static_cast<std::uint8_t>(i + 1)};
  return pattern;
}();

void store_u32_be(std::span<std::byte> to, std::uint32_t value) noexcept {
  for (std::size_t i = 0; i < 4; ++i) to[i] = std::byte{static_cast<std::uint8_t>(value >> (24 - 8 * i))};
}

}  // namespace

Expected<EspSa, std::string> EspSa::create(const SaParams& params) {
  const std::string sa = describe_sa(params);
  if (params.protocol != SecurityProtocol::Esp) return unexpected(sa + ": not an ESP SA");
  if (auto common = check_common_sa_params(params); !common) return unexpected(common.error());
  if (params.cipher == Cipher::TripleDesCbc && !params.allow_legacy) {
    return unexpected(sa + ": 3DES-CBC is a legacy algorithm; set allow_legacy in the SA parameters to use it");
  }
  const bool aead = params.cipher == Cipher::AesGcm128 || params.cipher == Cipher::AesGcm256;
  if (aead && params.integrity != Integrity::None) {
    return unexpected(sa + ": " + std::string(name_of(params.cipher)) + " provides integrity itself; " +
                      std::string(name_of(params.integrity)) + " must not be combined with it (RFC 4106 3)");
  }
  if (!aead && params.integrity == Integrity::None) {
    return unexpected(sa + ": " + std::string(name_of(params.cipher)) +
                      " without an integrity algorithm is refused (no integrity, no anti-replay)");
  }
  if (params.udp_encapsulation &&
      (params.udp_encapsulation->local_port == 0 || params.udp_encapsulation->remote_port == 0)) {
    return unexpected(sa + ": UDP encapsulation needs non-zero ports");
  }
  auto cipher = CipherTransform::create(params.cipher, params.encryption_key.reveal(),
                                        params.direction == Direction::Outbound ? CipherOperation::Encrypt
                                                                                : CipherOperation::Decrypt);
  if (!cipher) return unexpected(sa + ": " + cipher.error());
  std::optional<IntegrityTransform> integrity;
  if (params.integrity != Integrity::None) {
    auto created = IntegrityTransform::create(params.integrity, params.integrity_key.reveal());
    if (!created) return unexpected(sa + ": " + created.error());
    integrity.emplace(std::move(*created));
  }
  auto replay = ReplayWindow::create(params.replay_window, params.extended_sequence_numbers);
  if (!replay) return unexpected(sa + ": " + replay.error());
  return EspSa(params, std::move(*cipher), std::move(integrity), std::move(*replay));
}

EspSa::EspSa(const SaParams& params, CipherTransform cipher, std::optional<IntegrityTransform> integrity,
             ReplayWindow replay)
    : spi_(params.spi),
      direction_(params.direction),
      mode_(params.mode),
      tunnel_(params.tunnel),
      udp_(params.udp_encapsulation),
      esn_(params.extended_sequence_numbers),
      cipher_(std::move(cipher)),
      integrity_(std::move(integrity)),
      replay_(std::move(replay)) {}

std::size_t EspSa::icv_length() const noexcept {
  return cipher_.is_aead() ? cipher_.icv_length() : integrity_->icv_length();
}

std::size_t EspSa::payload_alignment() const noexcept {
  return std::max(cipher_.block_length(), kEspPayloadAlignment);
}

std::size_t EspSa::overhead(std::size_t length) const noexcept {
  const std::size_t align = payload_alignment();
  const std::size_t padded = (length + kEspTrailerLength + align - 1) / align * align;
  std::size_t total = kEspHeaderLength + cipher_.iv_length() + (padded - length) + icv_length();
  if (udp_) total += kUdpHeaderLength;
  if (mode_ == Mode::Tunnel) total += tunnel_->local.version == IpVersion::V4 ? kIpv4MinHeaderLength : kIpv6HeaderLength;
  return total;
}

Expected<void, DropReason> EspSa::seal(ByteWriter& writer, std::uint8_t next_header,
                                       std::span<const std::byte> payload, const FixedSequenceAndIv* fixed) {
  if (direction_ != Direction::Outbound) return unexpected(DropReason::WrongDirection);
  std::uint64_t sequence = 0;
  if (fixed != nullptr) {
    sequence = fixed->sequence;
  } else {
    const std::uint64_t limit = esn_ ? ~std::uint64_t{0} : kMax32BitSequence;
    if (last_sent_ >= limit) return unexpected(DropReason::SequenceOverflow);  // RFC 4303 3.3.3: rekey
    sequence = last_sent_ + 1;
  }
  const auto low = static_cast<std::uint32_t>(sequence);
  const auto high = static_cast<std::uint32_t>(sequence >> 32);

  std::array<std::byte, kMaxIvLength> iv_storage{};
  const std::span<std::byte> iv = std::span<std::byte>(iv_storage).first(cipher_.iv_length());
  // CBC without a fixed IV: cbc_seal() makes the IV (RFC 3602 2.1: unpredictable) in the same
  // pass as the encryption, so the IV field is written as zeros first.
  const bool cbc_sealed = fixed == nullptr && !cipher_.is_aead() && !iv.empty();
  if (fixed != nullptr) {
    if (fixed->iv.size() != iv.size()) return unexpected(DropReason::CryptoFailure);
    std::copy(fixed->iv.begin(), fixed->iv.end(), iv.begin());
  }  // AEAD: seal_next() writes the IV field (OpenSSL's counter), below

  const std::size_t esp_at = writer.size();
  writer.u32_be(spi_);
  writer.u32_be(low);
  const std::size_t iv_at = writer.size();
  writer.bytes(iv);
  const std::size_t ciphertext_at = writer.size();
  writer.bytes(payload);
  const std::size_t align = payload_alignment();
  const std::size_t pad_length = (align - (payload.size() + kEspTrailerLength) % align) % align;
  writer.bytes(std::span<const std::byte>(kPaddingPattern).first(pad_length));  // RFC 4303 2.4
  writer.u8(static_cast<std::uint8_t>(pad_length));
  writer.u8(next_header);
  const std::size_t ciphertext_length = writer.size() - ciphertext_at;
  const std::size_t icv_at = writer.size();
  writer.zeros(icv_length());

  const std::span<std::byte> all = writer.written();
  const std::span<std::byte> text = all.subspan(ciphertext_at, ciphertext_length);
  const std::span<std::byte> icv = all.subspan(icv_at, icv_length());
  std::array<std::byte, 4> high_bytes{};
  store_u32_be(high_bytes, high);
  if (cipher_.is_aead()) {
    // RFC 4106 5: AAD is SPI || sequence number, the 64-bit one with ESN.
    std::array<std::byte, kGcmAadMaxLength> aad{};
    store_u32_be(aad, spi_);
    std::size_t aad_length = 8;
    if (esn_) {
      store_u32_be(std::span<std::byte>(aad).subspan(4), high);
      store_u32_be(std::span<std::byte>(aad).subspan(8), low);
      aad_length = kGcmAadMaxLength;
    } else {
      store_u32_be(std::span<std::byte>(aad).subspan(4), low);
    }
    const auto aad_bytes = std::span<const std::byte>(aad).first(aad_length);
    const bool sealed = fixed != nullptr ? cipher_.seal(iv, aad_bytes, text, icv)
                                         : cipher_.seal_next(all.subspan(iv_at, iv.size()), aad_bytes, text, text, icv);
    if (!sealed) return unexpected(DropReason::CryptoFailure);
  } else {
    const bool encrypted = cbc_sealed ? cipher_.cbc_seal(sequence, all.subspan(iv_at, icv_at - iv_at))
                                      : cipher_.crypt(iv, text, text);
    if (!encrypted) return unexpected(DropReason::CryptoFailure);
    // RFC 4303 2.2.1 / 3.3.2.1: with ESN the high half is authenticated but not sent.
    const std::array<std::span<const std::byte>, 2> parts{
        all.subspan(esp_at, icv_at - esp_at),
        esn_ ? std::span<const std::byte>(high_bytes) : std::span<const std::byte>()};
    if (!integrity_->compute(parts, icv)) return unexpected(DropReason::CryptoFailure);
  }
  if (fixed == nullptr) last_sent_ = sequence;
  return {};
}

Expected<Decapsulated, DropReason> EspSa::open(std::span<const std::byte> esp, ByteWriter& writer) {
  if (direction_ != Direction::Inbound) return unexpected(DropReason::WrongDirection);
  ByteReader reader(esp, "ESP packet");
  auto spi = reader.u32_be("SPI");
  auto low = reader.u32_be("sequence number");
  auto iv = reader.bytes(cipher_.iv_length(), "IV");
  if (!spi || !low || !iv) return unexpected(DropReason::Truncated);
  if (*spi != spi_) return unexpected(DropReason::BadSpi);
  const std::size_t icv_size = icv_length();
  if (reader.remaining() < icv_size + kEspTrailerLength) return unexpected(DropReason::Truncated);
  auto ciphertext = reader.bytes(reader.remaining() - icv_size, "encrypted payload");
  auto icv = reader.bytes(icv_size, "ICV");
  if (!ciphertext || !icv) return unexpected(DropReason::Truncated);
  if (ciphertext->size() % cipher_.block_length() != 0) return unexpected(DropReason::BadLength);

  // Anti-replay first (cheap, and ESN needs the inferred high half for the ICV) ...
  auto sequence = replay_.check(*low);
  if (!sequence) return unexpected(sequence.error());
  const auto high = static_cast<std::uint32_t>(*sequence >> 32);
  std::array<std::byte, 4> high_bytes{};
  store_u32_be(high_bytes, high);

  // ... then the ICV (before any decryption for encrypt-then-MAC) ...
  const std::size_t plaintext_at = writer.size();
  if (cipher_.is_aead()) {
    std::array<std::byte, kGcmAadMaxLength> aad{};
    store_u32_be(aad, spi_);
    std::size_t aad_length = 8;
    if (esn_) {
      store_u32_be(std::span<std::byte>(aad).subspan(4), high);
      store_u32_be(std::span<std::byte>(aad).subspan(8), *low);
      aad_length = kGcmAadMaxLength;
    } else {
      store_u32_be(std::span<std::byte>(aad).subspan(4), *low);
    }
    writer.zeros(ciphertext->size());
    if (!cipher_.open(*iv, std::span<const std::byte>(aad).first(aad_length), *ciphertext,
                      writer.written().subspan(plaintext_at), *icv)) {
      return unexpected(DropReason::IcvMismatch);
    }
  } else {
    const std::array<std::span<const std::byte>, 2> parts{
        esp.first(esp.size() - icv_size),
        esn_ ? std::span<const std::byte>(high_bytes) : std::span<const std::byte>()};
    if (!integrity_->verify(parts, *icv)) return unexpected(DropReason::IcvMismatch);
    writer.zeros(ciphertext->size());
    if (!cipher_.crypt(*iv, *ciphertext, writer.written().subspan(plaintext_at))) {
      return unexpected(DropReason::CryptoFailure);
    }
  }
  // ... and only an authentic packet moves the window.
  replay_.commit(*sequence);

  const std::span<const std::byte> plaintext = writer.written().subspan(plaintext_at);
  ByteReader trailer(plaintext.last(kEspTrailerLength), "ESP trailer", plaintext.size() - kEspTrailerLength);
  const std::uint16_t trailer_word = *trailer.u16_be("pad length/next header");
  const auto pad_length = static_cast<std::uint8_t>(trailer_word >> 8);
  const auto next_header = static_cast<std::uint8_t>(trailer_word);
  if (pad_length + kEspTrailerLength > plaintext.size()) return unexpected(DropReason::BadPadding);
  const std::size_t payload_length = plaintext.size() - kEspTrailerLength - pad_length;
  // RFC 4303 2.4: the padding is 1, 2, 3, ...; compared as one span (one reader call, not one per byte).
  ByteReader padding_reader(plaintext.subspan(payload_length, pad_length), "ESP padding", payload_length);
  const auto padding = padding_reader.bytes(pad_length, "padding");
  if (!padding || !std::equal(padding->begin(), padding->end(), kPaddingPattern.begin())) {
    return unexpected(DropReason::BadPadding);
  }
  writer.truncate(plaintext_at + payload_length);
  if (next_header == kProtoNoNextHeader) return unexpected(DropReason::DummyPacket);
  return Decapsulated{*sequence, next_header};
}

Expected<void, DropReason> EspSa::encapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out) {
  return encapsulate_impl(packet, out, nullptr);
}

Expected<void, DropReason> EspSa::encapsulate_test_vector(std::span<const std::byte> packet,
                                                          std::vector<std::byte>& out,
                                                          const FixedSequenceAndIv& fixed) {
  return encapsulate_impl(packet, out, &fixed);
}

Expected<void, DropReason> EspSa::encapsulate_impl(std::span<const std::byte> packet, std::vector<std::byte>& out,
                                                   const FixedSequenceAndIv* fixed) {
  OutputLease lease(out);
  ByteWriter& writer = lease.writer();
  if (direction_ != Direction::Outbound) return unexpected(DropReason::WrongDirection);
  auto info = parse_ip_packet(packet, mode_ == Mode::Tunnel ? Fragments::Allow : Fragments::Reject);
  if (!info) return unexpected(info.error());
  const std::span<const std::byte> whole = packet.first(info->total_length);

  IpVersion version = info->version;
  std::size_t ipv4_header_length = info->header_length;
  std::size_t protocol_offset = info->protocol_field_offset;
  std::uint8_t next_header = info->protocol;
  std::span<const std::byte> payload;
  IpAddress source = info->source;
  IpAddress destination = info->destination;
  if (mode_ == Mode::Transport) {
    writer.bytes(whole.first(info->header_length));
    payload = whole.subspan(info->header_length);
  } else {
    version = tunnel_->local.version;
    ipv4_header_length = kIpv4MinHeaderLength;
    protocol_offset = version == IpVersion::V4 ? kIpv4ProtocolOffset : kIpv6NextHeaderOffset;
    next_header = info->version == IpVersion::V4 ? kProtoIpv4InIp : kProtoIpv6InIp;
    source = tunnel_->local;
    destination = tunnel_->remote;
    write_outer_header(writer, *tunnel_, info->traffic_class, kProtoEsp, ++ipv4_identification_);
    payload = whole;
  }
  writer.patch_u8(protocol_offset, udp_ ? kProtoUdp : kProtoEsp);

  const std::size_t udp_at = writer.size();
  if (udp_) {
    writer.u16_be(udp_->local_port);
    writer.u16_be(udp_->remote_port);
    writer.u16_be(0);  // length, below
    writer.u16_be(0);  // RFC 3948 2.1: zero checksum over IPv4
  }
  if (auto sealed = seal(writer, next_header, payload, fixed); !sealed) {
    lease.discard();
    return sealed;
  }
  if (udp_) {
    const std::size_t udp_length = writer.size() - udp_at;
    if (udp_length > 0xffff) {
      lease.discard();
      return unexpected(DropReason::PacketTooLarge);
    }
    writer.patch_u16_be(udp_at + kUdpLengthOffset, static_cast<std::uint16_t>(udp_length));
    if (version == IpVersion::V6) {  // RFC 8200 8.1: IPv6 has no zero UDP checksum
      writer.patch_u16_be(udp_at + kUdpChecksumOffset,
                          udp_checksum_ipv6(source, destination, writer.written().subspan(udp_at)));
    }
  }
  if (auto finished = finish_ip_header(writer, version, ipv4_header_length); !finished) {
    lease.discard();
    return finished;
  }
  return {};
}

Expected<Decapsulated, DropReason> EspSa::decapsulate(std::span<const std::byte> packet, std::vector<std::byte>& out,
                                                      InnerChecksum inner_checksum) {
  OutputLease lease(out);
  ByteWriter& writer = lease.writer();
  if (direction_ != Direction::Inbound) return unexpected(DropReason::WrongDirection);
  auto info = parse_ip_packet(packet);
  if (!info) return unexpected(info.error());
  const std::span<const std::byte> whole = packet.first(info->total_length);
  ByteReader reader(whole.subspan(info->header_length), "ESP packet", info->header_length);

  if (udp_) {
    if (info->protocol != kProtoUdp) return unexpected(DropReason::NotIpsec);
    auto source_port = reader.u16_be("UDP source port");
    auto destination_port = reader.u16_be("UDP destination port");
    auto length = reader.u16_be("UDP length");
    auto checksum = reader.u16_be("UDP checksum");  // RFC 3948 3.1.2: not checked for ESP-in-UDP
    if (!source_port || !destination_port || !length || !checksum) return unexpected(DropReason::Truncated);
    if (*source_port != udp_->remote_port || *destination_port != udp_->local_port ||
        *length != whole.size() - info->header_length) {
      return unexpected(DropReason::BadUdpEncap);
    }
    if (reader.remaining() == 1) {
      auto only = reader.u8("NAT keepalive");
      return unexpected(*only == kNatKeepaliveByte ? DropReason::NatKeepalive : DropReason::Truncated);
    }
    ByteReader peek(whole.subspan(reader.offset()), "UDP-encap ESP", reader.offset());
    auto marker = peek.u32_be("SPI / non-ESP marker");
    if (!marker) return unexpected(DropReason::Truncated);
    if (*marker == 0) return unexpected(DropReason::NonEspMarker);  // RFC 3948 2.2: IKE, not ESP
  } else if (info->protocol != kProtoEsp) {
    return unexpected(DropReason::NotIpsec);
  }
  if (mode_ == Mode::Tunnel && (info->source != tunnel_->remote || info->destination != tunnel_->local)) {
    return unexpected(DropReason::TunnelAddressMismatch);
  }
  const std::span<const std::byte> esp = reader.rest();

  if (mode_ == Mode::Transport) {
    writer.bytes(whole.first(info->header_length));
    auto opened = open(esp, writer);
    if (!opened) {
      lease.discard();
      return opened;
    }
    writer.patch_u8(info->protocol_field_offset, opened->next_header);
    if (auto finished = finish_ip_header(writer, info->version, info->header_length); !finished) {
      lease.discard();
      return unexpected(finished.error());
    }
    // RFC 3948 3.1.2: behind a NAT the inner TCP/UDP checksum covers the peer's own addresses.
    if (udp_ && inner_checksum == InnerChecksum::Refresh) (void)refresh_transport_checksum(writer, *info, opened->next_header);
    return opened;
  }

  auto opened = open(esp, writer);
  if (!opened) {
    lease.discard();
    return opened;
  }
  if (!is_tunnel_next_header(opened->next_header)) {
    lease.discard();
    return unexpected(DropReason::BadNextHeader);
  }
  auto inner = parse_ip_packet(writer.written(), Fragments::Allow);
  const IpVersion expected_version = opened->next_header == kProtoIpv4InIp ? IpVersion::V4 : IpVersion::V6;
  if (!inner || inner->version != expected_version) {
    lease.discard();
    return unexpected(DropReason::BadInnerPacket);
  }
  writer.truncate(inner->total_length);  // RFC 4303 2.7: drop any TFC padding after the inner packet
  return opened;
}

}  // namespace ward::driver::crypto
