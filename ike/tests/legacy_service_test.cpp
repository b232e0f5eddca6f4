// Ward <-> Ward with the Windows-era offers, two IkeServices over loopback UDP (127.0.0.1 and
// 127.0.0.2) with SimDataplanes: main mode 3DES/SHA-1 (and MD5)/group 2, quick mode ESP 3DES,
// AH alone and AH+ESP, each way round. A packet protected by one dataplane is opened by the other
// and what it carried on the wire (ESP, AH, AH around ESP) is checked; DELETE of an AH+ESP pair
// names both SPIs and the peer removes the bundle.
#include <unistd.h>

#include <gtest/gtest.h>

#include <random>

#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using service::IkeEvent;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("127.0.0.1");
const IpAddress kB = ip("127.0.0.2");
constexpr std::uint32_t kFilterId = 5;

const sa::Phase1Proposal k3desSha1Group2{IkeEncryptionAlgorithm::TripleDesCbc, 0, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp1024,
                                         28800s};
const sa::Phase1Proposal k3desMd5Group2{IkeEncryptionAlgorithm::TripleDesCbc, 0, IkeHashAlgorithm::Md5, IkeGroupDescription::Modp1024,
                                        28800s};
const sa::EspProposal kEsp3desSha1{Cipher::TripleDesCbc, Integrity::HmacSha1_96};
const sa::AhProposal kAhSha1{Integrity::HmacSha1_96};

struct Host {
  explicit Host(const IpAddress& address) : local(address), sim(listener) {
    EXPECT_TRUE(sim.install_filter_table(ike::testing::negotiate_both_ways(kFilterId, IpPrefix::host(kA), IpPrefix::host(kB), 1))
                    .has_value());
  }
  Expected<void, std::string> start(std::uint16_t port) {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = port;
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    if (!started) return unexpected(started.error());
    ike = std::move(*started);
    return {};
  }

  IpAddress local;
  ike::testing::HostToHostPskPolicy policy{"legacy service pair", kFilterId, IkeGroupDescription::Modp1024, std::nullopt, 3600s};
  ike::testing::NullDataplaneListener listener;
  driver::SimDataplane sim;
  ike::testing::EventLog events;
  std::unique_ptr<service::IkeService> ike;   // last: stops before the rest goes
};

class LegacyServicePair : public ::testing::Test {
 protected:
  void start(std::vector<sa::Phase1Proposal> phase1, std::vector<sa::ProtectionSuite> quick_mode) {
    a.policy.offer(phase1, quick_mode, true);
    b.policy.offer(phase1, quick_mode, true);
    // Both services bind one port on their own address; another test may hold a port: try others.
    std::mt19937 random(static_cast<unsigned>(::getpid()));
    for (int attempt = 0; attempt < 20 && !b.ike; ++attempt) {
      const auto port = static_cast<std::uint16_t>(20000 + random() % 30000);
      a.ike.reset();
      if (!a.start(port)) continue;
      if (!b.start(port)) continue;
    }
    ASSERT_TRUE(a.ike && b.ike) << "no free UDP port pair on 127.0.0.1/127.0.0.2";
  }

