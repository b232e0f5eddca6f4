// ESP round trips for every algorithm x mode x IP version x ESN x UDP encapsulation, tampering,
// replay, truncation, malformed input and SA parameter checks.
#include "driver/crypto/esp.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "driver/crypto/ip_packet.h"
#include "driver/crypto/test_sas.h"

namespace ward::driver::crypto {
namespace {

using testing::SaShape;
using Bytes = std::vector<std::byte>;

std::string as_key(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

struct Algorithms {
  Cipher cipher;
  Integrity integrity;
};

const Algorithms kAlgorithms[] = {
    {Cipher::AesGcm128, Integrity::None},
    {Cipher::AesGcm256, Integrity::None},
    {Cipher::AesCbc128, Integrity::HmacSha1_96},
    {Cipher::AesCbc128, Integrity::HmacSha256_128},
    {Cipher::AesCbc256, Integrity::HmacSha1_96},
    {Cipher::AesCbc256, Integrity::HmacSha256_128},
    {Cipher::Null, Integrity::HmacSha1_96},
    {Cipher::Null, Integrity::HmacSha256_128},
    {Cipher::TripleDesCbc, Integrity::HmacSha1_96},  // legacy, allow_legacy set
    {Cipher::AesCbc128, Integrity::HmacMd5_96},      // legacy, allow_legacy set
};

std::string shape_name(const SaShape& shape) {
  std::string name = std::string(name_of(shape.cipher)) + "_" + std::string(name_of(shape.integrity)) + "_" +
                     std::string(name_of(shape.mode)) + (shape.ipv6 ? "_v6" : "_v4") + (shape.esn ? "_esn" : "") +
                     (shape.udp ? "_udp" : "");
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

struct SaPair {
  EspSa outbound;
  EspSa inbound;
};

SaPair make_pair(const SaShape& shape) {
  const SaParams out_params = testing::outbound_params(shape);
  auto outbound = EspSa::create(out_params);
  auto inbound = EspSa::create(fuzzing::inbound_of(out_params));
  if (!outbound || !inbound) {
    ADD_FAILURE() << (outbound ? inbound.error() : outbound.error());
    std::abort();
  }
  return SaPair{std::move(*outbound), std::move(*inbound)};
}

std::uint8_t byte_at(const Bytes& bytes, std::size_t at) { return std::to_integer<std::uint8_t>(bytes.at(at)); }

// Where the ESP header starts in a packet made by `shape`.
std::size_t esp_offset(const SaShape& shape) {
  return (shape.ipv6 ? kIpv6HeaderLength : kIpv4MinHeaderLength) + (shape.udp ? kUdpHeaderLength : 0);
}

std::vector<SaShape> all_shapes() {
  std::vector<SaShape> shapes;
  for (const auto& algorithms : kAlgorithms) {
    for (const Mode mode : {Mode::Transport, Mode::Tunnel}) {
      for (const bool ipv6 : {false, true}) {
        for (const bool esn : {false, true}) {
          for (const bool udp : {false, true}) {
            shapes.push_back(SaShape{SecurityProtocol::Esp, algorithms.cipher, algorithms.integrity, mode, ipv6, esn, udp});
          }
        }
      }
    }
  }
  return shapes;
}

class EspRoundTrip : public ::testing::TestWithParam<SaShape> {};

TEST_P(EspRoundTrip, EncapsulateThenDecapsulateGivesThePacketBack) {
  const SaShape shape = GetParam();
  SaPair pair = make_pair(shape);
  Bytes wire;
  Bytes back;
  std::uint64_t expected_sequence = 0;
  for (const std::size_t size : {0, 1, 15, 16, 17, 100, 1400}) {
    const Bytes plain = testing::plain_packet(shape.ipv6, size, static_cast<std::uint8_t>(size));
    ASSERT_TRUE(pair.outbound.encapsulate(plain, wire)) << size;
    ++expected_sequence;

    // The wire packet is a well-formed IP packet carrying ESP (or UDP), of the predicted size.
    auto outer = parse_ip_packet(wire);
    ASSERT_TRUE(outer) << name_of(outer.error());
    EXPECT_EQ(outer->protocol, shape.udp ? kProtoUdp : kProtoEsp);
    EXPECT_EQ(outer->total_length, wire.size());
    const std::size_t inner_length = shape.mode == Mode::Tunnel ? plain.size() : size;
    EXPECT_EQ(wire.size(), (shape.mode == Mode::Tunnel ? 0 : plain.size() - size) + inner_length +
                               pair.outbound.overhead(inner_length));
    if (shape.mode == Mode::Tunnel) {
      EXPECT_TRUE(outer->source == testing::outbound_params(shape).tunnel->local);
      EXPECT_TRUE(outer->destination == testing::outbound_params(shape).tunnel->remote);
    }
    if (shape.udp) {
      const std::size_t udp_at = outer->header_length;
      EXPECT_EQ(byte_at(wire, udp_at) << 8 | byte_at(wire, udp_at + 1), kNatTraversalPort);
      EXPECT_EQ(byte_at(wire, udp_at + 4) << 8 | byte_at(wire, udp_at + 5), wire.size() - udp_at);
      if (shape.ipv6) {  // the IPv6 UDP checksum verifies to zero over the pseudo-header
        EXPECT_NE(byte_at(wire, udp_at + 6) << 8 | byte_at(wire, udp_at + 7), 0);
      }
    }
    // The sequence number on the wire counts 1, 2, 3, ...
    const std::size_t esp_at = esp_offset(shape);
    const std::uint32_t wire_sequence = static_cast<std::uint32_t>(byte_at(wire, esp_at + 4)) << 24 |
                                        byte_at(wire, esp_at + 5) << 16 | byte_at(wire, esp_at + 6) << 8 |
                                        byte_at(wire, esp_at + 7);
    EXPECT_EQ(wire_sequence, expected_sequence);

    auto opened = pair.inbound.decapsulate(wire, back);
    ASSERT_TRUE(opened) << size << ": " << name_of(opened.error());
    EXPECT_EQ(opened->sequence, expected_sequence);
    EXPECT_EQ(opened->next_header, shape.mode == Mode::Tunnel ? (shape.ipv6 ? kProtoIpv6InIp : kProtoIpv4InIp)
                                                              : std::uint8_t{17});
    EXPECT_EQ(back, plain) << size;
  }
  EXPECT_EQ(pair.outbound.last_sent_sequence(), expected_sequence);
  EXPECT_EQ(pair.inbound.replay_window().highest(), expected_sequence);
}

INSTANTIATE_TEST_SUITE_P(AllShapes, EspRoundTrip, ::testing::ValuesIn(all_shapes()),
                         [](const auto& test_info) { return shape_name(test_info.param); });

std::vector<SaShape> tamper_shapes() {
  std::vector<SaShape> shapes;
  for (const auto& algorithms : kAlgorithms) {
    shapes.push_back(SaShape{SecurityProtocol::Esp, algorithms.cipher, algorithms.integrity, Mode::Transport, false,
                             false, false});
    shapes.push_back(SaShape{SecurityProtocol::Esp, algorithms.cipher, algorithms.integrity, Mode::Tunnel, true, true,
                             true});
  }
  return shapes;
}

class EspTamper : public ::testing::TestWithParam<SaShape> {};

TEST_P(EspTamper, EveryFlippedBitOfTheEspPacketIsDroppedAndCounted) {
  const SaShape shape = GetParam();
  SaPair pair = make_pair(shape);
  Bytes wire;
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(shape.ipv6, 45), wire));
  const std::size_t esp_at = esp_offset(shape);
  DropCounters counters;
  Bytes out;
  std::size_t flips = 0;
  for (std::size_t byte = esp_at; byte < wire.size(); ++byte) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      Bytes forged = wire;
      forged[byte] ^= std::byte{static_cast<std::uint8_t>(1U << bit)};
      auto result = pair.inbound.decapsulate(forged, out);
      ASSERT_FALSE(result) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(out.empty());
      counters.count(result.error());
      ++flips;
    }
  }
  EXPECT_EQ(counters.total(), flips);
  EXPECT_EQ(counters[DropReason::BadSpi], 32U);   // any flip in the SPI
  EXPECT_EQ(counters[DropReason::Replay], 1U);    // sequence number 1 -> 0
  EXPECT_EQ(counters[DropReason::IcvMismatch], flips - 33);  // everything else
  // No forged packet moved the window: the genuine one is still accepted, once.
  EXPECT_TRUE(pair.inbound.decapsulate(wire, out));
  EXPECT_EQ(pair.inbound.decapsulate(wire, out).error(), DropReason::Replay);
}

