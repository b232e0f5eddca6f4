// Windows' negotiation behaviours in the IKE service, two IkeServices over loopback UDP with
// SimDataplanes: the default response (a responder whose policy covers nothing answers with its
// default response rule; the SAs bring a dynamic filter; the responder never rekeys them), and the
// fallback to clear (a peer that never answers main mode gets a soft association after the delay;
// one that answers and then fails gets none). Failures carry the helpdesk's reason.
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "driver/packet/packet_summary.h"
#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using driver::Disposition;
using service::FailureKind;
using service::IkeEvent;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("127.0.0.1");
const IpAddress kB = ip("127.0.0.2");
constexpr std::uint32_t kFilterId = 5;           // A's "All IP Traffic" towards B
constexpr std::uint32_t kDefaultResponseId = 6;  // B's default response rule

std::uint16_t test_port() { return static_cast<std::uint16_t>(21000 + ::getpid() % 20000); }

// A: a negotiate filter for everything to B (fallback to clear as asked). B (`respond_only`): no
// filters at all, only the default response rule, which answers every quick mode.
class WindowsPolicy final : public service::PolicyLookup {
 public:
  WindowsPolicy(std::string_view psk, bool respond_only, bool fallback)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))),
        respond_only_(respond_only),
        fallback_(fallback) {}

  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress&,
                                                         std::optional<std::uint32_t>) const override {
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& a) const override {
    if (respond_only_) return unexpected(std::string("a respond-only policy has no filters"));
    auto q = quick(a.source, a.peer, kFilterId);
    q.fallback_to_clear = fallback_;
    return q;
  }
  Expected<service::QuickModePolicy, service::PolicyRefusal> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                      const sa::TrafficSelector&,
                                                                      const sa::TrafficSelector&) const override {
    auto q = quick(local, peer, respond_only_ ? kDefaultResponseId : kFilterId);
    q.default_response = respond_only_;
    return q;
  }

 private:
  static service::QuickModePolicy quick(const IpAddress& local, const IpAddress& peer, std::uint32_t filter) {
    service::QuickModePolicy q;
    q.proposals = {sa::EspProposal{driver::crypto::Cipher::AesGcm128, driver::crypto::Integrity::None}};
    q.lifetime = 3600s;
    q.local = sa::TrafficSelector{IpPrefix::host(local)};
    q.remote = sa::TrafficSelector{IpPrefix::host(peer)};
    q.filter_id = filter;
    return q;
  }

  std::shared_ptr<const auth::AuthProvider> psk_;
  bool respond_only_;
  bool fallback_;
};

struct Host {
  Host(const IpAddress& address, std::string_view psk, bool respond_only, bool fallback = false)
      : local(address), policy(psk, respond_only, fallback), sim(listener) {
    if (!respond_only) {
      EXPECT_TRUE(sim.install_filter_table(testing::negotiate_both_ways(kFilterId, IpPrefix::host(kA), IpPrefix::host(kB), 1)));
    }
  }
  service::IkeServiceOptions options() const {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = test_port();
    o.retransmit = sa::RetransmitPolicy{100ms, 2, 3};   // sends at 0, 100, 300 ms; gives up at 700 ms
    o.half_open_timeout = 1000ms;
    return o;
  }
  void start(service::IkeServiceOptions o) {
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }

  IpAddress local;
  WindowsPolicy policy;
  testing::NullDataplaneListener listener;
  driver::SimDataplane sim;
  testing::EventLog events;
  std::unique_ptr<service::IkeService> ike;  // last: stops before the rest goes
};

// TCP to port 445, as an SMB client's first packet.
driver::Acquire acquire_to(const IpAddress& from, const IpAddress& to) {
  return testing::acquire_for(kFilterId, from, to, 6, 40000, 445);
}

