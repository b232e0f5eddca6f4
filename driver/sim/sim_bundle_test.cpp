// AH+ESP bundles (SaInstall::bundled_ah) through the userspace packet engine, two sim hosts in one
// process: ESP then AH on the wire, AH checked then ESP inbound, and a packet missing either
// dropped and counted; AH alone and legacy algorithms (3DES, HMAC-MD5-96) as single SAs.
#include <gtest/gtest.h>

#include "driver/crypto/test_sas.h"
#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::driver::sim_bundle_test {
namespace {

using crypto::Direction;
using crypto::DropReason;
using crypto::SecurityProtocol;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kHostA = ip("10.20.1.10");
const IpAddress kHostB = ip("10.20.2.30");
constexpr std::uint32_t kFilter = 3;

struct NullListener : DataplaneListener {
  void on_acquire(const Acquire&) override {}
  void on_expiry(const SaExpiry&) override {}
};

FilterTable negotiate_table() {
  const auto a = IpPrefix::host(kHostA);
  const auto b = IpPrefix::host(kHostB);
  return {{DriverFilter{kFilter, a, b, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}},
           DriverFilter{kFilter, b, a, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate, 32768, {}}}};
}

crypto::SaParams params_of(const crypto::testing::SaShape& shape, std::uint32_t spi, Direction direction) {
  auto params = crypto::testing::outbound_params(shape, spi);
  return direction == Direction::Inbound ? crypto::fuzzing::inbound_of(params) : params;
}

// ESP 3DES/HMAC-SHA1-96 inside AH HMAC-MD5-96: what Windows offers as its AH+ESP methods.
SaInstall bundle(std::uint32_t esp_spi, std::uint32_t ah_spi, Direction direction, const IpAddress& peer) {
  crypto::testing::SaShape esp;
  esp.cipher = crypto::Cipher::TripleDesCbc;
  esp.integrity = crypto::Integrity::HmacSha1_96;
  crypto::testing::SaShape ah;
  ah.protocol = SecurityProtocol::Ah;
  ah.cipher = crypto::Cipher::Null;
  ah.integrity = crypto::Integrity::HmacMd5_96;
  SaInstall install{params_of(esp, esp_spi, direction), kFilter, peer, {}};
  install.bundled_ah = params_of(ah, ah_spi, direction);
  return install;
}

std::vector<std::byte> tcp(const IpAddress& from, const IpAddress& to, std::size_t payload = 100) {
  return testing::make_packet(from, to, 6, 40000, 445, payload);
}

std::uint64_t drops(const DataplaneCounters& counters, DropReason reason) {
  return counters.drops_by_reason[static_cast<std::size_t>(reason)];
}

class SimBundleTest : public ::testing::Test {
 protected:
  SimBundleTest() : a(listener_a), b(listener_b) {
    EXPECT_TRUE(a.install_filter_table(negotiate_table()).has_value());
    EXPECT_TRUE(b.install_filter_table(negotiate_table()).has_value());
  }
  // A -> B: ESP 0x3001 in AH 0x3002; B -> A: ESP 0x4001 in AH 0x4002.
  void install_bundles() {
    ASSERT_TRUE(a.add_sa(bundle(0x3001, 0x3002, Direction::Outbound, kHostB)).has_value());
    ASSERT_TRUE(b.add_sa(bundle(0x3001, 0x3002, Direction::Inbound, kHostA)).has_value());
    ASSERT_TRUE(b.add_sa(bundle(0x4001, 0x4002, Direction::Outbound, kHostA)).has_value());
    ASSERT_TRUE(a.add_sa(bundle(0x4001, 0x4002, Direction::Inbound, kHostB)).has_value());
  }

  NullListener listener_a, listener_b;
  SimDataplane a, b;
};