INSTANTIATE_TEST_SUITE_P(Shapes, EspTamper, ::testing::ValuesIn(tamper_shapes()),
                         [](const auto& test_info) { return shape_name(test_info.param); });

TEST(EspReplay, DuplicatesAndOldPacketsAreDroppedReorderingIsNot) {
  SaShape shape;
  shape.cipher = Cipher::AesGcm128;
  SaParams out_params = testing::outbound_params(shape);
  out_params.replay_window = 64;
  auto outbound = EspSa::create(out_params);
  auto inbound = EspSa::create(fuzzing::inbound_of(out_params));
  ASSERT_TRUE(outbound && inbound);
  std::vector<Bytes> sent(100);
  for (auto& wire : sent) ASSERT_TRUE(outbound->encapsulate(testing::plain_packet(false, 10), wire));
  Bytes out;
  DropCounters counters;
  auto deliver = [&](std::size_t sequence) {
    auto result = inbound->decapsulate(sent[sequence - 1], out);
    if (!result) counters.count(result.error());
    return result.has_value();
  };
  EXPECT_TRUE(deliver(2));
  EXPECT_TRUE(deliver(1));   // reordered, inside the window
  EXPECT_FALSE(deliver(2));  // duplicate
  EXPECT_TRUE(deliver(100));
  EXPECT_TRUE(deliver(37));   // 100 - 37 < 64
  EXPECT_FALSE(deliver(36));  // 100 - 36 = 64: left of the window
  EXPECT_FALSE(deliver(37));
  EXPECT_EQ(counters[DropReason::Replay], 3U);
  EXPECT_EQ(counters.total(), 3U);
}

TEST(EspTruncation, EveryPrefixIsDroppedAsTruncated) {
  for (const bool ipv6 : {false, true}) {
    SaShape shape;
    shape.cipher = Cipher::AesCbc256;
    shape.integrity = Integrity::HmacSha256_128;
    shape.ipv6 = ipv6;
    SaPair pair = make_pair(shape);
    Bytes wire;
    ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(ipv6, 64), wire));
    Bytes out;
    for (std::size_t length = 0; length < wire.size(); ++length) {
      auto result = pair.inbound.decapsulate(std::span(wire).first(length), out);
      ASSERT_FALSE(result) << length;
      EXPECT_EQ(result.error(), DropReason::Truncated) << length;
    }
  }
}

TEST(EspTruncation, ShortenedPacketsWithConsistentLengthsAreDropped) {
  for (const auto& algorithms : kAlgorithms) {
    SaShape shape;
    shape.cipher = algorithms.cipher;
    shape.integrity = algorithms.integrity;
    SaPair pair = make_pair(shape);
    Bytes wire;
    ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 64), wire));
    Bytes out;
    for (std::size_t cut = 1; cut < wire.size() - kIpv4MinHeaderLength; ++cut) {
      ByteWriter writer;
      writer.bytes(std::span(wire).first(wire.size() - cut));
      ASSERT_TRUE(finish_ip_header(writer, IpVersion::V4, kIpv4MinHeaderLength));
      auto result = pair.inbound.decapsulate(writer.written(), out);
      ASSERT_FALSE(result) << cut;
      const DropReason reason = result.error();
      EXPECT_TRUE(reason == DropReason::Truncated || reason == DropReason::IcvMismatch ||
                  reason == DropReason::BadLength)
          << cut << " " << name_of(reason);
    }
  }
}

