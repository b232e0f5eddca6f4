// AH round trips, mutable-field handling, tampering, replay, truncation and parameter checks.
#include "driver/crypto/ah.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "driver/crypto/ip_packet.h"
#include "driver/crypto/test_sas.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::crypto::ah_test {
namespace {

using testing::SaShape;
using Bytes = std::vector<std::byte>;

struct AhPair {
  AhSa outbound;
  AhSa inbound;
};

SaShape ah_shape(Integrity integrity, Mode mode, bool ipv6, bool esn) {
  return SaShape{SecurityProtocol::Ah, Cipher::Null, integrity, mode, ipv6, esn, false};
}

AhPair make_pair(const SaShape& shape) {
  const SaParams out_params = testing::outbound_params(shape);
  auto outbound = AhSa::create(out_params);
  auto inbound = AhSa::create(fuzzing::inbound_of(out_params));
  if (!outbound || !inbound) {
    ADD_FAILURE() << (outbound ? inbound.error() : outbound.error());
    std::abort();
  }
  return AhPair{std::move(*outbound), std::move(*inbound)};
}

std::string shape_name(const SaShape& shape) {
  std::string name = std::string(name_of(shape.integrity)) + "_" + std::string(name_of(shape.mode)) +
                     (shape.ipv6 ? "_v6" : "_v4") + (shape.esn ? "_esn" : "");
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

std::vector<SaShape> all_shapes() {
  std::vector<SaShape> shapes;
  for (const Integrity integrity : {Integrity::HmacSha1_96, Integrity::HmacSha256_128, Integrity::HmacMd5_96}) {
    for (const Mode mode : {Mode::Transport, Mode::Tunnel}) {
      for (const bool ipv6 : {false, true}) {
        for (const bool esn : {false, true}) shapes.push_back(ah_shape(integrity, mode, ipv6, esn));
      }
    }
  }
  return shapes;
}

class AhRoundTrip : public ::testing::TestWithParam<SaShape> {};

TEST_P(AhRoundTrip, EncapsulateThenDecapsulateGivesThePacketBack) {
  const SaShape shape = GetParam();
  AhPair pair = make_pair(shape);
  Bytes wire;
  Bytes back;
  std::uint64_t sequence = 0;
  for (const std::size_t size : {0, 1, 3, 64, 1400}) {
    const Bytes plain = testing::plain_packet(shape.ipv6, size, static_cast<std::uint8_t>(size));
    ASSERT_TRUE(pair.outbound.encapsulate(plain, wire));
    ++sequence;
    auto outer = parse_ip_packet(wire);
    ASSERT_TRUE(outer) << name_of(outer.error());
    EXPECT_EQ(outer->protocol, kProtoAh);
    // RFC 4302 2.2 / 3.3.3.2.1: AH length is a multiple of 4 (IPv4) or 8 (IPv6) bytes.
    const std::size_t ah_length = (std::to_integer<std::size_t>(wire[outer->header_length + 1]) + 2) * 4;
    EXPECT_EQ(ah_length % (shape.ipv6 ? 8 : 4), 0U);
    EXPECT_EQ(wire.size(), outer->header_length + ah_length + (shape.mode == Mode::Tunnel ? plain.size() : size));
    auto opened = pair.inbound.decapsulate(wire, back);
    ASSERT_TRUE(opened) << size << ": " << name_of(opened.error());
    EXPECT_EQ(opened->sequence, sequence);
    EXPECT_EQ(back, plain);
  }
}

INSTANTIATE_TEST_SUITE_P(AllShapes, AhRoundTrip, ::testing::ValuesIn(all_shapes()),
                         [](const auto& test_info) { return shape_name(test_info.param); });

// Whether flipping `bit` of header byte `at` must still verify: the mutable fields, except the
// IPv4 bits that would turn the packet into a fragment (refused before the ICV).
bool survives_flip(bool ipv6, std::size_t at, unsigned bit) {
  if (ipv6) return (at == 0 && bit < 4) || at == 1 || at == 2 || at == 3 || at == 7;
  constexpr std::uint8_t kDfAndReserved = 0xc0;
  if (at == 6) return ((1U << bit) & kDfAndReserved) != 0;
  return at == 1 || at == 8;  // TOS, TTL (the checksum is recomputed, as a router would)
}

class AhTamper : public ::testing::TestWithParam<SaShape> {};

TEST_P(AhTamper, MutableFieldsMayChangeEverythingElseIsAuthenticated) {
  const SaShape shape = GetParam();
  AhPair pair = make_pair(shape);
  Bytes wire;
  Bytes out;
  DropCounters counters;
  std::size_t expected_failures = 0;
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(shape.ipv6, 30), wire));
  for (std::size_t at = 0; at < wire.size(); ++at) {
    if (!shape.ipv6 && (at == 10 || at == 11)) continue;  // the checksum itself is recomputed below
    for (unsigned bit = 0; bit < 8; ++bit) {
      // A fresh receiver per flip, so that a surviving forgery does not make the next a replay.
      auto receiver = AhSa::create(fuzzing::inbound_of(testing::outbound_params(shape)));
      ASSERT_TRUE(receiver);
      Bytes forged = wire;
      forged[at] ^= std::byte{static_cast<std::uint8_t>(1U << bit)};
      if (!shape.ipv6) {
        forged[10] = forged[11] = std::byte{0};
        const std::uint16_t checksum = internet_checksum(std::span(forged).first(kIpv4MinHeaderLength));
        forged[10] = std::byte{static_cast<std::uint8_t>(checksum >> 8)};
        forged[11] = std::byte{static_cast<std::uint8_t>(checksum)};
      }
      const bool header_byte = at < (shape.ipv6 ? kIpv6HeaderLength : kIpv4MinHeaderLength);
      const bool should_survive = header_byte && survives_flip(shape.ipv6, at, bit);
      auto result = receiver->decapsulate(forged, out);
      EXPECT_EQ(result.has_value(), should_survive) << "byte " << at << " bit " << bit;
      if (!result) counters.count(result.error());
      if (!should_survive) ++expected_failures;
    }
  }
  EXPECT_EQ(counters.total(), expected_failures);
  EXPECT_GT(counters[DropReason::IcvMismatch], expected_failures / 2);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AhTamper,
                         ::testing::Values(ah_shape(Integrity::HmacSha1_96, Mode::Transport, false, false),
                                           ah_shape(Integrity::HmacSha256_128, Mode::Transport, true, true),
                                           ah_shape(Integrity::HmacSha256_128, Mode::Tunnel, false, true),
                                           ah_shape(Integrity::HmacSha1_96, Mode::Tunnel, true, false)),
                         [](const auto& test_info) { return shape_name(test_info.param); });