TEST(WindowsBehaviourService, TheDefaultResponseAnswersWithADynamicFilterAndLeavesRekeyingToTheInitiator) {
  Host a(kA, "default response", false), b(kB, "default response", true);
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);

  a.ike->initiate(acquire_to(kA, kB));
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  const auto qb = b.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(qa && qb);
  EXPECT_EQ(qb->filter_id, kDefaultResponseId);

  // B protects exactly the negotiated traffic with A: a dynamic filter, host to host.
  auto counters = b.sim.counters();
  ASSERT_EQ(counters.dynamic_filters.size(), 1u);
  EXPECT_EQ(counters.dynamic_filters[0].selector.local, kB);
  EXPECT_EQ(counters.dynamic_filters[0].selector.remote, kA);
  EXPECT_EQ(counters.dynamic_filters[0].selector.protocol, 0);
  EXPECT_EQ(counters.dynamic_filters[0].filter_id, kDefaultResponseId);
  EXPECT_EQ(counters.dynamic_filters[0].sas, 2u);
  const auto reply = driver::testing::make_packet(kB, kA, 6, 445, 40000, 64);
  const auto sealed = b.sim.send(reply);
  ASSERT_EQ(sealed.disposition, Disposition::AcceptModified) << "B has no filter of its own, the dynamic one protects it";
  const auto opened = a.sim.receive(sealed.bytes);
  ASSERT_EQ(opened.disposition, Disposition::AcceptModified);
  EXPECT_EQ(opened.bytes, reply);
  const auto sb = b.ike->snapshot();
  ASSERT_EQ(sb.quick_modes.size(), 1u);
  EXPECT_TRUE(sb.quick_modes[0].default_response);
  EXPECT_EQ(sb.counters.default_responses, 1u);
  ASSERT_EQ(sb.main_modes.size(), 1u);
  EXPECT_EQ(sb.main_modes[0].status, service::NegotiationState::Established);

  // B's outbound SA reaches its soft lifetime: B does not negotiate (the initiator rekeys).
  b.ike->on_expiry(driver::SaExpiry{qb->outbound_spi, driver::crypto::Direction::Outbound, driver::ExpiryKind::Soft,
                                    kDefaultResponseId, kA});
  b.ike->sync();
  std::this_thread::sleep_for(300ms);  // time for a quick mode that must not happen (about 10 ms here)
  EXPECT_EQ(a.events.count(IkeEvent::Kind::QuickModeEstablished), 1u);
  EXPECT_EQ(b.ike->snapshot().counters.quick_modes_established, 1u);
  // A's does: the new pair keeps the same dynamic filter on B.
  a.ike->on_expiry(driver::SaExpiry{qa->outbound_spi, driver::crypto::Direction::Outbound, driver::ExpiryKind::Soft, kFilterId, kB});
  const auto rekeyed = testing::wait_snapshot(*b.ike, [](const auto& s) { return s.counters.quick_modes_established >= 2; }, 5000ms);
  EXPECT_EQ(rekeyed.counters.quick_modes_established, 2u);
  counters = b.sim.counters();
  ASSERT_EQ(counters.dynamic_filters.size(), 1u);
  EXPECT_EQ(counters.dynamic_filters[0].sas, 4u);
}

