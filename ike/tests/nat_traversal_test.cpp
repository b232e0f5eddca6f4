// NAT traversal (RFC 3947 / 3948): NAT-D hashes recomputed independently with OpenSSL, detection
// of a NAT on either side, the port 4500 framing, the encapsulation modes, and main mode between
// two Ward SAs (messages handed across in memory) with and without a NAT that rewrote the
// initiator's port: both sides must agree on whether IKE floats to UDP 4500.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/message/message.h"
#include "ike/payload/vendor_ids.h"
#include "ike/sa/nat_traversal.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::sa {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kHostA = ip("10.20.1.10");
const IpAddress kHostB = ip("10.20.2.30");
constexpr std::uint16_t kNatPort = 31000;   // the port a NAT gave the initiator

Cookie cookie(std::uint8_t seed) {
  Cookie c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = std::byte(seed + i);
  return c;
}

// SHA-256(CKY-I | CKY-R | IPv4 | port) written out byte by byte, independent of Ward's helpers.
std::vector<std::byte> reference_sha256(const Cookie& i, const Cookie& r, const IpAddress& address, std::uint16_t port) {
  std::vector<unsigned char> input;
  for (auto b : i) input.push_back(static_cast<unsigned char>(b));
  for (auto b : r) input.push_back(static_cast<unsigned char>(b));
  for (int k = 0; k < 4; ++k) input.push_back(address.bytes()[k]);
  input.push_back(static_cast<unsigned char>(port >> 8));
  input.push_back(static_cast<unsigned char>(port & 0xFF));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EXPECT_EQ(EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr), 1);
  std::vector<std::byte> out(size);
  for (unsigned k = 0; k < size; ++k) out[k] = std::byte(digest[k]);
  return out;
}

TEST(NatDiscovery, HashIsCookiesAddressAndPortWithTheNegotiatedHash) {
  const auto i = cookie(1), r = cookie(100);
  EXPECT_EQ(nat_discovery_hash(IkeHashAlgorithm::Sha2_256, i, r, {kHostA, 500}), reference_sha256(i, r, kHostA, 500));
  EXPECT_EQ(nat_discovery_hash(IkeHashAlgorithm::Sha2_256, i, r, {kHostA, 4500}), reference_sha256(i, r, kHostA, 4500));
  EXPECT_NE(nat_discovery_hash(IkeHashAlgorithm::Sha2_256, i, r, {kHostA, 500}),
            nat_discovery_hash(IkeHashAlgorithm::Sha2_256, i, r, {kHostB, 500}));
  EXPECT_EQ(nat_discovery_hash(IkeHashAlgorithm::Sha, i, r, {kHostA, 500}).size(), 20U);
  EXPECT_EQ(nat_discovery_hash(IkeHashAlgorithm::Sha2_384, i, r, {kHostA, 500}).size(), 48U);
}

class NatDetectionTest : public ::testing::Test {
 protected:
  std::vector<std::byte> h(const IpAddress& a, std::uint16_t port) {
    return nat_discovery_hash(IkeHashAlgorithm::Sha2_256, i, r, {a, port});
  }
  Expected<NatDetection, std::string> detect(std::vector<std::vector<std::byte>> hashes) {
    // We are A:500 and see the peer at B:500.
    return detect_nat(IkeHashAlgorithm::Sha2_256, i, r, {kHostA, 500}, {kHostB, 500}, hashes);
  }
  Cookie i = cookie(7), r = cookie(9);
};

TEST_F(NatDetectionTest, MatchingHashesMeanNoNat) {
  auto d = detect({h(kHostA, 500), h(kHostB, 500)});
  ASSERT_TRUE(d.has_value()) << d.error();
  EXPECT_FALSE(d->any());
  EXPECT_EQ(describe(*d), "no NAT between the peers");
}

TEST_F(NatDetectionTest, PeerSeesAnotherAddressForUsMeansWeAreBehindANat) {
  auto d = detect({h(ip("198.51.100.7"), 500), h(kHostB, 500)});
  ASSERT_TRUE(d.has_value()) << d.error();
  EXPECT_TRUE(d->local_behind_nat);
  EXPECT_FALSE(d->peer_behind_nat);
}

TEST_F(NatDetectionTest, NoneOfThePeersOwnAddressesIsWhereWeSeeItMeansThePeerIsBehindANat) {
  auto d = detect({h(kHostA, 500), h(ip("192.168.1.2"), 500), h(kHostB, 4500)});
  ASSERT_TRUE(d.has_value()) << d.error();
  EXPECT_FALSE(d->local_behind_nat);
  EXPECT_TRUE(d->peer_behind_nat);
  // Any of the peer's local hashes may match (a multi-homed peer sends one per address).
  auto multi = detect({h(kHostA, 500), h(ip("192.168.1.2"), 500), h(kHostB, 500)});
  ASSERT_TRUE(multi.has_value());
  EXPECT_FALSE(multi->any());
}