// A NULL-encrypted packet whose trailer we rewrite and re-authenticate with the test key.
Bytes reauthenticated(const Bytes& wire, std::size_t esp_at, std::size_t icv_length, const SaParams& params) {
  Bytes copy = wire;
  auto mac = IntegrityTransform::create(params.integrity, params.integrity_key.reveal());
  const std::span<std::byte> esp = std::span(copy).subspan(esp_at);
  const std::array<std::span<const std::byte>, 1> parts{esp.first(esp.size() - icv_length)};
  EXPECT_TRUE(mac->compute(parts, esp.last(icv_length)));
  return copy;
}

TEST(EspTrailer, BadPaddingAndDummyPacketsAreDroppedAfterTheIcv) {
  SaShape shape;
  shape.cipher = Cipher::Null;
  shape.integrity = Integrity::HmacSha256_128;
  const SaParams params = testing::outbound_params(shape);
  SaPair pair = make_pair(shape);
  Bytes wire;
  // 3 payload bytes + 2 trailer bytes: 3 bytes of padding 01 02 03 to reach 4-byte alignment.
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 3), wire));
  const std::size_t trailer_at = wire.size() - kHmacSha256IcvLength - kEspTrailerLength;
  ASSERT_EQ(byte_at(wire, trailer_at), 3);
  ASSERT_EQ(byte_at(wire, trailer_at - 1), 3);
  Bytes out;
  DropCounters counters;

  Bytes bad_padding = wire;
  bad_padding[trailer_at - 2] = std::byte{0x07};  // padding must be 1, 2, 3
  auto result = pair.inbound.decapsulate(reauthenticated(bad_padding, 20, kHmacSha256IcvLength, params), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::BadPadding);
  counters.count(result.error());

  Bytes long_pad = wire;
  long_pad[trailer_at] = std::byte{200};  // more padding than there are bytes
  // Sequence number 2 for this one: the window already accepted 1 (the ICV verified).
  long_pad[20 + 7] = std::byte{2};
  result = pair.inbound.decapsulate(reauthenticated(long_pad, 20, kHmacSha256IcvLength, params), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::BadPadding);

  Bytes dummy = wire;
  dummy[trailer_at + 1] = std::byte{kProtoNoNextHeader};
  dummy[20 + 7] = std::byte{3};
  result = pair.inbound.decapsulate(reauthenticated(dummy, 20, kHmacSha256IcvLength, params), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::DummyPacket);
  EXPECT_TRUE(out.empty());
}

TEST(EspTunnel, InnerAndOuterFamiliesMayDifferAndAddressesAreChecked) {
  SaShape shape;
  shape.mode = Mode::Tunnel;
  shape.ipv6 = true;  // IPv6 outer header ...
  SaPair pair = make_pair(shape);
  const Bytes inner = testing::plain_packet(false, 50);  // ... around an IPv4 packet
  Bytes wire;
  Bytes out;
  ASSERT_TRUE(pair.outbound.encapsulate(inner, wire));
  auto opened = pair.inbound.decapsulate(wire, out);
  ASSERT_TRUE(opened) << name_of(opened.error());
  EXPECT_EQ(opened->next_header, kProtoIpv4InIp);
  EXPECT_EQ(out, inner);

  ASSERT_TRUE(pair.outbound.encapsulate(inner, wire));
  wire[8 + 15] ^= std::byte{1};  // outer source address
  auto spoofed = pair.inbound.decapsulate(wire, out);
  ASSERT_FALSE(spoofed);
  EXPECT_EQ(spoofed.error(), DropReason::TunnelAddressMismatch);
}

TEST(EspTransport, Ipv6HopByHopHeaderStaysInFrontOfEsp) {
  SaShape shape;
  shape.ipv6 = true;
  SaPair pair = make_pair(shape);
  // Hop-by-Hop header: next header UDP, length 0 (8 bytes), one PadN option filling it.
  Bytes body = testing::from_hex("11 00 01 04 00000000");
  const Bytes udp = testing::pattern_bytes(30);
  body.insert(body.end(), udp.begin(), udp.end());
  const Bytes plain = testing::make_ipv6_packet(testing::transport_source(true), testing::transport_destination(true),
                                                kProtoIpv6HopByHop, body);
  Bytes wire;
  Bytes back;
  ASSERT_TRUE(pair.outbound.encapsulate(plain, wire));
  EXPECT_EQ(byte_at(wire, 6), kProtoIpv6HopByHop);   // the fixed header still points at Hop-by-Hop
  EXPECT_EQ(byte_at(wire, 40), kProtoEsp);           // which now points at ESP
  auto info = parse_ip_packet(wire);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->header_length, 48U);
  auto opened = pair.inbound.decapsulate(wire, back);
  ASSERT_TRUE(opened) << name_of(opened.error());
  EXPECT_EQ(opened->next_header, 17);
  EXPECT_EQ(back, plain);
}