TEST_F(SimBundleTest, OutboundIsEspInsideAhAndInboundOpensBothBothWays) {
  install_bundles();
  const auto request = tcp(kHostA, kHostB);
  const auto sent = a.send(request);
  ASSERT_EQ(sent.disposition, Disposition::AcceptModified);
  // On the wire: IP | AH (SPI 0x3002, next header ESP) | ESP (SPI 0x3001) ...
  const auto outer = summarize_ip_packet(sent.bytes);
  ASSERT_TRUE(outer.has_value());
  EXPECT_EQ(outer->protocol, crypto::kProtoAh);
  const std::size_t ah = outer->upper_layer_offset;
  EXPECT_EQ(static_cast<std::uint8_t>(sent.bytes[ah]), crypto::kProtoEsp) << "AH's next header is ESP";
  const std::size_t ah_length = (static_cast<std::size_t>(sent.bytes[ah + 1]) + 2) * 4;
  EXPECT_EQ(sent.bytes[ah + 7], std::byte{0x02}) << "AH SPI 0x3002";
  EXPECT_EQ(sent.bytes[ah + ah_length + 3], std::byte{0x01}) << "ESP SPI 0x3001 right after AH";

  const auto delivered = b.receive(sent.bytes);
  ASSERT_EQ(delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(delivered.bytes, request);
  const auto reply = tcp(kHostB, kHostA, 1200);
  const auto back = b.send(reply);
  ASSERT_EQ(back.disposition, Disposition::AcceptModified);
  const auto reply_delivered = a.receive(back.bytes);
  ASSERT_EQ(reply_delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(reply_delivered.bytes, reply);

  // One counter row per bundle and direction, named by the ESP SPI, naming its AH SPI.
  const auto counters = b.counters();
  ASSERT_EQ(counters.sas.size(), 2u);
  for (const auto& sa : counters.sas) {
    EXPECT_EQ(sa.protocol, SecurityProtocol::Esp);
    EXPECT_EQ(sa.bundled_ah_spi, sa.spi + 1);
    EXPECT_EQ(sa.packets, 1u);
  }
}

TEST_F(SimBundleTest, APacketMissingAhOrEspIsDroppedAsBundleIncomplete) {
  install_bundles();
  const auto sent = a.send(tcp(kHostA, kHostB));
  ASSERT_EQ(sent.disposition, Disposition::AcceptModified);

  // The bundle's ESP without its AH: strip AH (as an attacker could) and fix the IP header.
  const auto outer = summarize_ip_packet(sent.bytes);
  const std::size_t ah = outer->upper_layer_offset;
  const std::size_t ah_length = (static_cast<std::size_t>(sent.bytes[ah + 1]) + 2) * 4;
  std::vector<std::byte> esp_payload(sent.bytes.begin() + static_cast<std::ptrdiff_t>(ah + ah_length), sent.bytes.end());
  const auto bare_esp = crypto::testing::make_ipv4_packet(crypto::IpAddress::v4(10, 20, 1, 10), crypto::IpAddress::v4(10, 20, 2, 30),
                                                          crypto::kProtoEsp, esp_payload);
  EXPECT_EQ(b.receive(bare_esp).disposition, Disposition::Drop);
  EXPECT_EQ(drops(b.counters(), DropReason::BundleIncomplete), 1u);

  // AH of the bundle around something that is not its ESP: B's own single AH SA keyed alike
  // protects a clear TCP packet; the bundle's AH SPI with it is refused after AH verifies.
  crypto::testing::SaShape ah_shape;
  ah_shape.protocol = SecurityProtocol::Ah;
  ah_shape.cipher = crypto::Cipher::Null;
  ah_shape.integrity = crypto::Integrity::HmacMd5_96;
  SimDataplane c(listener_a);
  ASSERT_TRUE(c.install_filter_table(negotiate_table()).has_value());
  ASSERT_TRUE(c.add_sa(SaInstall{params_of(ah_shape, 0x3002, Direction::Outbound), kFilter, kHostB, {}}).has_value());
  const auto ah_only = c.send(tcp(kHostA, kHostB));
  ASSERT_EQ(ah_only.disposition, Disposition::AcceptModified);
  EXPECT_EQ(b.receive(ah_only.bytes).disposition, Disposition::Drop);
  EXPECT_EQ(drops(b.counters(), DropReason::BundleIncomplete), 2u);

  // Complete packets still open: the bare ESP never reached the ESP SA (its sequence number 1
  // is still unseen); AH sequence number 1 was used by the refused packet, so the next one.
  const auto next = a.send(tcp(kHostA, kHostB));
  EXPECT_EQ(b.receive(next.bytes).disposition, Disposition::AcceptModified);
}

TEST_F(SimBundleTest, DeletingTheEspSpiRemovesTheWholeBundle) {
  install_bundles();
  const auto sent = a.send(tcp(kHostA, kHostB));
  ASSERT_TRUE(b.delete_sa(0x3001, Direction::Inbound).has_value());
  EXPECT_EQ(b.receive(sent.bytes).disposition, Disposition::Drop);
  EXPECT_EQ(b.counters().unknown_spi, 1u) << "the AH SPI went with the bundle";
  EXPECT_FALSE(b.delete_sa(0x3002, Direction::Inbound).has_value()) << "a bundle is named by its ESP SPI";
  ASSERT_TRUE(a.delete_sa(0x3001, Direction::Outbound).has_value());
  EXPECT_EQ(a.send(tcp(kHostA, kHostB)).disposition, Disposition::Held);
}

TEST_F(SimBundleTest, BundlesThatCannotWorkAreRefused) {
  auto tunnel = bundle(0x5001, 0x5002, Direction::Outbound, kHostB);
  tunnel.params.mode = crypto::Mode::Tunnel;
  tunnel.params.tunnel = crypto::TunnelEndpoints{crypto::IpAddress::v4(10, 0, 0, 1), crypto::IpAddress::v4(10, 0, 0, 2)};
  auto refused = a.add_sa(std::move(tunnel));
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("transport mode only"), std::string::npos) << refused.error();

  auto mixed = bundle(0x5001, 0x5002, Direction::Outbound, kHostB);
  mixed.bundled_ah->direction = Direction::Inbound;
  EXPECT_FALSE(a.add_sa(std::move(mixed)).has_value());
  auto swapped = bundle(0x5001, 0x5002, Direction::Outbound, kHostB);
  std::swap(swapped.params, *swapped.bundled_ah);
  EXPECT_FALSE(a.add_sa(std::move(swapped)).has_value());
  auto not_legacy = bundle(0x5001, 0x5002, Direction::Outbound, kHostB);
  not_legacy.bundled_ah->allow_legacy = false;   // HMAC-MD5-96 needs it
  EXPECT_FALSE(a.add_sa(std::move(not_legacy)).has_value());
}

TEST_F(SimBundleTest, AhAloneProtectsWithoutEncryptionAndChecksTheProtocol) {
  crypto::testing::SaShape shape;
  shape.protocol = SecurityProtocol::Ah;
  shape.cipher = crypto::Cipher::Null;
  shape.integrity = crypto::Integrity::HmacSha1_96;
  ASSERT_TRUE(a.add_sa(SaInstall{params_of(shape, 0x6001, Direction::Outbound), kFilter, kHostB, {}}).has_value());
  ASSERT_TRUE(b.add_sa(SaInstall{params_of(shape, 0x6001, Direction::Inbound), kFilter, kHostA, {}}).has_value());
  const auto request = tcp(kHostA, kHostB);
  const auto sent = a.send(request);
  ASSERT_EQ(sent.disposition, Disposition::AcceptModified);
  EXPECT_EQ(summarize_ip_packet(sent.bytes)->protocol, crypto::kProtoAh);
  const auto delivered = b.receive(sent.bytes);
  ASSERT_EQ(delivered.disposition, Disposition::AcceptModified);
  EXPECT_EQ(delivered.bytes, request);

  // ESP carrying the AH SA's SPI is not that SA's.
  crypto::testing::SaShape esp;
  SimDataplane c(listener_a);
  ASSERT_TRUE(c.install_filter_table(negotiate_table()).has_value());
  ASSERT_TRUE(c.add_sa(SaInstall{params_of(esp, 0x6001, Direction::Outbound), kFilter, kHostB, {}}).has_value());
  EXPECT_EQ(b.receive(c.send(tcp(kHostA, kHostB)).bytes).disposition, Disposition::Drop);
  EXPECT_EQ(b.counters().unknown_spi, 1u);
}

}  // namespace
}  // namespace ward::driver::sim_bundle_test