TEST_F(NatDetectionTest, TooFewOrWrongSizedHashesAreRefusedWithNumbers) {
  auto one = detect({h(kHostA, 500)});
  ASSERT_FALSE(one.has_value());
  EXPECT_NE(one.error().find("sent 1 NAT-D payloads, at least 2"), std::string::npos) << one.error();
  auto short_hash = detect({h(kHostA, 500), std::vector<std::byte>(20)});
  ASSERT_FALSE(short_hash.has_value());
  EXPECT_NE(short_hash.error().find("payload 2 is 20 bytes"), std::string::npos) << short_hash.error();
}

TEST(NatTFraming, ClassifiesKeepaliveIkeAndEsp) {
  const std::vector<std::byte> keepalive{std::byte{0xFF}};
  EXPECT_EQ(*classify_nat_t_datagram(keepalive), NatTDatagram::Keepalive);
  std::vector<std::byte> ike(kIsakmpHeaderSize, std::byte{0x11});
  const auto framed = add_non_esp_marker(ike);
  ASSERT_EQ(framed.size(), kIsakmpHeaderSize + kNonEspMarkerSize);
  EXPECT_EQ(*classify_nat_t_datagram(framed), NatTDatagram::Ike);
  const auto inner = strip_non_esp_marker(framed);
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), ike.begin(), ike.end()));
  std::vector<std::byte> esp(40, std::byte{0});
  esp[3] = std::byte{0x01};   // SPI 1
  EXPECT_EQ(*classify_nat_t_datagram(esp), NatTDatagram::Esp);
  EXPECT_FALSE(classify_nat_t_datagram(std::vector<std::byte>(2)).has_value());
  auto short_ike = classify_nat_t_datagram(std::vector<std::byte>(10));
  ASSERT_FALSE(short_ike.has_value());
  EXPECT_NE(short_ike.error().find("6 bytes after it"), std::string::npos) << short_ike.error();
}

TEST(NatTEncapsulation, RfcAndDraftValues) {
  EXPECT_TRUE(is_udp_encapsulated(EncapsulationMode::UdpEncapsulatedTunnel));
  EXPECT_TRUE(is_udp_encapsulated(EncapsulationMode::UdpEncapsulatedTransportDraft));
  EXPECT_TRUE(is_udp_encapsulated(static_cast<EncapsulationMode>(61443)));
  EXPECT_FALSE(is_udp_encapsulated(EncapsulationMode::Tunnel));
  EXPECT_TRUE(is_tunnel(EncapsulationMode::UdpEncapsulatedTunnelDraft));
  EXPECT_FALSE(is_tunnel(EncapsulationMode::UdpEncapsulatedTransport));
  EXPECT_EQ(static_cast<unsigned>(encapsulation_mode(true, true)), 3U);
  EXPECT_EQ(static_cast<unsigned>(encapsulation_mode(false, true)), 4U);
  EXPECT_EQ(static_cast<unsigned>(encapsulation_mode(true, false)), 1U);
  EXPECT_EQ(static_cast<unsigned>(encapsulation_mode(false, false)), 2U);
}

// ---- main mode with NAT-T ---------------------------------------------------------------------

class NatTMainModeTest : public ::testing::Test {
 protected:
  NatTMainModeTest()
      : psk_a(auth::preshared_key_from_text("correct horse battery staple")),
        psk_b(auth::preshared_key_from_text("correct horse battery staple")) {}

  Phase1Config config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    Phase1Config c;
    c.proposals = {Phase1Proposal{}};
    c.local = local;
    c.peer = peer;
    c.nat_traversal = true;
    c.log = [&log](const std::string& line) { log.push_back(line); };
    return c;
  }

  // Six messages; m3 is kept to inspect its payloads.
  void run(Phase1Config a, Phase1Config b) {
    initiator = Phase1Sa::initiate(std::move(a), psk_a, [this] { return now; });
    auto m1 = initiator->build_main_mode_1();
    ASSERT_TRUE(m1.has_value()) << m1.error();
    std::vector<std::byte> m2;
    auto responded = Phase1Sa::respond(std::move(b), psk_b, [this] { return now; }, *m1, m2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    responder = std::move(*responded);
    m3 = initiator->handle(m2);
    ASSERT_FALSE(m3.empty()) << initiator->failure();
    const auto m4 = responder->handle(m3);
    ASSERT_FALSE(m4.empty()) << responder->failure();
    const auto m5 = initiator->handle(m4);
    ASSERT_FALSE(m5.empty()) << initiator->failure();
    const auto m6 = responder->handle(m5);
    ASSERT_FALSE(m6.empty()) << responder->failure();
    EXPECT_TRUE(initiator->handle(m6).empty());
    EXPECT_TRUE(initiator->established()) << initiator->failure();
    EXPECT_TRUE(responder->established()) << responder->failure();
  }

  std::size_t nat_d_in_m3() const {
    auto parsed = parse_message(m3, MessageKind::MainModeMessage3);
    EXPECT_TRUE(parsed.has_value());
    return parsed ? parsed->count(PayloadType::NatDiscovery) : 0;
  }

  auth::PresharedKeyProvider psk_a, psk_b;
  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
  std::unique_ptr<Phase1Sa> initiator, responder;
  std::vector<std::byte> m3;
};