TEST(EspUdp, NonEspMarkerKeepaliveAndWrongPortsAreSortedOut) {
  SaShape shape;
  shape.udp = true;
  SaPair pair = make_pair(shape);
  Bytes out;
  constexpr std::uint8_t kUdp = 17;
  auto udp_packet = [&](std::uint16_t source_port, std::uint16_t destination_port, const Bytes& body) {
    ByteWriter udp;
    udp.u16_be(source_port);
    udp.u16_be(destination_port);
    udp.u16_be(static_cast<std::uint16_t>(kUdpHeaderLength + body.size()));
    udp.u16_be(0);
    udp.bytes(body);
    return testing::make_ipv4_packet(testing::transport_source(false), testing::transport_destination(false), kUdp,
                                     udp.written());
  };
  const Bytes ike = testing::from_hex("00000000 0102030405060708 0000000000000000 21202208");
  auto result = pair.inbound.decapsulate(udp_packet(4500, 4500, ike), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::NonEspMarker);

  result = pair.inbound.decapsulate(udp_packet(4500, 4500, testing::from_hex("ff")), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::NatKeepalive);

  result = pair.inbound.decapsulate(udp_packet(4500, 500, testing::from_hex("12345678 00000001")), out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::BadUdpEncap);

  // Plain ESP to an SA that expects UDP encapsulation is not for it, and vice versa.
  SaShape plain_shape;
  SaPair plain_pair = make_pair(plain_shape);
  Bytes esp_wire;
  ASSERT_TRUE(plain_pair.outbound.encapsulate(testing::plain_packet(false, 20), esp_wire));
  result = pair.inbound.decapsulate(esp_wire, out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::NotIpsec);
  Bytes udp_wire;
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 20), udp_wire));
  result = plain_pair.inbound.decapsulate(udp_wire, out);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), DropReason::NotIpsec);
}

TEST(EspInput, MalformedAndMisdirectedPacketsHaveTheirReasons) {
  SaShape shape;
  SaPair pair = make_pair(shape);
  Bytes out;
  Bytes wire;
  // Fragments are not ESP-processed (reassembly comes first).
  Bytes fragment = testing::plain_packet(false, 40);
  fragment[6] = std::byte{0x20};  // more fragments
  ByteWriter refreshed;
  refreshed.bytes(fragment);
  ASSERT_TRUE(finish_ip_header(refreshed, IpVersion::V4, kIpv4MinHeaderLength));
  auto sealed = pair.outbound.encapsulate(refreshed.written(), wire);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error(), DropReason::UnsupportedPacket);
  // Not IP at all, a bad checksum, not ESP, the wrong direction.
  EXPECT_EQ(pair.inbound.decapsulate(testing::from_hex("00112233"), out).error(), DropReason::BadIpHeader);
  Bytes bad_checksum = testing::plain_packet(false, 10);
  bad_checksum[10] ^= std::byte{1};
  EXPECT_EQ(pair.inbound.decapsulate(bad_checksum, out).error(), DropReason::BadIpHeader);
  EXPECT_EQ(pair.inbound.decapsulate(testing::plain_packet(false, 10), out).error(), DropReason::NotIpsec);
  EXPECT_EQ(pair.inbound.encapsulate(testing::plain_packet(false, 10), out).error(), DropReason::WrongDirection);
  EXPECT_EQ(pair.outbound.decapsulate(testing::plain_packet(false, 10), out).error(), DropReason::WrongDirection);
  // Another SA's packet.
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 10), wire));
  auto other = EspSa::create(fuzzing::inbound_of(testing::outbound_params(shape, 0x9999)));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->decapsulate(wire, out).error(), DropReason::BadSpi);
  // Outbound packets that would not fit the IPv4 length field.
  Bytes huge = testing::plain_packet(false, kIpv4MaxTotalLength - kIpv4MinHeaderLength);
  EXPECT_EQ(pair.outbound.encapsulate(huge, out).error(), DropReason::PacketTooLarge);
  EXPECT_TRUE(out.empty());
}

TEST(EspSaParams, RefusedWithClearErrors) {
  SaShape shape;
  shape.cipher = Cipher::TripleDesCbc;
  shape.integrity = Integrity::HmacSha1_96;
  SaParams legacy = testing::outbound_params(shape);
  legacy.allow_legacy = false;
  auto refused = EspSa::create(legacy);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("3DES-CBC is a legacy algorithm"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("allow_legacy"), std::string::npos);
  EXPECT_NE(refused.error().find("ESP SA 0x12345678 (outbound)"), std::string::npos) << refused.error();
  legacy.allow_legacy = true;
  EXPECT_TRUE(EspSa::create(legacy));

  shape.cipher = Cipher::AesCbc128;
  shape.integrity = Integrity::HmacMd5_96;
  SaParams md5 = testing::outbound_params(shape);
  md5.allow_legacy = false;
  refused = EspSa::create(md5);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("HMAC-MD5-96 is a legacy algorithm"), std::string::npos) << refused.error();

  SaParams gcm_with_hmac = testing::outbound_params(SaShape{});
  gcm_with_hmac.integrity = Integrity::HmacSha1_96;
  gcm_with_hmac.integrity_key = SecureBytes(testing::pattern_bytes(kHmacSha1KeyLength));
  EXPECT_FALSE(EspSa::create(gcm_with_hmac));

  SaParams cbc_alone = testing::outbound_params(SaShape{SecurityProtocol::Esp, Cipher::AesCbc128});
  refused = EspSa::create(cbc_alone);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("without an integrity algorithm"), std::string::npos) << refused.error();

  SaParams short_key = testing::outbound_params(SaShape{});
  short_key.encryption_key = SecureBytes(testing::pattern_bytes(16));  // salt missing
  refused = EspSa::create(short_key);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("needs 20 bytes"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("got 16"), std::string::npos);

  SaParams reserved_spi = testing::outbound_params(SaShape{}, 255);
  EXPECT_FALSE(EspSa::create(reserved_spi));
  SaParams big_window = testing::outbound_params(SaShape{});
  big_window.replay_window = 2048;
  EXPECT_FALSE(EspSa::create(big_window));
  SaParams tunnel_without_endpoints = testing::outbound_params(SaShape{});
  tunnel_without_endpoints.mode = Mode::Tunnel;
  EXPECT_FALSE(EspSa::create(tunnel_without_endpoints));
}