TEST(AhReplayAndTruncation, DuplicatesAndPrefixesAreDropped) {
  AhPair pair = make_pair(ah_shape(Integrity::HmacSha256_128, Mode::Transport, false, false));
  Bytes first;
  Bytes second;
  Bytes out;
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 20), first));
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 20), second));
  EXPECT_TRUE(pair.inbound.decapsulate(second, out));
  EXPECT_TRUE(pair.inbound.decapsulate(first, out));
  EXPECT_EQ(pair.inbound.decapsulate(first, out).error(), DropReason::Replay);
  for (std::size_t length = 0; length < second.size(); ++length) {
    auto result = pair.inbound.decapsulate(std::span(second).first(length), out);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), DropReason::Truncated) << length;
  }
}

TEST(AhInput, WrongLengthFieldOptionsAndSpi) {
  const SaShape shape = ah_shape(Integrity::HmacSha1_96, Mode::Transport, false, false);
  AhPair pair = make_pair(shape);
  Bytes wire;
  Bytes out;
  ASSERT_TRUE(pair.outbound.encapsulate(testing::plain_packet(false, 20), wire));
  Bytes bad_length = wire;
  bad_length[21] = std::byte{5};  // HMAC-SHA1-96 over IPv4 needs payload length 4
  EXPECT_EQ(pair.inbound.decapsulate(bad_length, out).error(), DropReason::BadLength);
  auto other = AhSa::create(fuzzing::inbound_of(testing::outbound_params(shape, 0x4444)));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->decapsulate(wire, out).error(), DropReason::BadSpi);
  // An IPv4 header with options cannot be AH-protected in transport mode here.
  Bytes with_options = testing::plain_packet(false, 20);
  ByteWriter writer;
  writer.u8(0x46);
  writer.bytes(std::span(with_options).subspan(1, 19));
  writer.u32_be(0x01010101);  // four NOP options
  writer.bytes(std::span(with_options).subspan(20));
  ASSERT_TRUE(finish_ip_header(writer, IpVersion::V4, 24));
  EXPECT_EQ(pair.outbound.encapsulate(writer.written(), out).error(), DropReason::UnsupportedPacket);
}

TEST(AhSaParams, RefusedWithClearErrors) {
  SaParams md5 = testing::outbound_params(ah_shape(Integrity::HmacMd5_96, Mode::Transport, false, false));
  md5.allow_legacy = false;
  auto refused = AhSa::create(md5);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("AH SA 0x12345678 (outbound): HMAC-MD5-96 is a legacy algorithm"), std::string::npos)
      << refused.error();
  SaParams with_cipher = testing::outbound_params(ah_shape(Integrity::HmacSha1_96, Mode::Transport, false, false));
  with_cipher.cipher = Cipher::AesCbc128;
  EXPECT_FALSE(AhSa::create(with_cipher));
  SaParams udp = testing::outbound_params(ah_shape(Integrity::HmacSha1_96, Mode::Transport, false, false));
  udp.udp_encapsulation = UdpEncapsulation{};
  EXPECT_FALSE(AhSa::create(udp));
  SaParams wrong_key = testing::outbound_params(ah_shape(Integrity::HmacSha256_128, Mode::Transport, false, false));
  wrong_key.integrity_key = SecureBytes(testing::pattern_bytes(20));
  refused = AhSa::create(wrong_key);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("needs a 32-byte integrity key, got 20"), std::string::npos) << refused.error();
}

TEST(FuzzCorpus, EveryAhSeedIsAValidPacketForItsSa) {
  const char* source_dir = std::getenv("WARD_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr);
  const auto sas = fuzzing::fuzz_sas();
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(source_dir) /
                                                               "driver/crypto/fuzz_corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_FALSE(raw.empty());
    const auto selector = static_cast<std::size_t>(static_cast<unsigned char>(raw[0]));
    if (selector >= sas.size() || sas[selector].outbound.protocol != SecurityProtocol::Ah) continue;
    auto sa = AhSa::create(fuzzing::inbound_of(sas[selector].outbound));
    ASSERT_TRUE(sa);
    Bytes out;
    auto result = sa->decapsulate(std::as_bytes(std::span<const char>(raw).subspan(1)), out);
    EXPECT_TRUE(result) << entry.path() << ": " << name_of(result.error());
    ++checked;
  }
  EXPECT_GE(checked, 9U);
}

}  // namespace
}  // namespace ward::driver::crypto::ah_test