TEST_F(NatTMainModeTest, NoNatNegotiatesNatTAndStaysOnPort500) {
  run(config(kHostA, kHostB, log_a), config(kHostB, kHostA, log_b));
  EXPECT_TRUE(initiator->nat_traversal_negotiated());
  EXPECT_TRUE(responder->nat_traversal_negotiated());
  EXPECT_EQ(nat_d_in_m3(), 2U);
  EXPECT_FALSE(initiator->float_to_nat_t_port());
  EXPECT_FALSE(responder->float_to_nat_t_port());
}

TEST_F(NatTMainModeTest, ANatThatRewroteTheInitiatorsPortIsSeenByBothSides) {
  auto b = config(kHostB, kHostA, log_b);
  b.peer_port = kNatPort;   // the responder receives from the NAT's port
  run(config(kHostA, kHostB, log_a), std::move(b));
  EXPECT_TRUE(initiator->nat().local_behind_nat);
  EXPECT_FALSE(initiator->nat().peer_behind_nat);
  EXPECT_TRUE(responder->nat().peer_behind_nat);
  EXPECT_FALSE(responder->nat().local_behind_nat);
  EXPECT_TRUE(initiator->float_to_nat_t_port());
  EXPECT_TRUE(responder->float_to_nat_t_port());
  bool logged = false;
  for (const auto& line : log_a) logged |= line.find("this host is behind a NAT; IKE floats to UDP 4500") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(NatTMainModeTest, APeerPretendingANatMakesBothFloat) {
  // What charon with kernel-libipsec does: its own NAT-D never matches.
  auto b = config(kHostB, kHostA, log_b);
  b.pretend_nat = true;
  run(config(kHostA, kHostB, log_a), std::move(b));
  EXPECT_TRUE(initiator->nat().peer_behind_nat);
  EXPECT_TRUE(initiator->float_to_nat_t_port());
  EXPECT_TRUE(responder->float_to_nat_t_port());
}

TEST_F(NatTMainModeTest, WithoutThePeersVendorIdThereIsNoNatDetection) {
  auto a = config(kHostA, kHostB, log_a);
  a.nat_traversal = false;
  auto b = config(kHostB, kHostA, log_b);
  b.peer_port = kNatPort;
  run(std::move(a), std::move(b));
  EXPECT_FALSE(initiator->nat_traversal_negotiated());
  EXPECT_FALSE(responder->nat_traversal_negotiated());
  EXPECT_EQ(nat_d_in_m3(), 0U);
  EXPECT_FALSE(responder->float_to_nat_t_port());
}

// ---- quick mode: tunnel mode, UDP-encapsulated after the float ----------------------------------

using testing::NullDataplaneListener;

constexpr std::uint32_t kTunnelFilter = 11;
const IpPrefix kNetA = *IpPrefix::parse("192.168.1.0/24");
const IpPrefix kNetB = *IpPrefix::parse("192.168.2.0/24");

driver::FilterTable tunnel_table(const IpPrefix& local, const IpPrefix& remote, const IpAddress& gateway) {
  using driver::DriverFilter;
  using driver::FilterAction;
  return {{DriverFilter{kTunnelFilter, local, remote, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate,
                        32768, gateway},
           DriverFilter{kTunnelFilter, remote, local, 0, PortRange::any(), PortRange::any(), FilterAction::Negotiate,
                        32768, gateway}}};
}

class NatTQuickModeTest : public NatTMainModeTest {
 protected:
  NatTQuickModeTest() : sim_a(listener, {}, [this] { return now; }), sim_b(listener, {}, [this] { return now; }) {
    EXPECT_TRUE(sim_a.install_filter_table(tunnel_table(kNetA, kNetB, kHostB)).has_value());
    EXPECT_TRUE(sim_b.install_filter_table(tunnel_table(kNetB, kNetA, kHostA)).has_value());
  }

  QuickModeConfig quick(const Phase1Sa& p1, const IpPrefix& local, const IpPrefix& remote, bool tunnel) {
    QuickModeConfig c;
    c.proposals = {EspProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}};
    c.local = TrafficSelector{local};
    c.remote = TrafficSelector{remote};
    c.filter_id = kTunnelFilter;
    c.peer = p1.config().peer;
    if (tunnel) c.tunnel = tunnel_endpoints(p1.config().local, p1.config().peer);
    if (p1.float_to_nat_t_port()) c.udp_encapsulation = driver::crypto::UdpEncapsulation{};
    return c;
  }

  // Quick mode over the established main mode; returns the responder's failure or "".
  std::string run_quick(QuickModeConfig a, QuickModeConfig b) {
    qm_a = QuickModeExchange::initiate(*initiator, std::move(a), sim_a, [this] { return now; });
    auto q1 = qm_a->build_quick_mode_1();
    if (!q1) return q1.error();
    q1_ = *q1;
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(*responder, std::move(b), sim_b, [this] { return now; }, *q1, q2);
    if (!responded) return responded.error().text;
    qm_b = std::move(*responded);
    const auto q3 = qm_a->handle(q2);
    if (q3.empty()) return "initiator: " + qm_a->failure().text;
    qm_b->handle(q3);
    return qm_b->done() ? "" : "responder: " + qm_b->failure().text;
  }

  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::unique_ptr<QuickModeExchange> qm_a, qm_b;
  std::vector<std::byte> q1_;
};

