// DropReason: why a packet was not protected or not accepted. Every failure of the transforms
// returns one; the driver counts them per reason (DropCounters) and never answers the sender.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ward::driver::crypto {

enum class DropReason : std::uint8_t {
  Truncated,          // shorter than its headers or declared lengths say
  BadIpHeader,        // not IPv4/IPv6, bad IHL, lengths disagree
  UnsupportedPacket,  // fragments, IPv6 extension headers or IPv4 options where not supported
  NotIpsec,           // the protocol field is not ESP/AH (or UDP for an encapsulating SA)
  BadUdpEncap,        // UDP ports or length do not match the SA's encapsulation
  NonEspMarker,       // RFC 3948: an IKE packet on the NAT-T port, for the IKE module
  NatKeepalive,       // RFC 3948 2.3: a one-byte keepalive
  BadSpi,             // the SPI is not this SA's
  Replay,             // sequence number seen before or left of the window (or zero)
  IcvMismatch,        // integrity check failed (or AEAD tag did not verify)
  BadLength,          // ciphertext not a multiple of the block size, or AH length field wrong
  BadPadding,         // RFC 4303 2.4: padding is not 1, 2, 3, ...
  BadNextHeader,      // next header not allowed for the SA's mode
  BadInnerPacket,     // tunnel mode: the inner packet does not parse or its version disagrees
  DummyPacket,        // RFC 4303 2.6: next header 59, a traffic-flow-confidentiality dummy
  TunnelAddressMismatch,  // tunnel mode: outer addresses are not the SA's endpoints
  SequenceOverflow,   // outbound: the sequence number space is used up; rekey
  PacketTooLarge,     // outbound: the protected packet would exceed the IP length field
  WrongDirection,     // encapsulate on an inbound SA, or decapsulate on an outbound one
  BundleIncomplete,   // an AH+ESP bundle's ESP arrived without its AH, or its AH around anything else
  CryptoFailure,      // OpenSSL refused an operation that should not fail
};

inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::CryptoFailure) + 1;

inline constexpr std::array<std::pair<DropReason, std::string_view>, kDropReasonCount> kDropReasonNames{{
    {DropReason::Truncated, "truncated"},
    {DropReason::BadIpHeader, "bad-ip-header"},
    {DropReason::UnsupportedPacket, "unsupported-packet"},
    {DropReason::NotIpsec, "not-ipsec"},
    {DropReason::BadUdpEncap, "bad-udp-encap"},
    {DropReason::NonEspMarker, "non-esp-marker"},
    {DropReason::NatKeepalive, "nat-keepalive"},
    {DropReason::BadSpi, "bad-spi"},
    {DropReason::Replay, "replay"},
    {DropReason::IcvMismatch, "icv-mismatch"},
    {DropReason::BadLength, "bad-length"},
    {DropReason::BadPadding, "bad-padding"},
    {DropReason::BadNextHeader, "bad-next-header"},
    {DropReason::BadInnerPacket, "bad-inner-packet"},
    {DropReason::DummyPacket, "dummy-packet"},
    {DropReason::TunnelAddressMismatch, "tunnel-address-mismatch"},
    {DropReason::SequenceOverflow, "sequence-overflow"},
    {DropReason::PacketTooLarge, "packet-too-large"},
    {DropReason::WrongDirection, "wrong-direction"},
    {DropReason::BundleIncomplete, "bundle-incomplete"},
    {DropReason::CryptoFailure, "crypto-failure"},
}};

namespace detail {
constexpr bool drop_reason_table_in_order() {
  for (std::size_t i = 0; i < kDropReasonNames.size(); ++i) {
    if (static_cast<std::size_t>(kDropReasonNames[i].first) != i || kDropReasonNames[i].second.empty()) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::drop_reason_table_in_order(), "kDropReasonNames must list every DropReason once, in order");

constexpr std::string_view name_of(DropReason reason) noexcept {
  const auto index = static_cast<std::size_t>(reason);
  return index < kDropReasonNames.size() ? kDropReasonNames[index].second : std::string_view("?");
}

// One counter per reason. Not synchronised: each packet thread keeps its own and the driver sums.
struct DropCounters {
  std::array<std::uint64_t, kDropReasonCount> by_reason{};

  void count(DropReason reason) noexcept { ++by_reason[static_cast<std::size_t>(reason)]; }
  std::uint64_t operator[](DropReason reason) const noexcept { return by_reason[static_cast<std::size_t>(reason)]; }
  std::uint64_t total() const noexcept {
    std::uint64_t sum = 0;
    for (const auto value : by_reason) sum += value;
    return sum;
  }
};

}  // namespace ward::driver::crypto