TEST(EspIv, CbcIvsAreFreshPerPacketGcmIvsCount) {
  for (const auto& algorithms : {Algorithms{Cipher::AesCbc128, Integrity::HmacSha1_96},
                                 Algorithms{Cipher::AesGcm128, Integrity::None}}) {
    SaShape shape;
    shape.cipher = algorithms.cipher;
    shape.integrity = algorithms.integrity;
    SaPair pair = make_pair(shape);
    SaPair other = make_pair(shape);  // same keys, another SA: its CBC IV key differs
    const Bytes plain = testing::plain_packet(false, 32);
    Bytes first;
    Bytes second;
    Bytes elsewhere;
    ASSERT_TRUE(pair.outbound.encapsulate(plain, first));
    ASSERT_TRUE(pair.outbound.encapsulate(plain, second));
    ASSERT_TRUE(other.outbound.encapsulate(plain, elsewhere));
    const std::size_t iv_at = kIpv4MinHeaderLength + kEspHeaderLength;
    const std::size_t iv_length = algorithms.cipher == Cipher::AesGcm128 ? kGcmExplicitIvLength : kAesBlockLength;
    const Bytes iv1(first.begin() + iv_at, first.begin() + static_cast<std::ptrdiff_t>(iv_at + iv_length));
    const Bytes iv2(second.begin() + iv_at, second.begin() + static_cast<std::ptrdiff_t>(iv_at + iv_length));
    const Bytes iv3(elsewhere.begin() + iv_at, elsewhere.begin() + static_cast<std::ptrdiff_t>(iv_at + iv_length));
    EXPECT_NE(iv1, iv2);
    EXPECT_NE(iv1, iv3);  // CBC: unpredictable; GCM: each SA's counter starts at random
    if (algorithms.cipher == Cipher::AesGcm128) {
      // RFC 4106 3.1: a counter (OpenSSL's invocation field), one step per packet.
      std::uint64_t first_counter = 0, second_counter = 0;
      for (std::size_t i = 0; i < kGcmExplicitIvLength; ++i) {
        first_counter = first_counter << 8 | std::to_integer<std::uint64_t>(iv1[i]);
        second_counter = second_counter << 8 | std::to_integer<std::uint64_t>(iv2[i]);
      }
      EXPECT_EQ(first_counter + 1, second_counter);
    }
  }
}

// GCM's packet path takes its IV from OpenSSL's generator (CipherTransform::seal_next) and opens
// with the IV and tag set as parameters, without re-initialising either context. No IV may repeat
// under the key, also around fixed-IV packets (which re-initialise the context with their IV and
// must re-arm the generator); every packet opens, in reverse order too, and a tampered packet in
// between neither opens nor disturbs the next one.
TEST(EspIv, GcmGeneratedIvsNeverRepeatAroundFixedIvsAndOpenWithoutReinit) {
  for (const Cipher cipher : {Cipher::AesGcm128, Cipher::AesGcm256}) {
    SCOPED_TRACE(std::string(name_of(cipher)));
    SaShape shape;
    shape.cipher = cipher;
    shape.integrity = Integrity::None;
    SaPair pair = make_pair(shape);
    const Bytes fixed_iv(kGcmExplicitIvLength, std::byte{0x5a});
    const std::size_t iv_at = kIpv4MinHeaderLength + kEspHeaderLength;
    std::vector<Bytes> plains;
    std::vector<Bytes> wires;
    std::set<std::string> ivs;
    std::uint64_t fixed_sequence = 50;
    for (std::size_t i = 0; i < 45; ++i) {
      plains.push_back(testing::plain_packet(false, i == 44 ? 1400 : i, static_cast<std::uint8_t>(i)));
      Bytes wire;
      if (i % 9 == 4) {
        ASSERT_TRUE(pair.outbound.encapsulate_test_vector(plains.back(), wire, FixedSequenceAndIv{fixed_sequence++, fixed_iv}));
      } else {
        ASSERT_TRUE(pair.outbound.encapsulate(plains.back(), wire)) << i;
      }
      ivs.insert(as_key(std::span(wire).subspan(iv_at, kGcmExplicitIvLength)));
      wires.push_back(std::move(wire));
    }
    EXPECT_EQ(ivs.size(), 40U + 1U);  // 40 generated IVs, all different, and the fixed one (5 times)
    for (std::size_t i = wires.size(); i-- > 0;) {
      if (i == 20) {
        Bytes tampered = wires[i];
        tampered[iv_at + 1] ^= std::byte{0x01};  // the IV: another nonce, another tag
        Bytes out;
        const auto dropped = pair.inbound.decapsulate(tampered, out);
        ASSERT_FALSE(dropped);
        EXPECT_EQ(dropped.error(), DropReason::IcvMismatch);
      }
      Bytes out;
      ASSERT_TRUE(pair.inbound.decapsulate(wires[i], out)) << i;
      EXPECT_EQ(out, plains[i]) << i;
    }
  }
}