// A (Request Security: fallback allowed) and no IKE at B's address: after the delay the packets A
// held go out in clear and A's traffic with B passes (a soft association); main mode goes on to
// fail with "no response from peer".
TEST(WindowsBehaviourService, APeerThatNeverAnswersGetsASoftAssociationAfterTheDelay) {
  Host a(kA, "fallback", false, true);
  auto options = a.options();
  options.fallback_delay = 300ms;
  options.soft_association_lifetime = 120s;
  a.start(options);
  ASSERT_TRUE(a.ike);

  const auto syn = driver::testing::make_packet(kA, kB, 6, 40000, 445, 0);
  ASSERT_EQ(a.sim.send(syn).disposition, Disposition::Held);
  const auto started = std::chrono::steady_clock::now();
  a.ike->initiate(acquire_to(kA, kB));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(a.sim.counters().soft_associations.empty()) << "not before the delay";

  const auto soft = a.events.wait_for(IkeEvent::Kind::SoftAssociation);
  ASSERT_TRUE(soft.has_value());
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  EXPECT_GE(waited, 300ms);
  EXPECT_EQ(soft->peer, kB);
  EXPECT_EQ(soft->filter_id, kFilterId);
  EXPECT_EQ(soft->failure, FailureKind::NoResponse);
  const auto counters = a.sim.counters();
  ASSERT_EQ(counters.soft_associations.size(), 1u);
  EXPECT_EQ(counters.soft_associations[0].peer, kB);
  EXPECT_GE(counters.soft_associations[0].expires_in, 119s);
  EXPECT_LE(counters.soft_associations[0].expires_in, 120s);
  const auto released = a.sim.take_released();
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0], syn) << "the held SYN goes out in clear";
  EXPECT_EQ(a.sim.send(syn).disposition, Disposition::Accept);

  // Main mode gives up: no response from the peer, in the helpdesk's words.
  const auto failed = a.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->failure, FailureKind::NoResponse);
  const auto snapshot = testing::wait_snapshot(*a.ike, [](const auto& s) { return !s.failures.empty(); }, 2000ms);
  ASSERT_FALSE(snapshot.failures.empty());
  EXPECT_EQ(snapshot.failures[0].peer, kB);
  EXPECT_TRUE(snapshot.failures[0].main_mode);
  EXPECT_EQ(service::helpdesk_words(snapshot.failures[0].kind), "no response from peer");
  EXPECT_EQ(snapshot.counters.soft_associations, 1u);
  EXPECT_EQ(a.events.count(IkeEvent::Kind::SoftAssociation), 1u) << "one per flow";
  EXPECT_EQ(a.sim.counters().soft_associations.size(), 1u) << "the failure leaves the soft association alone";
}

// Main mode gives up before the delay (a short retransmission): the flow falls back then.
TEST(WindowsBehaviourService, AMainModeThatGivesUpBeforeTheDelayFallsBackAtOnce) {
  Host a(kA, "fallback", false, true);
  auto options = a.options();
  options.fallback_delay = 30s;
  a.start(options);
  ASSERT_TRUE(a.ike);
  ASSERT_EQ(a.sim.send(driver::testing::make_packet(kA, kB, 6, 40000, 445, 0)).disposition, Disposition::Held);
  a.ike->initiate(acquire_to(kA, kB));
  const auto soft = a.events.wait_for(IkeEvent::Kind::SoftAssociation, 5000ms);
  ASSERT_TRUE(soft.has_value());
  EXPECT_TRUE(a.events.wait_for(IkeEvent::Kind::MainModeFailed, 100ms).has_value());
  EXPECT_EQ(a.sim.take_released().size(), 1u);
}

// Windows falls back only when IKE gets no answer: a peer that answers and then fails (another
// preshared key) gets none, however long it takes; nor does a filter without the option.
TEST(WindowsBehaviourService, APeerThatAnswersAndFailsGetsNoFallback) {
  Host a(kA, "one secret", false, true), b(kB, "another secret", false);
  auto options = a.options();
  options.fallback_delay = 200ms;
  a.start(options);
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  ASSERT_EQ(a.sim.send(driver::testing::make_packet(kA, kB, 6, 40000, 445, 0)).disposition, Disposition::Held);
  a.ike->initiate(acquire_to(kA, kB));
  const auto failed = a.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(failed.has_value());
  EXPECT_NE(failed->failure, FailureKind::NoResponse) << failed->reason;
  EXPECT_EQ(a.events.count(IkeEvent::Kind::SoftAssociation), 0u);
  EXPECT_TRUE(a.sim.counters().soft_associations.empty());
  EXPECT_TRUE(a.sim.take_released().empty()) << "the held packet never goes out in clear";

  Host c(kA, "no fallback", false, false);
  auto c_options = c.options();
  c_options.fallback_delay = 100ms;
  a.ike.reset();  // frees the address for c
  c.start(c_options);
  ASSERT_TRUE(c.ike);
  c.ike->initiate(acquire_to(kA, ip("127.0.0.3")));
  EXPECT_TRUE(c.events.wait_for(IkeEvent::Kind::MainModeFailed).has_value());
  EXPECT_EQ(c.events.count(IkeEvent::Kind::SoftAssociation), 0u);
}

}  // namespace
}  // namespace ward::ike