  // `from` initiates; returns once both report the quick mode.
  void negotiate(Host& from, Host& to) {
    driver::Acquire acquire{kFilterId, to.local, from.local, to.local, 0, 0, 0};
    from.ike->initiate(acquire);
    const auto initiator = from.events.wait_for({IkeEvent::Kind::QuickModeEstablished, IkeEvent::Kind::QuickModeFailed,
                                                 IkeEvent::Kind::MainModeFailed},
                                                5000ms);
    ASSERT_TRUE(initiator.has_value());
    ASSERT_EQ(initiator->kind, IkeEvent::Kind::QuickModeEstablished) << initiator->reason;
    ASSERT_TRUE(to.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  }

  // A TCP segment from -> to: what the sender's dataplane put on the wire (protocol, and what AH
  // carried), after checking the receiver opens it.
  std::pair<std::uint8_t, std::uint8_t> exchange_packet(Host& from, Host& to) {
    const auto packet = driver::testing::make_packet(from.local, to.local, 6, 40000, 445, 200);
    const auto sealed = from.sim.send(packet);
    EXPECT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    const auto opened = to.sim.receive(sealed.bytes);
    EXPECT_EQ(opened.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened.bytes, packet);
    const auto summary = driver::summarize_ip_packet(sealed.bytes);
    if (!summary) return {0, 0};
    const auto inner = summary->protocol == driver::crypto::kProtoAh ? static_cast<std::uint8_t>(sealed.bytes[summary->upper_layer_offset]) : 0;
    return {summary->protocol, inner};
  }

  Host a{kA}, b{kB};
};

TEST_F(LegacyServicePair, MainMode3desSha1Group2WithEsp3desSha1BothWays) {
  start({k3desSha1Group2, k3desMd5Group2}, {kEsp3desSha1});
  if (HasFatalFailure()) return;
  negotiate(a, b);
  if (HasFatalFailure()) return;
  const auto snapshot = a.ike->snapshot();
  ASSERT_EQ(snapshot.main_modes.size(), 1u);
  EXPECT_EQ(snapshot.main_modes[0].cipher, "3DES-CBC");
  EXPECT_EQ(snapshot.main_modes[0].hash, "SHA-1");
  EXPECT_EQ(snapshot.main_modes[0].group, 2u);
  ASSERT_EQ(snapshot.quick_modes.size(), 1u);
  EXPECT_EQ(snapshot.quick_modes[0].cipher, Cipher::TripleDesCbc);
  EXPECT_EQ(snapshot.quick_modes[0].integrity, Integrity::HmacSha1_96);
  EXPECT_FALSE(snapshot.quick_modes[0].ah.has_value());
  EXPECT_EQ(exchange_packet(a, b).first, driver::crypto::kProtoEsp);
  EXPECT_EQ(exchange_packet(b, a).first, driver::crypto::kProtoEsp);
}

TEST_F(LegacyServicePair, MainModeMd5AndAhAloneNegotiatedByTheOtherSide) {
  start({k3desMd5Group2}, {sa::ProtectionSuite{kAhSha1, std::nullopt}});
  if (HasFatalFailure()) return;
  negotiate(b, a);   // B initiates this time
  if (HasFatalFailure()) return;
  const auto snapshot = b.ike->snapshot();
  ASSERT_EQ(snapshot.main_modes.size(), 1u);
  EXPECT_EQ(snapshot.main_modes[0].hash, "MD5");
  ASSERT_EQ(snapshot.quick_modes.size(), 1u);
  EXPECT_FALSE(snapshot.quick_modes[0].esp);
  EXPECT_EQ(snapshot.quick_modes[0].ah, Integrity::HmacSha1_96);
  EXPECT_EQ(exchange_packet(b, a), (std::pair<std::uint8_t, std::uint8_t>{driver::crypto::kProtoAh, 6}));
  EXPECT_EQ(exchange_packet(a, b), (std::pair<std::uint8_t, std::uint8_t>{driver::crypto::kProtoAh, 6}));
}

TEST_F(LegacyServicePair, AhPlusEspBundleCarriesBothHeadersAndADeleteRemovesItOnBothSides) {
  start({k3desSha1Group2}, {sa::ProtectionSuite{kAhSha1, kEsp3desSha1}});
  if (HasFatalFailure()) return;
  negotiate(a, b);
  if (HasFatalFailure()) return;
  const auto snapshot = a.ike->snapshot();
  ASSERT_EQ(snapshot.quick_modes.size(), 1u);
  const auto& qm = snapshot.quick_modes[0];
  EXPECT_TRUE(qm.esp);
  EXPECT_EQ(qm.ah, Integrity::HmacSha1_96);
  EXPECT_NE(qm.inbound_ah_spi, 0u);
  EXPECT_NE(qm.inbound_ah_spi, qm.inbound_spi);
  const auto ah_esp = std::pair<std::uint8_t, std::uint8_t>{driver::crypto::kProtoAh, driver::crypto::kProtoEsp};
  EXPECT_EQ(exchange_packet(a, b), ah_esp);
  EXPECT_EQ(exchange_packet(b, a), ah_esp);
  for (const auto& sa : b.sim.counters().sas) {
    EXPECT_NE(sa.bundled_ah_spi, 0u);
    EXPECT_EQ(sa.packets, 1u);
  }

  // A drops the filter: DELETE (ESP and AH SPIs) goes to B, which removes its bundle.
  a.ike->retain_filters({});
  const auto deleted = b.events.wait_for(IkeEvent::Kind::SasDeleted);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_NE(deleted->reason.find("the peer sent DELETE for"), std::string::npos) << deleted->reason;
  b.ike->sync();
  EXPECT_TRUE(b.sim.counters().sas.empty());
  EXPECT_TRUE(a.sim.counters().sas.empty());
}

TEST_F(LegacyServicePair, AResponderWithoutTheLegacyOptInRefusesWindowsOffers) {
  start({k3desSha1Group2}, {kEsp3desSha1});
  if (HasFatalFailure()) return;
  b.policy.offer({k3desSha1Group2}, {kEsp3desSha1}, false);
  a.ike->initiate(driver::Acquire{kFilterId, kB, kA, kB, 0, 0, 0});
  const auto failed = a.events.wait_for({IkeEvent::Kind::MainModeFailed, IkeEvent::Kind::QuickModeEstablished}, 10000ms);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->kind, IkeEvent::Kind::MainModeFailed);
  const auto refused = b.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->reason.find("legacy"), std::string::npos) << refused->reason;
}

}  // namespace
}  // namespace ward::ike