// CBC encryption keeps one EVP context chained from packet to packet (CipherTransform::cbc_seal);
// decryption chains through each packet's IV. Packets of every padding length, fixed-IV packets
// (which re-initialise the context) in between, delivered in reverse order, must all come back.
TEST(EspIv, CbcChainCarriesAcrossPacketsFixedIvsAndReordering) {
  for (const auto& algorithms : kAlgorithms) {
    if (algorithms.cipher != Cipher::AesCbc128 && algorithms.cipher != Cipher::AesCbc256 &&
        algorithms.cipher != Cipher::TripleDesCbc) {
      continue;
    }
    SCOPED_TRACE(std::string(name_of(algorithms.cipher)) + " " + std::string(name_of(algorithms.integrity)));
    SaShape shape;
    shape.cipher = algorithms.cipher;
    shape.integrity = algorithms.integrity;
    SaPair pair = make_pair(shape);
    const std::size_t iv_length = algorithms.cipher == Cipher::TripleDesCbc ? kTripleDesBlockLength : kAesBlockLength;
    const Bytes fixed_iv(iv_length, std::byte{0xa5});
    const std::size_t iv_at = kIpv4MinHeaderLength + kEspHeaderLength;
    std::vector<Bytes> plains;
    std::vector<Bytes> wires;
    // Keyed by the bytes as a string: std::set<Bytes> makes GCC 12 at -O3 warn falsely
    // (-Wstringop-overread) in vector's operator<=>.
    std::set<std::string> ivs;
    std::uint64_t fixed_sequence = 50;  // above the counter's 1..40, inside the 64-packet window
    for (std::size_t i = 0; i < 45; ++i) {
      plains.push_back(testing::plain_packet(false, i == 44 ? 1400 : i, static_cast<std::uint8_t>(i)));
      Bytes wire;
      if (i % 9 == 4) {
        ASSERT_TRUE(pair.outbound.encapsulate_test_vector(plains.back(), wire,
                                                          FixedSequenceAndIv{fixed_sequence++, fixed_iv}));
        EXPECT_EQ(Bytes(wire.begin() + iv_at, wire.begin() + static_cast<std::ptrdiff_t>(iv_at + iv_length)), fixed_iv);
      } else {
        ASSERT_TRUE(pair.outbound.encapsulate(plains.back(), wire)) << i;
        ivs.insert(as_key(std::span(wire).subspan(iv_at, iv_length)));
      }
      wires.push_back(std::move(wire));
    }
    EXPECT_EQ(ivs.size(), 40U);  // every counter-driven packet has its own IV
    // Each counter-driven IV is E_K(sequence XOR mask) under the SA's key with one mask per SA
    // (NIST SP 800-38A App. C): decrypting the IVs with the key gives a constant once the
    // sequence number is XORed out, also right after the fixed-IV packets.
    const SaParams params = testing::outbound_params(shape);
    const auto key = params.encryption_key.reveal();
    const char* ecb_name = algorithms.cipher == Cipher::AesCbc128   ? "AES-128-ECB"
                           : algorithms.cipher == Cipher::AesCbc256 ? "AES-256-ECB"
                                                                    : "DES-EDE3-ECB";
    std::unique_ptr<EVP_CIPHER, EvpCipherDeleter> ecb(EVP_CIPHER_fetch(nullptr, ecb_name, nullptr));
    std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxDeleter> ecb_ctx(EVP_CIPHER_CTX_new());
    ASSERT_TRUE(ecb && ecb_ctx);
    ASSERT_EQ(EVP_DecryptInit_ex2(ecb_ctx.get(), ecb.get(), reinterpret_cast<const unsigned char*>(key.data()),
                                  nullptr, nullptr),
              1);
    EVP_CIPHER_CTX_set_padding(ecb_ctx.get(), 0);
    std::set<std::string> masks;
    std::uint64_t sequence = 0;
    for (std::size_t i = 0; i < wires.size(); ++i) {
      if (i % 9 == 4) continue;
      ++sequence;
      Bytes block(wires[i].begin() + iv_at, wires[i].begin() + static_cast<std::ptrdiff_t>(iv_at + iv_length));
      int length = 0;
      ASSERT_EQ(EVP_DecryptUpdate(ecb_ctx.get(), reinterpret_cast<unsigned char*>(block.data()), &length,
                                  reinterpret_cast<const unsigned char*>(block.data()), static_cast<int>(block.size())),
                1);
      for (std::size_t b = 0; b < 8; ++b) {
        block[iv_length - 1 - b] ^= std::byte{static_cast<std::uint8_t>(sequence >> (8 * b))};
      }
      masks.insert(as_key(block));
    }
    EXPECT_EQ(masks.size(), 1U);
    for (std::size_t i = wires.size(); i-- > 0;) {
      Bytes back;
      ASSERT_TRUE(pair.inbound.decapsulate(wires[i], back)) << "packet " << i;
      EXPECT_EQ(back, plains[i]) << "packet " << i;
    }
  }
}

