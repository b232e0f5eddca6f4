// When an initiator's outbound SA goes in (which releases the packets its dataplane held for the
// flow): after the responder has processed quick mode message 3 and installed its pair, so the
// first ESP packet is not dropped by a peer that, like charon, installs its inbound SA only on
// HASH(3). Two IkeServices on loopback, each dataplane a SimDataplane behind a wrapper that
// timestamps add_sa; the responder's QuickModeEstablished (reported as it installs on HASH(3))
// is timestamped by its listener.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>

#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/exchange_support.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using driver::crypto::Direction;
using service::IkeEvent;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("127.0.0.1");
const IpAddress kB = ip("127.0.0.2");
constexpr std::uint32_t kFilterId = 3;
constexpr auto kWait = 5000ms;

std::uint16_t test_port() { return static_cast<std::uint16_t>(21000 + ::getpid() % 20000); }

// Forwards to the simulator and remembers when the first outbound SA went in.
class TimedDataplane final : public driver::Dataplane {
 public:
  explicit TimedDataplane(driver::Dataplane& inner) : inner_(inner) {}
  driver::Capabilities capabilities() const override { return inner_.capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override {
    return inner_.install_filter_table(std::move(table));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_.release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    if (sa.params.direction == Direction::Outbound) {
      const std::lock_guard lock(mutex_);
      if (!outbound_at_) outbound_at_ = Steady::now();
    }
    return inner_.add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, Direction direction) override {
    return inner_.delete_sa(spi, direction);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_.add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_.delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_.counters(); }
  std::optional<Steady::time_point> outbound_at() {
    const std::lock_guard lock(mutex_);
    return outbound_at_;
  }

 private:
  driver::Dataplane& inner_;
  std::mutex mutex_;
  std::optional<Steady::time_point> outbound_at_;
};

// The event log, and when the first quick mode was reported established.
class TimedEvents final : public service::IkeListener {
 public:
  void on_ike_event(const IkeEvent& event) override {
    if (event.kind == IkeEvent::Kind::QuickModeEstablished) {
      const std::lock_guard lock(mutex_);
      if (!established_at_) established_at_ = Steady::now();
    }
    log.on_ike_event(event);
  }
  std::optional<Steady::time_point> established_at() {
    const std::lock_guard lock(mutex_);
    return established_at_;
  }
  testing::EventLog log;

 private:
  std::mutex mutex_;
  std::optional<Steady::time_point> established_at_;
};

struct Host {
  explicit Host(const IpAddress& address) : local(address), sim(listener), timed(sim) {
    EXPECT_TRUE(sim.install_filter_table(testing::negotiate_both_ways(kFilterId, IpPrefix::host(kA), IpPrefix::host(kB), 1))
                    .has_value());
  }
  void start(std::chrono::milliseconds outbound_after_message_3) {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = test_port();
    o.outbound_after_message_3 = outbound_after_message_3;
    auto started = service::IkeService::start(std::move(o), timed, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }

  IpAddress local;
  // One PSK, AES-256/SHA-256/ECP-256 main mode, AES-GCM-128 host-to-host quick mode (1 h, no PFS).
  testing::HostToHostPskPolicy policy{"install order", kFilterId, IkeGroupDescription::Ecp256, std::nullopt, 3600s};
  testing::NullDataplaneListener listener;
  driver::SimDataplane sim;
  TimedDataplane timed;
  TimedEvents events;
  std::unique_ptr<service::IkeService> ike;   // last: stops before the rest goes
};

// Negotiates A -> B; returns how long after B installed its pair (on HASH(3)) A installed its
// outbound SA (negative: before).
std::chrono::microseconds outbound_after_responder(std::chrono::milliseconds outbound_after_message_3) {
  Host a(kA), b(kB);
  a.start(outbound_after_message_3);
  b.start(outbound_after_message_3);
  EXPECT_TRUE(a.ike && b.ike);
  if (!a.ike || !b.ike) return {};
  a.ike->initiate(testing::acquire_for(kFilterId, kA, kB));
  const auto initiator = a.events.log.wait_for(IkeEvent::Kind::QuickModeEstablished, kWait);
  const auto responder = b.events.log.wait_for(IkeEvent::Kind::QuickModeEstablished, kWait);
  EXPECT_TRUE(initiator && responder);
  const auto outbound = a.timed.outbound_at();
  const auto responder_at = b.events.established_at();
  const auto initiator_at = a.events.established_at();
  EXPECT_TRUE(outbound && responder_at && initiator_at);
  if (!outbound || !responder_at || !initiator_at) return {};
  // The initiator reports the quick mode once both its SAs are in.
  EXPECT_GE(*initiator_at, *outbound);
  EXPECT_EQ(a.sim.counters().sas.size(), 2U);
  return std::chrono::duration_cast<std::chrono::microseconds>(*outbound - *responder_at);
}

TEST(IkeServiceInstallOrder, TheInitiatorsOutboundSaGoesInAfterTheResponderProcessedMessage3) {
  const auto after = outbound_after_responder(service::kOutboundAfterMessage3);
  std::printf("outbound SA installed %lld us after the responder installed on HASH(3)\n",
              static_cast<long long>(after.count()));
  EXPECT_GT(after.count(), 0);
}

TEST(IkeServiceInstallOrder, WithoutThePauseTheOutboundSaGoesInAtOnce) {
  // outbound_after_message_3 = 0: the outbound SA goes in as message 3 leaves, racing the
  // responder's processing of it (printed, not asserted; on loopback the two are microseconds
  // apart, against charon the ESP packet lost the race in about 3 of 8 runs).
  const auto after = outbound_after_responder(0ms);
  std::printf("without the pause: outbound SA installed %lld us after the responder installed\n",
              static_cast<long long>(after.count()));
}

}  // namespace
}  // namespace ward::ike