TEST_F(NatTQuickModeTest, TunnelModeOverAFloatedMainModeIsUdpEncapsulatedEspBetweenTheGateways) {
  auto b = config(kHostB, kHostA, log_b);
  b.pretend_nat = true;
  run(config(kHostA, kHostB, log_a), std::move(b));
  ASSERT_TRUE(initiator->float_to_nat_t_port());
  const auto failure = run_quick(quick(*initiator, kNetA, kNetB, true), quick(*responder, kNetB, kNetA, true));
  ASSERT_EQ(failure, "");
  EXPECT_EQ(sim_a.counters().sas.size(), 2U);
  EXPECT_EQ(sim_b.counters().sas.size(), 2U);

  const auto inner = driver::testing::make_packet(ip("192.168.1.5"), ip("192.168.2.7"), 17, 5353, 53, 100);
  const auto sealed = sim_a.send(inner);
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  // Outer IPv4 header A -> B, protocol UDP, destination port 4500, then a non-zero SPI.
  constexpr std::size_t kIpv4Header = 20, kProtocolOffset = 9, kUdpDestPort = kIpv4Header + 2, kUdpHeader = 8;
  ASSERT_GT(sealed.bytes.size(), kIpv4Header + kUdpHeader + 4);
  EXPECT_EQ(std::to_integer<unsigned>(sealed.bytes[kProtocolOffset]), 17U);
  EXPECT_EQ(std::to_integer<unsigned>(sealed.bytes[kUdpDestPort]) << 8 | std::to_integer<unsigned>(sealed.bytes[kUdpDestPort + 1]),
            4500U);
  EXPECT_TRUE(std::equal(sealed.bytes.begin() + 16, sealed.bytes.begin() + 20, kHostB.bytes().begin(),
                         [](std::byte x, std::uint8_t y) { return std::to_integer<std::uint8_t>(x) == y; }));
  const auto opened = sim_b.receive(sealed.bytes);
  ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(opened.bytes, inner);
}

TEST_F(NatTQuickModeTest, TransportModeAfterTheFloatCompletesWithNatOaSent) {
  auto b = config(kHostB, kHostA, log_b);
  b.peer_port = kNatPort;
  run(config(kHostA, kHostB, log_a), std::move(b));
  ASSERT_TRUE(responder->float_to_nat_t_port());
  const auto failure = run_quick(quick(*initiator, IpPrefix::host(kHostA), IpPrefix::host(kHostB), false),
                                 quick(*responder, IpPrefix::host(kHostB), IpPrefix::host(kHostA), false));
  ASSERT_EQ(failure, "");
  // Messages 1 and 2 carry NAT-OAi/NAT-OAr (inside the encryption, not inspected here); the strict
  // rule table of the receiving side parsed them and HASH(1)/HASH(2) covered them.
  EXPECT_TRUE(qm_a->done());
  EXPECT_TRUE(qm_b->done());
}

TEST_F(NatTQuickModeTest, AModeMismatchIsRefusedWithBothModesNamed) {
  auto b = config(kHostB, kHostA, log_b);
  b.pretend_nat = true;
  run(config(kHostA, kHostB, log_a), std::move(b));
  auto a_config = quick(*initiator, kNetA, kNetB, true);
  a_config.udp_encapsulation.reset();   // an initiator that ignores the NAT
  const auto failure = run_quick(std::move(a_config), quick(*responder, kNetB, kNetA, true));
  EXPECT_NE(failure.find("encapsulation mode 1, our policy needs 3 (tunnel, UDP-encapsulated behind a NAT)"),
            std::string::npos)
      << failure;
}

}  // namespace
}  // namespace ward::ike::sa