// RFC 3948 3.1.2: transport mode through a NAT. The sender (behind the NAT) computes its inner
// TCP/UDP checksum over its private address; the NAT rewrites only the outer source address.
namespace nat {

constexpr std::uint8_t kTcp = kProtoTcp;
constexpr std::uint8_t kUdp = kProtoUdp;

IpAddress private_source(bool ipv6) { return ipv6 ? testing::v6_address(0x77) : IpAddress::v4(192, 168, 77, 2); }
IpAddress public_source(bool ipv6) { return ipv6 ? testing::v6_address(0x01) : IpAddress::v4(10, 77, 0, 1); }
IpAddress server(bool ipv6) { return ipv6 ? testing::v6_address(0x02) : IpAddress::v4(10, 77, 0, 2); }

// A TCP segment (20-byte header, ACK|PSH) or UDP datagram carrying `data`, with its checksum
// computed over `source` -> `destination`; `checksum` overrides it when given.
Bytes segment(std::uint8_t protocol, const IpAddress& source, const IpAddress& destination, std::size_t data,
              std::optional<std::uint16_t> checksum = std::nullopt) {
  ByteWriter writer;
  writer.u16_be(40000);
  writer.u16_be(5001);
  if (protocol == kTcp) {
    writer.u32_be(0x01020304);  // sequence
    writer.u32_be(0x05060708);  // acknowledgment
    writer.u16_be(0x5018);      // data offset 5, ACK|PSH
    writer.u16_be(64240);       // window
    writer.u16_be(0);           // checksum, below
    writer.u16_be(0);           // urgent pointer
  } else {
    writer.u16_be(static_cast<std::uint16_t>(kUdpHeaderLength + data));
    writer.u16_be(0);
  }
  writer.bytes(testing::pattern_bytes(data, 0x5a));
  const std::size_t field = protocol == kTcp ? kTcpChecksumOffset : kUdpChecksumOffset;
  writer.patch_u16_be(field, checksum ? *checksum : transport_checksum(source, destination, protocol, writer.written()));
  return std::move(writer).take();
}

Bytes ip_packet(const IpAddress& source, const IpAddress& destination, std::uint8_t protocol, const Bytes& payload) {
  return source.version == IpVersion::V6 ? testing::make_ipv6_packet(source, destination, protocol, payload)
                                         : testing::make_ipv4_packet(source, destination, protocol, payload);
}

// What a source NAT does to the outer header: a new source address (and, for IPv4, a new header
// checksum). The UDP/4500 checksum is zero over IPv4 (RFC 3948 2.1), so it needs no update.
void translate_source(Bytes& wire, const IpAddress& to) {
  const bool ipv6 = to.version == IpVersion::V6;
  const std::size_t at = ipv6 ? 8 : 12;
  const auto address = to.view();
  std::copy(address.begin(), address.end(), wire.begin() + static_cast<std::ptrdiff_t>(at));
  if (!ipv6) {
    ByteWriter header;
    header.bytes(std::span<const std::byte>(wire).first(kIpv4MinHeaderLength));
    header.patch_u16_be(10, 0);
    header.patch_u16_be(10, internet_checksum(header.written()));
    std::copy(header.written().begin(), header.written().end(), wire.begin());
  } else {  // the IPv6 UDP checksum covers the addresses: a NAT66 would update it
    const std::size_t udp_at = kIpv6HeaderLength;
    Bytes udp(wire.begin() + udp_at, wire.end());
    udp[6] = udp[7] = std::byte{0};
    const std::uint16_t checksum = udp_checksum_ipv6(to, server(true), udp);
    wire[udp_at + 6] = std::byte{static_cast<std::uint8_t>(checksum >> 8)};
    wire[udp_at + 7] = std::byte{static_cast<std::uint8_t>(checksum)};
  }
}

std::uint16_t field_at(const Bytes& packet, std::size_t at) {
  return static_cast<std::uint16_t>(byte_at(packet, at) << 8 | byte_at(packet, at + 1));
}

// True if the packet's TCP/UDP checksum verifies for the packet's own IP addresses.
bool checksum_valid(const Bytes& packet) {
  auto info = parse_ip_packet(packet);
  if (!info) return false;
  const Bytes segment(packet.begin() + static_cast<std::ptrdiff_t>(info->header_length), packet.end());
  // One's complement sum over pseudo-header and segment (checksum included) must be all ones.
  std::uint32_t sum = ones_complement_sum(info->source.view());
  sum = ones_complement_sum(info->destination.view(), sum);
  sum += static_cast<std::uint32_t>(segment.size()) + info->protocol;
  sum = ones_complement_sum(segment, sum);
  return sum == 0xffff;
}

struct NatCase {
  bool ipv6;
  std::uint8_t protocol;
};

class EspNatTransport : public ::testing::TestWithParam<NatCase> {};

TEST_P(EspNatTransport, InnerChecksumIsValidForTheTranslatedAddressesAfterDecapsulation) {
  const auto [ipv6, protocol] = GetParam();
  SaShape shape;
  shape.ipv6 = ipv6;
  shape.udp = true;
  shape.cipher = Cipher::AesCbc128;
  shape.integrity = Integrity::HmacSha256_128;
  SaPair pair = make_pair(shape);
  const std::size_t field = protocol == kTcp ? kTcpChecksumOffset : kUdpChecksumOffset;
  for (const std::size_t data : {0, 1, 33, 1200}) {
    const Bytes sent_segment = segment(protocol, private_source(ipv6), server(ipv6), data);
    const Bytes sent = ip_packet(private_source(ipv6), server(ipv6), protocol, sent_segment);
    ASSERT_TRUE(checksum_valid(sent));
    Bytes wire;
    ASSERT_TRUE(pair.outbound.encapsulate(sent, wire));
    translate_source(wire, public_source(ipv6));

    Bytes delivered;
    auto opened = pair.inbound.decapsulate(wire, delivered);
    ASSERT_TRUE(opened) << data << ": " << name_of(opened.error());
    EXPECT_EQ(opened->next_header, protocol);
    auto info = parse_ip_packet(delivered);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->source == public_source(ipv6));
    EXPECT_TRUE(info->destination == server(ipv6));
    EXPECT_TRUE(checksum_valid(delivered)) << data;
    // Only the checksum changed; it is what the translated addresses need, and the sender's
    // checksum would not have verified (so the test exercises the refresh).
    const Bytes got(delivered.begin() + static_cast<std::ptrdiff_t>(info->header_length), delivered.end());
    ASSERT_EQ(got.size(), sent_segment.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (i != field && i != field + 1) {
        EXPECT_EQ(got[i], sent_segment[i]) << "byte " << i;
      }
    }
    EXPECT_EQ(field_at(got, field), field_at(segment(protocol, public_source(ipv6), server(ipv6), data), field));
    EXPECT_NE(field_at(got, field), field_at(sent_segment, field));
  }
}

// Where the caller marks the delivered packet checksum-valid (the TUN device), the segment comes
// out exactly as the peer sent it: no recompute, the NAT-stale checksum left for nobody to check.
TEST_P(EspNatTransport, InnerChecksumIsLeftAsSentWhenTheCallerMarksItValid) {
  const auto [ipv6, protocol] = GetParam();
  SaShape shape;
  shape.ipv6 = ipv6;
  shape.udp = true;
  SaPair pair = make_pair(shape);
  for (const std::size_t data : {0, 33, 1200}) {
    const Bytes sent_segment = segment(protocol, private_source(ipv6), server(ipv6), data);
    Bytes wire;
    ASSERT_TRUE(pair.outbound.encapsulate(ip_packet(private_source(ipv6), server(ipv6), protocol, sent_segment), wire));
    translate_source(wire, public_source(ipv6));
    Bytes delivered;
    // The ICV still decides: a flipped ciphertext bit is dropped whatever the caller marks.
    Bytes tampered = wire;
    tampered[tampered.size() - 20] ^= std::byte{0x10};
    const auto dropped = pair.inbound.decapsulate(tampered, delivered, InnerChecksum::MarkedValidByCaller);
    ASSERT_FALSE(dropped);
    EXPECT_EQ(dropped.error(), DropReason::IcvMismatch);
    ASSERT_TRUE(pair.inbound.decapsulate(wire, delivered, InnerChecksum::MarkedValidByCaller));
    auto info = parse_ip_packet(delivered);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->source == public_source(ipv6));
    EXPECT_EQ(Bytes(delivered.begin() + static_cast<std::ptrdiff_t>(info->header_length), delivered.end()), sent_segment) << data;
    EXPECT_FALSE(checksum_valid(delivered)) << data;  // stale for the translated source: only the mark lets it in
  }
}

INSTANTIATE_TEST_SUITE_P(TcpUdpV4V6, EspNatTransport,
                         ::testing::Values(NatCase{false, kTcp}, NatCase{false, kUdp}, NatCase{true, kTcp},
                                           NatCase{true, kUdp}),
                         [](const auto& test_info) {
                           return std::string(test_info.param.protocol == kTcp ? "tcp" : "udp") +
                                  (test_info.param.ipv6 ? "_v6" : "_v4");
                         });

TEST(EspNatTransportEdges, ZeroUdpChecksumOverIpv4StaysZero) {
  SaShape shape;
  shape.udp = true;
  SaPair pair = make_pair(shape);
  const Bytes sent = ip_packet(private_source(false), server(false), kUdp,
                               segment(kUdp, private_source(false), server(false), 40, 0));
  Bytes wire;
  Bytes delivered;
  ASSERT_TRUE(pair.outbound.encapsulate(sent, wire));
  translate_source(wire, public_source(false));
  ASSERT_TRUE(pair.inbound.decapsulate(wire, delivered));
  EXPECT_EQ(field_at(delivered, kIpv4MinHeaderLength + kUdpChecksumOffset), 0);
}

TEST(EspNatTransportEdges, TunnelModeAndPlainEspDeliverTheInnerBytesUntouched) {
  // A TCP segment whose checksum is wrong for every address pair here: only a transport-mode
  // UDP-encapsulated SA may rewrite it.
  const Bytes inner = ip_packet(private_source(false), server(false), kTcp,
                                segment(kTcp, private_source(false), server(false), 50, 0x1234));
  for (const auto& [mode, udp] : {std::pair{Mode::Tunnel, true}, std::pair{Mode::Tunnel, false},
                                  std::pair{Mode::Transport, false}}) {
    SaShape shape;
    shape.mode = mode;
    shape.udp = udp;
    SaPair pair = make_pair(shape);
    Bytes wire;
    Bytes delivered;
    ASSERT_TRUE(pair.outbound.encapsulate(inner, wire));
    ASSERT_TRUE(pair.inbound.decapsulate(wire, delivered));
    EXPECT_EQ(delivered, inner) << name_of(mode) << (udp ? " udp" : "");
  }
  // The same SA shape with UDP encapsulation in transport mode does fix it.
  SaShape shape;
  shape.udp = true;
  SaPair pair = make_pair(shape);
  Bytes wire;
  Bytes delivered;
  ASSERT_TRUE(pair.outbound.encapsulate(inner, wire));
  ASSERT_TRUE(pair.inbound.decapsulate(wire, delivered));
  EXPECT_FALSE(checksum_valid(inner));
  EXPECT_TRUE(checksum_valid(delivered));
}

TEST(EspNatTransportEdges, ShortOrInconsistentSegmentsAreLeftAlone) {
  SaShape shape;
  shape.udp = true;
  SaPair pair = make_pair(shape);
  Bytes short_tcp = testing::pattern_bytes(19);                  // shorter than a TCP header
  Bytes long_udp = segment(kUdp, private_source(false), server(false), 10);
  long_udp[4] = std::byte{0x01};                                 // UDP length 256 > datagram
  for (const auto& [protocol, body] : {std::pair{kTcp, short_tcp}, std::pair{kUdp, long_udp}}) {
    const Bytes sent = ip_packet(private_source(false), server(false), protocol, body);
    Bytes wire;
    Bytes delivered;
    ASSERT_TRUE(pair.outbound.encapsulate(sent, wire));
    ASSERT_TRUE(pair.inbound.decapsulate(wire, delivered));
    EXPECT_EQ(delivered, sent);
  }
}

}  // namespace nat

TEST(DropReasonNames, AreUniqueAndComplete) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) names.insert(name_of(static_cast<DropReason>(i)));
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(name_of(DropReason::IcvMismatch), "icv-mismatch");
}

TEST(FuzzCorpus, EverySeedIsAValidPacketForItsSa) {
  const char* source_dir = std::getenv("WARD_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  const auto sas = fuzzing::fuzz_sas();
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(source_dir) /
                                                               "driver/crypto/fuzz_corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_FALSE(raw.empty()) << entry.path();
    const auto selector = static_cast<std::size_t>(static_cast<unsigned char>(raw[0]));
    const auto packet = std::as_bytes(std::span<const char>(raw).subspan(1));
    Bytes out;
    if (selector == sas.size()) {
      EXPECT_TRUE(parse_ip_packet(packet)) << entry.path();
    } else if (sas.at(selector).outbound.protocol == SecurityProtocol::Esp) {
      auto sa = EspSa::create(fuzzing::inbound_of(sas[selector].outbound));
      ASSERT_TRUE(sa);
      auto result = sa->decapsulate(packet, out);
      EXPECT_TRUE(result) << entry.path() << ": " << name_of(result.error());
    } else {
      continue;  // AH seeds are checked in ah_test.cpp
    }
    ++checked;
  }
  EXPECT_GE(checked, 20U);
}

}  // namespace
}  // namespace ward::driver::crypto
