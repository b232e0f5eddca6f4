// Two IkeServices on loopback (127.0.0.1 and 127.0.0.2, one UDP port), each with its own
// SimDataplane: an acquire on one side negotiates main mode and quick mode over real sockets
// and installs matching SAs on both; a wrong preshared key fails with a reason on both sides and
// installs nothing; the half-open limits hold; DELETE notifications remove the peer's SAs.
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/net/udp_socket.h"
#include "ike/service/ike_service.h"
#include "ike/service/informational.h"
#include "ike/service/refusal.h"
#include "ike/tests/service_pair.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Direction;
using driver::crypto::Integrity;
using service::IkeEvent;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("127.0.0.1");
const IpAddress kB = ip("127.0.0.2");
constexpr std::uint32_t kFilterId = 3;

std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 20000); }

using testing::NullDataplaneListener;

constexpr std::uint32_t kStallFilterId = 99;

// Holds the thread that calls wait() until release(): a service whose event thread is stuck
// stands for a peer that stopped answering (its socket stays bound, nothing is answered).
class Stall {
 public:
  void hold() {
    const std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    const std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
  }
  bool wait_entered(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return entered_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool entered_ = false;
};

// A fixed policy: one PSK, AES-256/SHA-256/ECP-256 main mode, AES-GCM-128 + PFS host-to-host
// quick mode for filter 3 between the two addresses.
class FixedPolicy final : public service::PolicyLookup {
 public:
  explicit FixedPolicy(std::string_view psk)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))) {}

  std::chrono::seconds phase1_lifetime{28800};
  IkeGroupDescription phase1_group = IkeGroupDescription::Ecp256;
  std::vector<sa::ProtectionSuite> esp{sa::EspProposal{Cipher::AesGcm128, Integrity::None}};
  bool refuse_quick_modes = false;   // as responder: no filter covers the peer's IDs
  std::string quick_mode_error;      // as responder: the lookup fails with this reason
  std::chrono::seconds quick_mode_lifetime{3600};
  mutable Stall stall;                // an acquire for kStallFilterId waits on it
  std::uint32_t quick_mode_limit = 0;

  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress& peer,
                                                         std::optional<std::uint32_t>) const override {
    if (!IpPrefix::parse("127.0.0.0/8")->contains(peer)) return unexpected("no rule covers " + peer.to_string());
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, phase1_group, phase1_lifetime}};
    p.quick_mode_limit = quick_mode_limit;
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& a) const override {
    if (a.filter_id == kStallFilterId) stall.wait();
    if (a.filter_id != kFilterId) return unexpected("no filter " + std::to_string(a.filter_id));
    return quick(a.source, a.peer);
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                      const sa::TrafficSelector& peer_side,
                                                                      const sa::TrafficSelector& our_side) const override {
    if (!quick_mode_error.empty()) return unexpected(quick_mode_error);
    if (refuse_quick_modes || !peer_side.prefix.contains(peer) || !our_side.prefix.contains(local)) {
      return unexpected("no filter covers " + peer_side.prefix.to_string() + " -> " + our_side.prefix.to_string());
    }
    return quick(local, peer);
  }

 private:
  service::QuickModePolicy quick(const IpAddress& local, const IpAddress& peer) const {
    service::QuickModePolicy q;
    q.proposals = esp;
    q.pfs_group = IkeGroupDescription::Ecp256;
    q.lifetime = quick_mode_lifetime;
    q.local = sa::TrafficSelector{IpPrefix::host(local)};
    q.remote = sa::TrafficSelector{IpPrefix::host(peer)};
    q.filter_id = kFilterId;
    return q;
  }
  std::shared_ptr<const auth::AuthProvider> psk_;
};

using testing::EventLog;

struct Host {
  Host(const IpAddress& address, std::string_view psk) : local(address), policy(psk), sim(dataplane_listener) {
    EXPECT_TRUE(sim.install_filter_table(testing::negotiate_both_ways(kFilterId, IpPrefix::host(kA), IpPrefix::host(kB), 1))
                    .has_value());
  }

  service::IkeServiceOptions options() const {
    service::IkeServiceOptions o;
    o.local = local;
    o.port = test_port();
    o.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(100), 2, 3};
    o.half_open_timeout = 1000ms;
    return o;
  }
  void start(service::IkeServiceOptions o) {
    auto started = service::IkeService::start(std::move(o), sim, policy, events);
    ASSERT_TRUE(started.has_value()) << started.error();
    ike = std::move(*started);
  }
  // Waits until the service's snapshot satisfies `ready`.
  template <class Ready>
  service::IkeSnapshot wait_snapshot(Ready ready, std::chrono::milliseconds timeout = 5000ms) {
    return testing::wait_snapshot(*ike, ready, timeout);
  }

  IpAddress local;
  FixedPolicy policy;
  NullDataplaneListener dataplane_listener;
  driver::SimDataplane sim;
  EventLog events;
  std::unique_ptr<service::IkeService> ike;   // last: stops before the rest goes
};

driver::Acquire acquire_to(const IpAddress& from, const IpAddress& to) {
  driver::Acquire a;
  a.filter_id = kFilterId;
  a.peer = to;
  a.source = from;
  a.destination = to;
  a.protocol = 17;
  a.source_port = 5000;
  a.destination_port = 53;
  return a;
}

const driver::SaCounters* find_sa(const driver::DataplaneCounters& c, std::uint32_t spi, Direction direction) {
  for (const auto& sa : c.sas) {
    if (sa.spi == spi && sa.direction == direction) return &sa;
  }
  return nullptr;
}

TEST(IkeService, AcquireNegotiatesAndInstallsMatchingSasOnBothSides) {
  Host a(kA, "loopback secret"), b(kB, "loopback secret");
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);

  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) a.ike->initiate(acquire_to(kA, kB));   // one negotiation for the flow
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  const auto qb = b.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(qa.has_value() && qb.has_value());
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::printf("acquire -> SAs on both sides: %lld ms\n", static_cast<long long>(elapsed.count()));

  EXPECT_EQ(qa->role, auth::Role::Initiator);
  EXPECT_EQ(qb->role, auth::Role::Responder);
  EXPECT_EQ(qa->auth_method, "pre-shared key");
  EXPECT_EQ(qa->filter_id, kFilterId);
  EXPECT_EQ(qa->inbound_spi, qb->outbound_spi);
  EXPECT_EQ(qa->outbound_spi, qb->inbound_spi);
  EXPECT_EQ(a.events.count(IkeEvent::Kind::QuickModeEstablished), 1U);

  const auto ca = a.sim.counters();
  const auto cb = b.sim.counters();
  EXPECT_EQ(ca.sas.size(), 2U);
  EXPECT_EQ(cb.sas.size(), 2U);
  EXPECT_NE(find_sa(ca, qa->inbound_spi, Direction::Inbound), nullptr);
  EXPECT_NE(find_sa(ca, qa->outbound_spi, Direction::Outbound), nullptr);
  EXPECT_NE(find_sa(cb, qb->inbound_spi, Direction::Inbound), nullptr);

  // The keys match: what A protects, B opens, and back.
  const auto packet = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  const auto sealed = a.sim.send(packet);
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  const auto opened = b.sim.receive(sealed.bytes);
  ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(opened.bytes, packet);
  const auto reply = driver::testing::make_packet(kB, kA, 17, 53, 5000, 64);
  const auto sealed_reply = b.sim.send(reply);
  ASSERT_EQ(sealed_reply.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(a.sim.receive(sealed_reply.bytes).bytes, reply);

  // Another acquire for the covered flow negotiates nothing.
  a.ike->initiate(acquire_to(kA, kB));
  a.ike->sync();
  const auto sa_snapshot = a.ike->snapshot();
  EXPECT_EQ(sa_snapshot.counters.acquires, 4U);
  EXPECT_EQ(sa_snapshot.counters.acquires_coalesced, 3U);
  ASSERT_EQ(sa_snapshot.main_modes.size(), 1U);
  const auto& mm = sa_snapshot.main_modes[0];
  EXPECT_EQ(mm.peer, kB);
  EXPECT_EQ(mm.role, auth::Role::Initiator);
  EXPECT_EQ(mm.state, "MainMode6Received");
  EXPECT_EQ(mm.auth_method, "pre-shared key");
  EXPECT_EQ(mm.cipher, "AES-CBC-256");
  EXPECT_EQ(mm.hash, "SHA2-256");
  EXPECT_EQ(mm.group, 19U);
  EXPECT_GT(mm.lifetime_left, 28700s);
  EXPECT_EQ(mm.quick_modes, 1U);
  ASSERT_EQ(sa_snapshot.quick_modes.size(), 1U);
  const auto& qm = sa_snapshot.quick_modes[0];
  EXPECT_EQ(qm.filter_id, kFilterId);
  EXPECT_EQ(qm.cipher, Cipher::AesGcm128);
  EXPECT_EQ(qm.pfs_group, IkeGroupDescription::Ecp256);
  EXPECT_GT(qm.lifetime_left, 3500s);
  const auto sb = b.ike->snapshot();
  ASSERT_EQ(sb.main_modes.size(), 1U);
  EXPECT_EQ(sb.main_modes[0].state, "MainMode6Sent");
  EXPECT_EQ(sb.main_modes[0].role, auth::Role::Responder);

  // Retaining the live filter deletes nothing.
  b.ike->retain_filters({kFilterId});
  b.ike->sync();
  EXPECT_EQ(b.ike->snapshot().counters.sas_deleted, 0U);
}

// snapshot() is what `wardctl show sa` reads: the engine builds its lists anew only when an SA or
// a negotiation changed, not on every turn of its loop (datagrams that change nothing but
// counters, timers, sync()).
TEST(IkeService, TheSnapshotsListsArePublishedAnewOnlyWhenAnSaOrANegotiationChanged) {
  Host a(kA, "loopback secret"), b(kB, "loopback secret");
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  a.ike->sync();
  const auto before = a.ike->snapshot();
  ASSERT_EQ(before.quick_modes.size(), 1U);
  EXPECT_GT(before.version, 0U);

  // Garbage moves a counter, and several turns of the loop pass (each datagram wakes it; sync()
  // publishes): the lists stay as they were.
  auto garbage = net::UdpSocket::bind(kB, 0);
  ASSERT_TRUE(garbage.has_value()) << garbage.error();
  const std::array<std::byte, 3> junk{std::byte{1}, std::byte{2}, std::byte{3}};
  constexpr int kJunk = 5;
  for (int i = 0; i < kJunk; ++i) {
    ASSERT_TRUE(garbage->send_to(kA, test_port(), junk).has_value());
    const auto s = a.wait_snapshot([&](const auto& snap) { return snap.counters.malformed == before.counters.malformed + i + 1; });
    ASSERT_EQ(s.counters.malformed, before.counters.malformed + i + 1);
    a.ike->sync();
  }
  const auto counted = a.ike->snapshot();
  EXPECT_EQ(counted.version, before.version);
  EXPECT_EQ(counted.counters.datagrams_received, before.counters.datagrams_received + kJunk);
  ASSERT_EQ(counted.quick_modes.size(), 1U);
  EXPECT_EQ(counted.quick_modes[0].inbound_spi, before.quick_modes[0].inbound_spi);

  // A change (the filter goes away, its pair is deleted) is published at once.
  a.ike->retain_filters({});
  a.ike->sync();
  const auto after = a.ike->snapshot();
  EXPECT_GT(after.version, before.version);
  EXPECT_TRUE(after.quick_modes.empty());
  EXPECT_EQ(after.counters.sas_deleted, 1U);
}

TEST(IkeService, WrongPresharedKeyFailsWithAReasonAndInstallsNothing) {
  Host a(kA, "one secret"), b(kB, "another secret");
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto fa = a.events.wait_for(IkeEvent::Kind::MainModeFailed);
  const auto fb = b.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(fa.has_value() && fb.has_value());
  EXPECT_EQ(fa->peer, kB);
  EXPECT_EQ(fa->auth_method, "pre-shared key");
  EXPECT_NE(fa->reason.find("MainMode5Sent"), std::string::npos) << fa->reason;
  EXPECT_NE(fa->reason.find("preshared keys"), std::string::npos) << fa->reason;
  EXPECT_EQ(fb->peer, kA);
  EXPECT_NE(fb->reason.find("did not decrypt"), std::string::npos) << fb->reason;
  // The quick mode that waited for it fails with the same reason.
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed);
  ASSERT_TRUE(qa.has_value());
  EXPECT_NE(qa->reason.find("main mode failed"), std::string::npos) << qa->reason;

  EXPECT_TRUE(a.sim.counters().sas.empty());
  EXPECT_TRUE(b.sim.counters().sas.empty());
  const auto sb = b.wait_snapshot([](const auto& s) { return s.main_modes.empty(); });
  EXPECT_GE(sb.counters.undecryptable_main_mode_5, 1U);
  EXPECT_EQ(sb.counters.half_open_timeouts, 1U);
  EXPECT_TRUE(sb.main_modes.empty());
  EXPECT_TRUE(a.wait_snapshot([](const auto& s) { return s.main_modes.empty(); }).main_modes.empty());
}

// A main mode 1 makes only an embryonic entry (per-address limit); the half-open limits count
// initiators that brought the responder cookie back in a main mode 3.
TEST(IkeService, HalfOpenLimitsCountOnlyInitiatorsThatAnsweredMainMode2) {
  Host b(kB, "limits");
  auto o = b.options();
  o.max_half_open = 3;
  o.max_half_open_per_peer = 2;
  o.embryonic.max_per_peer = 3;
  o.half_open_timeout = 10000ms;
  b.start(o);
  ASSERT_TRUE(b.ike);
  // Initiators as a real peer runs them, from two source addresses.
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("limits"));
  std::vector<std::unique_ptr<sa::Phase1Sa>> initiators;
  auto initiator = [&](const IpAddress& from) -> sa::Phase1Sa& {
    sa::Phase1Config c;
    c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
    c.local = from;
    c.peer = kB;
    initiators.push_back(sa::Phase1Sa::initiate(c, psk, [] { return std::chrono::steady_clock::now(); }));
    return *initiators.back();
  };
  auto from_a = net::UdpSocket::bind(kA, 0);
  auto from_c = net::UdpSocket::bind(ip("127.0.0.3"), 0);
  ASSERT_TRUE(from_a.has_value() && from_c.has_value());
  auto answer = [](net::UdpSocket& socket) -> std::vector<std::byte> {
    auto got = socket.receive(2000ms);
    return got && *got ? std::move((*got)->bytes) : std::vector<std::byte>{};
  };

  // Four main mode 1s from A: three answered (embryonic), the fourth over the per-address limit.
  std::vector<sa::Phase1Sa*> from_a_initiators;
  std::vector<std::vector<std::byte>> first_messages, message_2s;
  for (int i = 0; i < 4; ++i) {
    auto& ini = initiator(kA);
    first_messages.push_back(*ini.build_main_mode_1());
    ASSERT_TRUE(from_a->send_to(kB, test_port(), first_messages.back()).has_value());
    from_a_initiators.push_back(&ini);
  }
  auto s = b.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 4; });
  EXPECT_TRUE(s.main_modes.empty()) << "a main mode 1 makes no responder SA";
  EXPECT_EQ(s.counters.main_mode_1_answered, 3U);
  EXPECT_EQ(s.counters.embryonic, 3U);
  EXPECT_EQ(s.counters.embryonic_peer_limit_drops, 1U);
  for (int i = 0; i < 3; ++i) message_2s.push_back(answer(*from_a));
  ASSERT_FALSE(message_2s.back().empty());

  // Their main mode 3s: two become half-open responders, the third is over the per-peer limit.
  // (Answers come in the order sent: each message 2 goes to the initiator whose cookie it names.)
  for (int i = 0; i < 3; ++i) {
    auto& ini = *from_a_initiators[static_cast<std::size_t>(i)];
    const auto message_3 = ini.handle(message_2s[static_cast<std::size_t>(i)]);
    ASSERT_FALSE(message_3.empty()) << ini.failure();
    ASSERT_TRUE(from_a->send_to(kB, test_port(), message_3).has_value());
  }
  s = b.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 7; });
  EXPECT_EQ(s.main_modes.size(), 2U);
  EXPECT_EQ(s.counters.embryonic_promoted, 2U);
  EXPECT_EQ(s.counters.half_open_peer_limit_drops, 1U);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(answer(*from_a).empty()) << "main mode 4";

  // Two from C: one more half-open responder, then the total limit.
  for (int i = 0; i < 2; ++i) {
    auto& ini = initiator(ip("127.0.0.3"));
    ASSERT_TRUE(from_c->send_to(kB, test_port(), *ini.build_main_mode_1()).has_value());
    const auto message_2 = answer(*from_c);
    ASSERT_FALSE(message_2.empty());
    ASSERT_TRUE(from_c->send_to(kB, test_port(), ini.handle(message_2)).has_value());
    if (i == 0) {
      EXPECT_FALSE(answer(*from_c).empty()) << "main mode 4";
    }
  }
  s = b.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 11; });
  EXPECT_EQ(s.main_modes.size(), 3U);
  EXPECT_EQ(s.counters.half_open_limit_drops, 1U);

  // A resent main mode 1 of a promoted exchange is answered with the stored message 2; a main
  // mode 3 with a responder cookie we never made is unknown.
  ASSERT_TRUE(from_a->send_to(kB, test_port(), first_messages.front()).has_value());
  EXPECT_EQ(answer(*from_a), message_2s.front());
  auto forged = first_messages.front();
  forged[8] ^= std::byte{0x55};   // a responder cookie (bytes 8-15) that is not ours
  ASSERT_TRUE(from_a->send_to(kB, test_port(), forged).has_value());
  s = b.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 13; });
  EXPECT_EQ(s.main_modes.size(), 3U);
  EXPECT_EQ(s.counters.unknown_sa, 1U);
}

// A real initiator gets through while forged main mode 1s from 200 other addresses came first:
// they cost an embryonic entry each, evicted oldest first, and none becomes a half-open responder
// (before, they filled the 64 half-open slots for half_open_timeout and the real peer's main mode
// 1 was dropped).
TEST(IkeService, ForgedMainMode1sFromManyAddressesDoNotLockOutARealPeer) {
  Host a(kA, "flood secret"), b(kB, "flood secret");
  auto o = b.options();
  o.embryonic.max_entries = 32;
  o.half_open_timeout = 30000ms;   // wardd's: forged state used to sit this long
  a.start(a.options());
  b.start(o);
  ASSERT_TRUE(a.ike && b.ike);

  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("not the real one"));
  std::vector<net::UdpSocket> forgers;
  for (std::uint32_t i = 10; i < 210; ++i) {
    auto socket = net::UdpSocket::bind(IpAddress::v4(0x7f000000u + i), 0);
    ASSERT_TRUE(socket) << socket.error();
    forgers.push_back(std::move(*socket));
  }
  std::uint64_t sent = 0;
  for (int round = 0; round < 3; ++round) {
    for (std::uint32_t i = 0; i < forgers.size(); ++i) {
      sa::Phase1Config c;
      c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
      c.local = IpAddress::v4(0x7f000000u + 10 + i);
      c.peer = kB;
      auto initiator = sa::Phase1Sa::initiate(c, psk, [] { return std::chrono::steady_clock::now(); });
      ASSERT_TRUE(forgers[i].send_to(kB, test_port(), *initiator->build_main_mode_1()).has_value());
      ++sent;
    }
  }
  auto s = b.wait_snapshot([&](const auto& snap) { return snap.counters.datagrams_received >= sent; });
  EXPECT_EQ(s.counters.datagrams_received, sent) << "the receive queue held the burst";
  EXPECT_EQ(s.counters.main_mode_1_answered, sent);
  EXPECT_LE(s.counters.embryonic, 32U);
  EXPECT_GE(s.counters.embryonic_evicted, sent - 32);
  EXPECT_TRUE(s.main_modes.empty()) << "no forged main mode 1 made a responder SA";

  // The real peer: main mode and quick mode complete.
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(b.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  s = b.ike->snapshot();
  EXPECT_EQ(s.main_modes.size(), 1U);
  EXPECT_EQ(s.counters.embryonic_promoted, 1U);
  EXPECT_EQ(s.counters.half_open_limit_drops, 0U);
}

TEST(IkeService, DeleteNotificationRemovesThePeersSas) {
  Host a(kA, "delete secret"), b(kB, "delete secret");
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(b.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  ASSERT_EQ(b.sim.counters().sas.size(), 2U);

  // The agent's policy lost filter 3: A deletes its pair and tells B, which deletes its own.
  a.ike->retain_filters({kFilterId + 1});
  const auto da = a.events.wait_for(IkeEvent::Kind::SasDeleted);
  const auto db = b.events.wait_for(IkeEvent::Kind::SasDeleted);
  ASSERT_TRUE(da.has_value() && db.has_value());
  EXPECT_NE(da->reason.find("no longer in the policy"), std::string::npos) << da->reason;
  EXPECT_NE(db->reason.find("DELETE"), std::string::npos) << db->reason;
  EXPECT_TRUE(a.sim.counters().sas.empty());
  EXPECT_TRUE(b.sim.counters().sas.empty());
  const auto sb = b.wait_snapshot([](const auto& s) { return s.counters.deletes_received >= 1; });
  EXPECT_EQ(sb.counters.deletes_received, 1U);
  EXPECT_TRUE(sb.quick_modes.empty());

  // The main mode stays: the next acquire needs only a quick mode.
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(b.wait_snapshot([](const auto& s) { return s.quick_modes.size() == 1; }).quick_modes.size() == 1);
  EXPECT_EQ(a.events.count(IkeEvent::Kind::MainModeEstablished), 1U);

  // Shutting A down deletes its SAs and tells B.
  a.ike.reset();
  EXPECT_TRUE(a.sim.counters().sas.empty());
  const auto after = b.wait_snapshot([](const auto& s) { return s.quick_modes.empty() && s.main_modes.empty(); });
  EXPECT_TRUE(after.quick_modes.empty());
  EXPECT_TRUE(after.main_modes.empty()) << "the ISAKMP DELETE removed B's main mode";
  EXPECT_TRUE(b.sim.counters().sas.empty());
}

TEST(IkeService, AnAcquireAfterTheSasWereRemovedOutsideIkeRenegotiates) {
  Host a(kA, "flush secret"), b(kB, "flush secret");
  auto o = a.options();
  o.acquire_grace = 200ms;
  a.start(o);
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto first = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(first.has_value());
  // As `wardctl flush` does: the dataplane's SAs go, IKE is not told.
  ASSERT_TRUE(a.sim.delete_sa(first->inbound_spi, Direction::Inbound).has_value());
  ASSERT_TRUE(a.sim.delete_sa(first->outbound_spi, Direction::Outbound).has_value());
  std::this_thread::sleep_for(300ms);
  a.ike->initiate(acquire_to(kA, kB));
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.quick_modes_established == 2; });
  EXPECT_EQ(s.counters.quick_modes_established, 2U);
  ASSERT_EQ(s.quick_modes.size(), 1U);
  EXPECT_NE(s.quick_modes[0].outbound_spi, first->outbound_spi);
  EXPECT_EQ(a.sim.counters().sas.size(), 2U);
  // B was told to drop the old pair and holds only the new one.
  const auto sb = b.wait_snapshot([](const auto& snap) { return snap.counters.deletes_received == 1 && snap.quick_modes.size() == 1; });
  EXPECT_EQ(sb.counters.deletes_received, 1U);
  EXPECT_EQ(b.sim.counters().sas.size(), 2U);
}

TEST(IkeService, SoftExpiryRekeysOnTheSameMainMode) {
  Host a(kA, "rekey secret"), b(kB, "rekey secret");
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto first = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(first.has_value());
  // The dataplane reports the outbound SA's soft lifetime: a new pair is negotiated, the old one
  // stays until its hard lifetime.
  a.ike->on_expiry(driver::SaExpiry{first->outbound_spi, Direction::Outbound, driver::ExpiryKind::Soft, kFilterId, kB});
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.quick_modes.size() == 2; });
  ASSERT_EQ(s.quick_modes.size(), 2U);
  EXPECT_EQ(s.counters.main_modes_established, 1U);
  EXPECT_EQ(b.wait_snapshot([](const auto& snap) { return snap.quick_modes.size() == 2; }).quick_modes.size(), 2U);
  EXPECT_EQ(a.sim.counters().sas.size(), 4U);
  // A second soft expiry of the same SA does not start another one.
  a.ike->on_expiry(driver::SaExpiry{first->outbound_spi, Direction::Outbound, driver::ExpiryKind::Soft, kFilterId, kB});
  a.ike->sync();
  EXPECT_EQ(a.ike->snapshot().counters.quick_modes_established, 2U);
  // The hard expiry forgets the old pair.
  a.ike->on_expiry(driver::SaExpiry{first->outbound_spi, Direction::Outbound, driver::ExpiryKind::Hard, kFilterId, kB});
  a.ike->sync();
  EXPECT_EQ(a.ike->snapshot().quick_modes.size(), 1U);
}

TEST(IkeService, QuickModeLimitMakesTheNextQuickModeNegotiateANewMainMode) {
  Host a(kA, "limit secret"), b(kB, "limit secret");
  a.policy.quick_mode_limit = 1;   // Windows' master key PFS
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto first = a.events.wait_for(IkeEvent::Kind::QuickModeEstablished);
  ASSERT_TRUE(first.has_value());
  a.ike->on_expiry(driver::SaExpiry{first->outbound_spi, Direction::Outbound, driver::ExpiryKind::Soft, kFilterId, kB});
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.quick_modes.size() == 2; });
  ASSERT_EQ(s.quick_modes.size(), 2U);
  EXPECT_EQ(s.counters.main_modes_established, 2U) << "the rekey needed a new main mode";
  EXPECT_EQ(s.main_modes.size(), 2U) << "the old one stays until its lifetime ends";
  EXPECT_EQ(b.wait_snapshot([](const auto& snap) { return snap.quick_modes.size() == 2; }).quick_modes.size(), 2U);
}

// RFC 2407 4.6.3.1: the responder applies the shorter lifetime and, when its own is shorter, says
// so in RESPONDER-LIFETIME, which the initiator applies; a longer responder takes the initiator's.
TEST(IkeService, BothSidesApplyTheShorterQuickModeLifetime) {
  for (const bool responder_shorter : {true, false}) {
    SCOPED_TRACE(responder_shorter ? "the responder's is shorter" : "the initiator's is shorter");
    Host a(kA, "lifetimes"), b(kB, "lifetimes");
    (responder_shorter ? b : a).policy.quick_mode_lifetime = 600s;
    a.start(a.options());
    b.start(b.options());
    ASSERT_TRUE(a.ike && b.ike);
    a.ike->initiate(acquire_to(kA, kB));
    ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
    const auto sa = a.wait_snapshot([](const auto& s) { return s.quick_modes.size() == 1; });
    const auto sb = b.wait_snapshot([](const auto& s) { return s.quick_modes.size() == 1; });
    ASSERT_EQ(sa.quick_modes.size(), 1U);
    ASSERT_EQ(sb.quick_modes.size(), 1U);
    EXPECT_LE(sa.quick_modes[0].lifetime_left, 600s);
    EXPECT_GE(sa.quick_modes[0].lifetime_left, 590s);
    EXPECT_LE(sb.quick_modes[0].lifetime_left, 600s);
    EXPECT_GE(sb.quick_modes[0].lifetime_left, 590s);
  }
}

// Phase 1 renewal (phase1_renewal.h): 90% into its lifetime, with quick mode SAs to the peer, the
// initiator negotiates a new main mode; the old one ends with its lifetime, the SAs stay.
TEST(IkeService, MainModeWithQuickModeSasIsRenewedBeforeItExpires) {
  Host a(kA, "lifetime secret"), b(kB, "lifetime secret");
  a.policy.phase1_lifetime = 2s;
  b.policy.phase1_lifetime = 2s;
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  const auto renewed = a.wait_snapshot(
      [](const auto& s) { return s.counters.main_modes_established >= 3 && s.counters.main_modes_expired >= 1; }, 6000ms);
  EXPECT_GE(renewed.counters.main_modes_established, 3U);
  EXPECT_EQ(renewed.quick_modes.size(), 1U) << "the quick mode SAs outlive their main mode";
  EXPECT_GE(renewed.main_modes.size(), 1U);
  EXPECT_LE(renewed.main_modes.size(), 2U);
  EXPECT_EQ(renewed.counters.quick_modes_established, 1U);
  // B, the responder, found the initiator's new main mode and did not start its own.
  b.ike->sync();
  EXPECT_EQ(b.ike->snapshot().counters.main_modes_established, renewed.counters.main_modes_established);
  EXPECT_EQ(a.events.count(IkeEvent::Kind::MainModeFailed) + b.events.count(IkeEvent::Kind::MainModeFailed), 0U);
}

TEST(IkeService, ExpiredMainModeIsRemovedAndTheNextAcquireRenegotiates) {
  Host a(kA, "lifetime secret"), b(kB, "lifetime secret");
  a.policy.phase1_lifetime = 1s;
  b.policy.phase1_lifetime = 1s;
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  // Without quick mode SAs to carry, a main mode is not renewed (phase1_renewal.h): drop the pair
  // from both snapshots' view by its hard expiry before the renewal is due.
  a.ike->sync();
  const auto pair = a.ike->snapshot().quick_modes.at(0);
  a.ike->on_expiry(driver::SaExpiry{pair.outbound_spi, Direction::Outbound, driver::ExpiryKind::Hard, kFilterId, kB});
  b.ike->sync();
  const auto theirs = b.ike->snapshot().quick_modes.at(0);
  b.ike->on_expiry(driver::SaExpiry{theirs.outbound_spi, Direction::Outbound, driver::ExpiryKind::Hard, kFilterId, kA});
  const auto gone = a.wait_snapshot([](const auto& s) { return s.main_modes.empty(); }, 3000ms);
  EXPECT_TRUE(gone.main_modes.empty());
  // Whichever side's lifetime ends first removes its SA and sends an ISAKMP DELETE for it.
  EXPECT_EQ(gone.counters.main_modes_expired + gone.counters.deletes_received, 1U);
  EXPECT_TRUE(b.wait_snapshot([](const auto& s) { return s.main_modes.empty(); }, 3000ms).main_modes.empty());
  // The next acquire needs a new main mode.
  a.ike->initiate(acquire_to(kA, kB));
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.main_modes_established == 2 && snap.quick_modes.size() == 1; });
  EXPECT_EQ(s.counters.main_modes_established, 2U);
  EXPECT_EQ(s.quick_modes.size(), 1U);
}

// ---- refusals told to the peer (RFC 2408 3.14.1) ----------------------------------------------

// Retransmission slow enough that only the peer's notification can explain a fast failure.
service::IkeServiceOptions slow_retransmit(const Host& h) {
  auto o = h.options();
  o.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(3000), 2, 3};
  return o;
}

TEST(IkeServiceRefusals, MismatchedMainModeProposalsFailFastWithThePeersReason) {
  Host a(kA, "refusals"), b(kB, "refusals");
  b.policy.phase1_group = IkeGroupDescription::Modp2048;   // A offers ECP-256 only
  a.start(slow_retransmit(a));
  b.start(slow_retransmit(b));
  ASSERT_TRUE(a.ike && b.ike);
  const auto started = std::chrono::steady_clock::now();
  a.ike->initiate(acquire_to(kA, kB));
  const auto fa = a.events.wait_for(IkeEvent::Kind::MainModeFailed, 2000ms);
  ASSERT_TRUE(fa.has_value()) << "no failure before the first retransmission (3 s)";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
  EXPECT_NE(fa->reason.find("peer 127.0.0.2 refused: NO-PROPOSAL-CHOSEN"), std::string::npos) << fa->reason;
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed, 1000ms);
  ASSERT_TRUE(qa.has_value());
  EXPECT_NE(qa->reason.find("NO-PROPOSAL-CHOSEN"), std::string::npos) << qa->reason;
  const auto sa = a.wait_snapshot([](const auto& s) { return s.main_modes.empty(); });
  EXPECT_TRUE(sa.main_modes.empty());
  EXPECT_EQ(sa.counters.refusals_received, 1U);
  EXPECT_EQ(sa.counters.datagrams_sent, 1U) << "message 1 was not resent";
  b.ike->sync();
  const auto sb = b.ike->snapshot();
  EXPECT_EQ(sb.counters.refusals_sent, 1U);
  EXPECT_TRUE(sb.main_modes.empty());
}

TEST(IkeServiceRefusals, MismatchedQuickModeProposalsFailFastAndKeepTheMainMode) {
  Host a(kA, "refusals"), b(kB, "refusals");
  b.policy.esp = {sa::EspProposal{Cipher::AesCbc256, Integrity::HmacSha256_128}};   // A offers AES-GCM only
  a.start(slow_retransmit(a));
  b.start(slow_retransmit(b));
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::MainModeEstablished).has_value());
  const auto started = std::chrono::steady_clock::now();
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed, 2000ms);
  ASSERT_TRUE(qa.has_value()) << "no failure before the first retransmission (3 s)";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
  EXPECT_EQ(qa->reason, "peer 127.0.0.2 refused: NO-PROPOSAL-CHOSEN");
  EXPECT_EQ(qa->filter_id, kFilterId);
  a.ike->sync();
  const auto sa = a.ike->snapshot();
  EXPECT_EQ(sa.counters.refusals_received, 1U);
  EXPECT_EQ(sa.counters.quick_modes_failed, 1U);
  ASSERT_EQ(sa.main_modes.size(), 1U) << "a refused quick mode leaves phase 1 up";
  EXPECT_EQ(sa.main_modes[0].state, "MainMode6Received");
  EXPECT_TRUE(a.sim.counters().sas.empty());
  EXPECT_TRUE(b.sim.counters().sas.empty());
}

TEST(IkeServiceRefusals, QuickModeIdsNoFilterCoversFailWithInvalidIdInformation) {
  Host a(kA, "refusals"), b(kB, "refusals");
  b.policy.refuse_quick_modes = true;
  a.start(slow_retransmit(a));
  b.start(slow_retransmit(b));
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed, 2500ms);
  ASSERT_TRUE(qa.has_value());
  EXPECT_EQ(qa->reason, "peer 127.0.0.2 refused: INVALID-ID-INFORMATION");
}

TEST(IkeServiceRefusals, AQuickModeLookupThatNamesNoProposalChosenIsRefusedSo) {
  Host a(kA, "refusals"), b(kB, "refusals");
  // What agent/ikebridge answers when a filter covers the IDs but its rule fails closed.
  b.policy.quick_mode_error = "NO-PROPOSAL-CHOSEN: rule \"r\" fails closed: filter action \"a\" has no usable security method";
  a.start(slow_retransmit(a));
  b.start(slow_retransmit(b));
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed, 2500ms);
  ASSERT_TRUE(qa.has_value());
  EXPECT_EQ(qa->reason, "peer 127.0.0.2 refused: NO-PROPOSAL-CHOSEN");
  EXPECT_EQ(qa->failure, service::FailureKind::NoProposalChosen);
}

TEST(IkeServiceRefusals, UnprotectedRefusalsCountOnlyWithOurCookieFromThePeer) {
  // B is a bare socket: it reads A's main mode 1 and answers with crafted refusals.
  Host a(kA, "refusals");
  a.start(slow_retransmit(a));
  ASSERT_TRUE(a.ike);
  auto fake_b = net::UdpSocket::bind(kB, test_port());
  auto elsewhere = net::UdpSocket::bind(ip("127.0.0.3"), test_port());
  ASSERT_TRUE(fake_b.has_value() && elsewhere.has_value());
  a.ike->initiate(acquire_to(kA, kB));
  auto got = fake_b->receive(2000ms);
  ASSERT_TRUE(got.has_value() && got->has_value());
  const auto message_1 = split_datagram((*got)->bytes);
  ASSERT_TRUE(message_1.has_value());
  const Cookie cookie = message_1->header.initiator_cookie;
  Cookie wrong = cookie;
  wrong[0] ^= std::byte{1};
  auto refusal = [](const Cookie& c, NotifyMessageType type) {
    return *service::build_main_mode_refusal(c, Cookie{}, type);
  };
  // Another cookie, another sender, a status type: none fails the main mode.
  ASSERT_TRUE(fake_b->send_to(kA, test_port(), refusal(wrong, NotifyMessageType::NoProposalChosen)).has_value());
  ASSERT_TRUE(elsewhere->send_to(kA, test_port(), refusal(cookie, NotifyMessageType::NoProposalChosen)).has_value());
  ASSERT_TRUE(fake_b->send_to(kA, test_port(), refusal(cookie, NotifyMessageType::InitialContact)).has_value());
  auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 3; });
  EXPECT_EQ(s.counters.refusals_ignored, 2U);
  EXPECT_EQ(s.counters.refusals_received, 0U);
  ASSERT_EQ(s.main_modes.size(), 1U);
  EXPECT_EQ(s.main_modes[0].state, "MainMode1Sent");
  EXPECT_EQ(a.events.count(IkeEvent::Kind::MainModeFailed), 0U);
  // Our cookie, from the peer: the main mode fails at once with the peer's reason.
  // Our cookie, from the peer, with a responder cookie of the peer's making (charon's way): the
  // main mode fails at once with the peer's reason.
  Cookie theirs{};
  theirs.fill(std::byte{0x5a});
  ASSERT_TRUE(fake_b->send_to(kA, test_port(), *service::build_main_mode_refusal(cookie, theirs, NotifyMessageType::InvalidMajorVersion))
                  .has_value());
  const auto failed = a.events.wait_for(IkeEvent::Kind::MainModeFailed, 2000ms);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->reason, "peer 127.0.0.2 refused: INVALID-MAJOR-VERSION (in state MainMode1Sent)");
}

sa::Phase1Config hand_driven_config(const IpAddress& local, const IpAddress& peer) {
  sa::Phase1Config c;
  c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
  c.local = local;
  c.peer = peer;
  return c;
}

sa::Clock steady_clock_now() {
  return [] { return std::chrono::steady_clock::now(); };
}

std::vector<std::byte> cookie_pair_of(const sa::Phase1Sa& p) {
  std::vector<std::byte> spi(p.initiator_cookie().begin(), p.initiator_cookie().end());
  spi.insert(spi.end(), p.responder_cookie().begin(), p.responder_cookie().end());
  return spi;
}

// A refusal of main mode `p` under its keys: N(type, SPI = the cookie pair), then (the next
// datagram on `socket`) a DELETE of it.
void expect_main_mode_refusal(const ParsedMessage& message, const sa::Phase1Sa& p, NotifyMessageType type,
                              net::UdpSocket& socket) {
  const auto* n = message.find<Notification>();
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->is(type)) << n->message_type;
  EXPECT_EQ(n->protocol, ProtocolId::Isakmp);
  EXPECT_EQ(n->spi, cookie_pair_of(p));
  EXPECT_TRUE(n->data.empty());
  const auto got = socket.receive(2000ms);
  ASSERT_TRUE(got.has_value() && got->has_value()) << "no ISAKMP DELETE after the refusal";
  const auto second = service::open_informational(p, (*got)->bytes);
  ASSERT_TRUE(second.has_value()) << second.error();
  const auto* d = second->find<Delete>();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->protocol, ProtocolId::Isakmp);
  ASSERT_EQ(d->spis.size(), 1U);
  EXPECT_EQ(d->spis[0], cookie_pair_of(p));
}

TEST(IkeServiceRefusals, AMainMode6ThatFailsIsRefusedAndDeletedUnderThePhase1Keys) {
  // A hand-driven responder whose ID names another address: A decrypts main mode 6, the ID does
  // not verify. The responder counts its SA established (as charon does), so A tells it under
  // the phase 1 keys and deletes the ISAKMP SA.
  Host a(kA, "refusals");
  a.start(slow_retransmit(a));
  ASSERT_TRUE(a.ike);
  auto fake_b = net::UdpSocket::bind(kB, test_port());
  ASSERT_TRUE(fake_b.has_value());
  a.ike->initiate(acquire_to(kA, kB));
  auto got = fake_b->receive(2000ms);
  ASSERT_TRUE(got.has_value() && got->has_value());
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("refusals"));
  std::vector<std::byte> reply;
  auto responder = sa::Phase1Sa::respond(hand_driven_config(ip("127.0.0.9"), kA), psk, steady_clock_now(), (*got)->bytes, reply);
  ASSERT_TRUE(responder.has_value()) << responder.error();
  sa::Phase1Sa& r = **responder;
  std::optional<net::Datagram> refusal;
  for (int step = 0; step < 3 && !reply.empty(); ++step) {   // sends 2, 4, 6
    ASSERT_TRUE(fake_b->send_to(kA, test_port(), reply).has_value());
    got = fake_b->receive(2000ms);
    ASSERT_TRUE(got.has_value() && got->has_value()) << "no answer at step " << step;
    const auto split = split_datagram((*got)->bytes);
    ASSERT_TRUE(split.has_value());
    if (split->header.exchange_type == ExchangeType::Informational) {
      refusal = std::move(**got);
      break;
    }
    reply = r.handle((*got)->bytes);
  }
  ASSERT_TRUE(refusal.has_value()) << "main mode 6 was not refused";
  ASSERT_TRUE(r.established());
  const auto opened = service::open_informational(r, refusal->bytes);
  ASSERT_TRUE(opened.has_value()) << opened.error();
  expect_main_mode_refusal(*opened, r, NotifyMessageType::InvalidIdInformation, *fake_b);
  const auto fa = a.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(fa.has_value());
  EXPECT_NE(fa->reason.find("INVALID-ID-INFORMATION"), std::string::npos) << fa->reason;
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.refusals_sent >= 1; });
  EXPECT_EQ(s.counters.refusals_sent, 1U);
  EXPECT_TRUE(s.main_modes.empty());
}

TEST(IkeServiceRefusals, AProtectedRefusalOfMainMode5FailsTheInitiatorWithThePeersReason) {
  // A hand-driven responder that expects another peer ID refuses A's main mode 5 under the keys.
  Host a(kA, "refusals");
  a.start(slow_retransmit(a));
  ASSERT_TRUE(a.ike);
  auto fake_b = net::UdpSocket::bind(kB, test_port());
  ASSERT_TRUE(fake_b.has_value());
  a.ike->initiate(acquire_to(kA, kB));
  auto got = fake_b->receive(2000ms);
  ASSERT_TRUE(got.has_value() && got->has_value());
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("refusals"));
  std::vector<std::byte> reply;
  auto responder = sa::Phase1Sa::respond(hand_driven_config(kB, ip("127.0.0.9")), psk, steady_clock_now(), (*got)->bytes, reply);
  ASSERT_TRUE(responder.has_value()) << responder.error();
  sa::Phase1Sa& r = **responder;
  for (int step = 0; step < 2; ++step) {   // sends 2, 4; receives 3, 5
    ASSERT_TRUE(fake_b->send_to(kA, test_port(), reply).has_value());
    got = fake_b->receive(2000ms);
    ASSERT_TRUE(got.has_value() && got->has_value()) << "no answer at step " << step;
    reply = r.handle((*got)->bytes);
  }
  ASSERT_EQ(r.state(), sa::Phase1Sa::State::Failed) << r.failure();
  ASSERT_TRUE(r.keys_shared());
  auto informational = service::build_informational(
      r, {service::main_mode_refusal(r.initiator_cookie(), r.responder_cookie(), NotifyMessageType::InvalidIdInformation)});
  ASSERT_TRUE(informational.has_value()) << informational.error();
  ASSERT_TRUE(fake_b->send_to(kA, test_port(), *informational).has_value());
  const auto fa = a.events.wait_for(IkeEvent::Kind::MainModeFailed, 2000ms);
  ASSERT_TRUE(fa.has_value());
  EXPECT_EQ(fa->reason, "peer 127.0.0.2 refused: INVALID-ID-INFORMATION (in state MainMode5Sent)");
  EXPECT_EQ(a.ike->snapshot().counters.refusals_received, 1U);
}

TEST(IkeServiceRefusals, AnEstablishedResponderDropsTheMainModeThePeerRefusesAndDeletes) {
  // A hand-driven initiator completes main mode with B, then refuses it as Ward does after a
  // main mode 6 that does not verify: B forgets the main mode and says why.
  Host b(kB, "refusals");
  b.start(slow_retransmit(b));
  ASSERT_TRUE(b.ike);
  auto socket = net::UdpSocket::bind(kA, 0);
  ASSERT_TRUE(socket.has_value());
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("refusals"));
  auto initiator = sa::Phase1Sa::initiate(hand_driven_config(kA, kB), psk, steady_clock_now());
  std::vector<std::byte> out = *initiator->build_main_mode_1();
  for (int step = 0; step < 3 && !out.empty(); ++step) {   // sends 1, 3, 5
    ASSERT_TRUE(socket->send_to(kB, test_port(), out).has_value());
    auto got = socket->receive(2000ms);
    ASSERT_TRUE(got.has_value() && got->has_value()) << "no answer at step " << step;
    out = initiator->handle((*got)->bytes);
  }
  ASSERT_TRUE(initiator->established()) << initiator->failure();
  ASSERT_TRUE(b.events.wait_for(IkeEvent::Kind::MainModeEstablished).has_value());
  // As Ward sends it: the reason, then the DELETE.
  auto refusal = service::build_informational(
      *initiator, {service::main_mode_refusal(initiator->initiator_cookie(), initiator->responder_cookie(),
                                              NotifyMessageType::InvalidSignature)});
  auto deletion =
      service::build_informational(*initiator, {service::isakmp_delete(initiator->initiator_cookie(), initiator->responder_cookie())});
  ASSERT_TRUE(refusal.has_value() && deletion.has_value());
  ASSERT_TRUE(socket->send_to(kB, test_port(), *refusal).has_value());
  ASSERT_TRUE(socket->send_to(kB, test_port(), *deletion).has_value());
  const auto deleted = b.events.wait_for(IkeEvent::Kind::SasDeleted, 2000ms);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->reason, "peer 127.0.0.1 refused: INVALID-SIGNATURE; the peer deleted the ISAKMP SA");
  const auto s = b.wait_snapshot([](const auto& snap) { return snap.main_modes.empty(); });
  EXPECT_TRUE(s.main_modes.empty());
  EXPECT_EQ(s.counters.refusals_received, 1U);
  EXPECT_EQ(s.counters.deletes_received, 1U);
}

TEST(IkeServiceRefusals, AMainMode5ThatDecryptsButFailsIsRefusedAndDeletedUnderThePhase1Keys) {
  // A hand-driven initiator whose ID names another address than the one it sends from.
  Host b(kB, "refusals");
  b.start(b.options());
  ASSERT_TRUE(b.ike);
  auto socket = net::UdpSocket::bind(kA, 0);
  ASSERT_TRUE(socket.has_value());
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("refusals"));
  sa::Phase1Config c;
  c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
  c.local = ip("127.0.0.9");
  c.peer = kB;
  auto initiator = sa::Phase1Sa::initiate(c, psk, [] { return std::chrono::steady_clock::now(); });
  std::vector<std::byte> out = *initiator->build_main_mode_1();
  std::optional<net::Datagram> refusal;
  for (int step = 0; step < 3 && !out.empty(); ++step) {   // sends 1, 3, 5
    ASSERT_TRUE(socket->send_to(kB, test_port(), out).has_value());
    auto got = socket->receive(2000ms);
    ASSERT_TRUE(got.has_value() && got->has_value()) << "no answer at step " << step;
    const auto split = split_datagram((*got)->bytes);
    ASSERT_TRUE(split.has_value());
    if (split->header.exchange_type == ExchangeType::Informational) {
      refusal = std::move(**got);
      break;
    }
    out = initiator->handle((*got)->bytes);
  }
  ASSERT_TRUE(refusal.has_value()) << "main mode 5 was not refused";
  // Main mode 5 decrypted, so the refusal comes under the phase 1 keys: N + ISAKMP DELETE.
  ASSERT_EQ(initiator->state(), sa::Phase1Sa::State::MainMode5Sent);
  const auto parsed = service::open_informational(*initiator, refusal->bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->header.initiator_cookie, initiator->initiator_cookie());
  EXPECT_EQ(parsed->header.responder_cookie, initiator->responder_cookie());
  expect_main_mode_refusal(*parsed, *initiator, NotifyMessageType::InvalidIdInformation, *socket);
  const auto fb = b.events.wait_for(IkeEvent::Kind::MainModeFailed);
  ASSERT_TRUE(fb.has_value());
  EXPECT_NE(fb->reason.find("INVALID-ID-INFORMATION"), std::string::npos) << fb->reason;
}

TEST(IkeServiceRefusals, RefusalsAreRateLimited) {
  Host b(kB, "refusals");
  auto o = b.options();
  o.refusals_per_second = 0.001;
  o.refusal_burst = 2;
  b.start(o);
  ASSERT_TRUE(b.ike);
  auto from_a = net::UdpSocket::bind(kA, 0);
  ASSERT_TRUE(from_a.has_value());
  auth::PresharedKeyProvider psk(auth::preshared_key_from_text("refusals"));
  std::vector<std::unique_ptr<sa::Phase1Sa>> initiators;
  for (int i = 0; i < 4; ++i) {
    sa::Phase1Config c;   // MODP-2048: B's policy wants ECP-256
    c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, 28800s}};
    c.local = kA;
    c.peer = kB;
    initiators.push_back(sa::Phase1Sa::initiate(c, psk, [] { return std::chrono::steady_clock::now(); }));
    ASSERT_TRUE(from_a->send_to(kB, test_port(), *initiators.back()->build_main_mode_1()).has_value());
  }
  const auto s = b.wait_snapshot([](const auto& snap) { return snap.counters.datagrams_received >= 4; });
  EXPECT_EQ(s.counters.refusals_sent, 2U);
  EXPECT_EQ(s.counters.refusals_rate_limited, 2U);
  EXPECT_TRUE(s.main_modes.empty());
  std::size_t answers = 0;
  while (true) {
    auto got = from_a->receive(200ms);
    if (!got || !*got) break;
    auto parsed = parse_message((*got)->bytes, MessageKind::InformationalUnprotected);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->find<Notification>()->is(NotifyMessageType::NoProposalChosen));
    ++answers;
  }
  EXPECT_EQ(answers, 2U);
}

// ---- dead peer detection (RFC 3706) ------------------------------------------------------------

service::IkeServiceOptions dpd_options(const Host& h) {
  auto o = h.options();
  o.dpd = service::DpdPolicy{true, 300ms, 100ms, 3, 50ms};
  return o;
}

// Starts both, negotiates A -> B; true when the SAs are up on both sides.
bool establish(Host& a, Host& b, service::IkeServiceOptions oa, service::IkeServiceOptions ob) {
  a.start(std::move(oa));
  b.start(std::move(ob));
  if (!a.ike || !b.ike) return false;
  a.ike->initiate(acquire_to(kA, kB));
  return a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value() &&
         b.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value();
}

// A's outbound traffic to B (protected, never delivered): what makes B's silence worth a probe.
void send_outbound(Host& a) {
  const auto packet = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  EXPECT_EQ(a.sim.send(packet).disposition, driver::Disposition::AcceptModified);
}

TEST(IkeServiceDpd, VendorIdsAreExchangedAndAQuietPeerIsNotProbed) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  a.ike->sync();
  b.ike->sync();
  ASSERT_EQ(a.ike->snapshot().main_modes.size(), 1U);
  EXPECT_TRUE(a.ike->snapshot().main_modes[0].dpd);
  EXPECT_TRUE(b.ike->snapshot().main_modes[0].dpd);
  std::this_thread::sleep_for(700ms);   // more than two idle periods, no traffic either way
  EXPECT_EQ(a.ike->snapshot().counters.dpd_probes_sent, 0U);
  EXPECT_EQ(b.ike->snapshot().counters.dpd_probes_sent, 0U);

  // A peer that does not announce DPD is never probed.
  Host c(kA, "dpd"), d(kB, "dpd");
  auto od = d.options();
  od.port = static_cast<std::uint16_t>(od.port + 1);
  auto oc = dpd_options(c);
  oc.port = od.port;
  od.dpd.enabled = false;
  ASSERT_TRUE(establish(c, d, oc, od));
  c.ike->sync();
  EXPECT_FALSE(c.ike->snapshot().main_modes.at(0).dpd);
}

TEST(IkeServiceDpd, SilenceAfterOurTrafficIsProbedAndTheAnswerKeepsTheSas) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  send_outbound(a);
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.counters.dpd_acks_received >= 1; });
  EXPECT_GE(s.counters.dpd_probes_sent, 1U);
  EXPECT_GE(s.counters.dpd_acks_received, 1U);
  EXPECT_EQ(s.counters.dpd_acks_unexpected, 0U);
  EXPECT_EQ(s.counters.peers_dead, 0U);
  EXPECT_EQ(s.main_modes.size(), 1U);
  EXPECT_EQ(s.quick_modes.size(), 1U);
  EXPECT_EQ(a.sim.counters().sas.size(), 2U);
  b.ike->sync();
  EXPECT_GE(b.ike->snapshot().counters.dpd_acks_sent, 1U);
}

TEST(IkeServiceDpd, APeerThatStopsAnsweringIsDeclaredDeadAndItsSasRemoved) {
  Host a(kA, "dpd"), b(kB, "dpd");
  ASSERT_TRUE(establish(a, b, dpd_options(a), dpd_options(b)));
  struct Release {
    Stall& stall;
    ~Release() { stall.release(); }
  } release{b.policy.stall};
  b.policy.stall.hold();
  auto stuck = acquire_to(kB, kA);
  stuck.filter_id = kStallFilterId;
  b.ike->initiate(stuck);
  ASSERT_TRUE(b.policy.stall.wait_entered(2000ms)) << "B's event thread did not stop";

  const auto started = std::chrono::steady_clock::now();
  send_outbound(a);
  const auto gone = a.events.wait_for(IkeEvent::Kind::SasDeleted, 5000ms);
  ASSERT_TRUE(gone.has_value());
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::printf("peer declared dead after %lld ms (idle 300 ms after phase 1; probes at 300, 400, 600 ms; dead at 1000 ms)\n",
              static_cast<long long>(elapsed.count()));
  EXPECT_NE(gone->reason.find("peer-dead"), std::string::npos) << gone->reason;
  EXPECT_EQ(gone->peer, kB);
  const auto s = a.wait_snapshot([](const auto& snap) { return snap.main_modes.empty(); });
  EXPECT_TRUE(s.main_modes.empty());
  EXPECT_TRUE(s.quick_modes.empty());
  EXPECT_EQ(s.counters.peers_dead, 1U);
  EXPECT_EQ(s.counters.dpd_probes_sent, 3U);
  EXPECT_EQ(s.counters.dpd_acks_received, 0U);
  EXPECT_EQ(s.counters.sas_deleted, 1U);
  EXPECT_TRUE(a.sim.counters().sas.empty()) << "the dataplane lost the pair";
  // Two SasDeleted events: the quick mode pair and the phase 1 SA (the snapshot is published
  // before the first, so the second may still be on its way).
  const auto until = std::chrono::steady_clock::now() + 2000ms;
  while (a.events.count(IkeEvent::Kind::SasDeleted) < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(a.events.count(IkeEvent::Kind::SasDeleted), 2U);
}

// The same on the service's own clock (IkeServiceOptions::clock), stepped by the test, so the
// times are exact whatever the machine's load: A and B exchange traffic every 100 ms; B dies
// (its event thread held, its packets no longer reach A) at 5.55 s while A keeps sending. With
// the dataplane's totals sampled every second (DpdPolicy::sample), A's first R-U-THERE goes idle
// (10 s) after the sample that last saw B's packets, and B is dead 10 + 1 + 2 + 4 s after that:
// at most one sample interval after the nominal times counted from the death. Before, the totals
// were read only when the detector was due, and the first probe came up to two idle periods late.
TEST(IkeServiceDpd, OnTheServicesClockAPeerIsProbedAndDeclaredDeadOnTime) {
  std::atomic<std::int64_t> elapsed_ms{0};   // before the hosts: A's event thread reads it until A stops
  const auto t0 = std::chrono::steady_clock::now();
  Host a(kA, "dpd"), b(kB, "dpd");
  auto oa = a.options();
  oa.clock = [&elapsed_ms, t0] { return t0 + std::chrono::milliseconds(elapsed_ms.load()); };
  oa.outbound_after_message_3 = 0ms;   // a timer on A's clock: it only moves when the test says
  oa.dpd = service::DpdPolicy{true, 10s, 1s, 3, 1s};
  auto ob = b.options();
  ob.dpd = service::DpdPolicy{true, 600s, 1s, 3};   // B never probes A here
  ASSERT_TRUE(establish(a, b, oa, ob));
  // The event thread runs its timers after each command: the second sync() returns after the
  // timers of the new time ran, and its snapshot is published after them.
  const auto step_to = [&](std::chrono::milliseconds t) {
    elapsed_ms = t.count();
    a.ike->sync();
    a.ike->sync();
  };
  const auto a_to_b = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  const auto b_to_a = driver::testing::make_packet(kB, kA, 17, 53, 5000, 64);
  struct Release {
    Stall& stall;
    ~Release() { stall.release(); }
  } release{b.policy.stall};

  constexpr auto kDeath = 5550ms;
  std::optional<std::chrono::milliseconds> first_probe, dead;
  for (auto t = 100ms; t <= 40s && !dead; t += 100ms) {
    ASSERT_EQ(a.sim.send(a_to_b).disposition, driver::Disposition::AcceptModified);
    if (t < kDeath) {
      const auto esp = b.sim.send(b_to_a);
      ASSERT_EQ(esp.disposition, driver::Disposition::AcceptModified);
      ASSERT_EQ(a.sim.receive(esp.bytes).disposition, driver::Disposition::AcceptModified);
    } else if (t - 100ms < kDeath) {
      // B stops answering anything: its event thread waits in a policy lookup.
      b.policy.stall.hold();
      auto stuck = acquire_to(kB, kA);
      stuck.filter_id = kStallFilterId;
      b.ike->initiate(stuck);
      ASSERT_TRUE(b.policy.stall.wait_entered(2000ms)) << "B's event thread did not stop";
    }
    step_to(t);
    const auto s = a.ike->snapshot();
    if (!first_probe && s.counters.dpd_probes_sent > 0) first_probe = t;
    if (s.counters.peers_dead > 0) dead = t;
  }
  ASSERT_TRUE(first_probe.has_value());
  ASSERT_TRUE(dead.has_value()) << "no peer-dead in 40 s";
  std::printf("B died at %lld ms: first R-U-THERE at %lld ms, peer-dead at %lld ms (nominal %lld and %lld ms)\n",
              static_cast<long long>(kDeath.count()), static_cast<long long>(first_probe->count()),
              static_cast<long long>(dead->count()), static_cast<long long>((kDeath + 10s).count()),
              static_cast<long long>((kDeath + 17s).count()));
  EXPECT_GE(*first_probe, kDeath + 10s - 1s);
  EXPECT_LE(*first_probe, kDeath + 10s + 1s);
  EXPECT_GE(*dead, kDeath + 17s - 1s);
  EXPECT_LE(*dead, kDeath + 17s + 1s);
  const auto s = a.ike->snapshot();
  EXPECT_EQ(s.counters.dpd_probes_sent, 3U);
  EXPECT_EQ(s.counters.dpd_acks_received, 0U);
  EXPECT_TRUE(a.sim.counters().sas.empty()) << "the dataplane lost the pair";
}

// Traffic that still waits (the dataplane asks again every 250 ms while a held flow's packets keep
// coming) sends an unanswered main mode 1 again, at most every 250 ms on the service's clock,
// whatever the retransmission back-off says: a peer that was dead and is back answers at once.
// The peer here is a bare socket that never answers.
TEST(IkeService, AnAcquireForAnUnansweredMainModeSendsMessage1AgainAtMostEveryQuarterSecond) {
  std::atomic<std::int64_t> elapsed_ms{0};   // before the host: its event thread reads it until it stops
  const auto t0 = std::chrono::steady_clock::now();
  auto silent_peer = net::UdpSocket::bind(kB, test_port());
  ASSERT_TRUE(silent_peer.has_value()) << silent_peer.error();
  Host a(kA, "knock");
  auto oa = a.options();
  oa.clock = [&elapsed_ms, t0] { return t0 + std::chrono::milliseconds(elapsed_ms.load()); };
  oa.retransmit = sa::RetransmitPolicy{std::chrono::milliseconds(60000), 2, 3};   // no retransmission in this test
  a.start(oa);
  const auto received = [&] {
    std::vector<std::vector<std::byte>> got;
    while (true) {
      auto d = silent_peer->receive(100ms);
      if (!d || !*d) return got;
      got.push_back((*d)->bytes);
    }
  };
  a.ike->initiate(acquire_to(kA, kB));
  const auto first = received();
  ASSERT_EQ(first.size(), 1U) << "main mode 1";
  std::size_t again = 0;
  for (const auto t : {100ms, 200ms, 300ms, 400ms, 500ms, 600ms}) {
    elapsed_ms = t.count();
    a.ike->initiate(acquire_to(kA, kB));   // coalesced into the main mode under way
    a.ike->sync();
    for (const auto& bytes : received()) {
      EXPECT_EQ(bytes, first[0]) << "the same message 1, at " << t.count() << " ms";
      ++again;
    }
    const std::size_t want = t >= 550ms ? 2 : t >= 300ms ? 1 : 0;   // at 300 and 550+ ms
    EXPECT_EQ(again, want) << "at " << t.count() << " ms";
  }
  EXPECT_EQ(a.ike->snapshot().counters.acquires_coalesced, 6U);
}

TEST(IkeServicePieces, RefusalTypesComeFromTheReasonsName) {
  EXPECT_EQ(service::refusal_type("NO-PROPOSAL-CHOSEN: none of the peer's ESP transforms is acceptable"),
            NotifyMessageType::NoProposalChosen);
  EXPECT_EQ(service::refusal_type("INVALID-ID-INFORMATION: x"), NotifyMessageType::InvalidIdInformation);
  EXPECT_EQ(service::refusal_type("main mode 1 dropped: truncated"), std::nullopt);
  EXPECT_EQ(service::refusal_type("R-U-THERE: status types are not refusals"), std::nullopt);
  EXPECT_EQ(service::refusal_type("no colon"), std::nullopt);

  Notification n = service::quick_mode_refusal(Cookie{}, Cookie{}, NotifyMessageType::NoProposalChosen, 0x01020304);
  EXPECT_EQ(service::refused_message_id(n), 0x01020304U);
  EXPECT_EQ(service::refusal_text(kB, n), "peer 127.0.0.2 refused: NO-PROPOSAL-CHOSEN");
  n.message_type = 9000;   // a private error type
  EXPECT_EQ(service::refusal_text(kB, n), "peer 127.0.0.2 refused: notify type 9000");

  // The unprotected form parses under the informational rules and carries the cookie pair.
  Cookie cky_i{};
  cky_i[0] = std::byte{0xab};
  auto bytes = service::build_main_mode_refusal(cky_i, Cookie{}, NotifyMessageType::NoProposalChosen);
  ASSERT_TRUE(bytes.has_value()) << bytes.error();
  auto parsed = parse_message(*bytes, MessageKind::InformationalUnprotected);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->header.initiator_cookie, cky_i);
  ASSERT_NE(parsed->find<Notification>(), nullptr);
  EXPECT_TRUE(parsed->find<Notification>()->is(NotifyMessageType::NoProposalChosen));
  EXPECT_EQ(parsed->find<Notification>()->spi.size(), 16U);
}

TEST(IkeServicePieces, RefusalLimiterIsATokenBucket) {
  service::RefusalLimiter limiter(2.0, 3.0);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_FALSE(limiter.allow(t0)) << "burst of 3";
  EXPECT_FALSE(limiter.allow(t0 + 400ms));
  EXPECT_TRUE(limiter.allow(t0 + 500ms)) << "2 per second";
  EXPECT_FALSE(limiter.allow(t0 + 500ms));
  EXPECT_TRUE(limiter.allow(t0 + 60s));
}

TEST(IkeServicePieces, QuickModeIdsRoundTripThroughSelectors) {
  for (const char* text : {"10.1.2.3", "10.1.0.0/16", "2001:db8::/32", "2001:db8::1"}) {
    const sa::TrafficSelector selector{*IpPrefix::parse(text), 6, 443};
    auto back = service::selector_of(sa::identification_of(selector));
    ASSERT_TRUE(back.has_value()) << text << ": " << back.error();
    EXPECT_EQ(back->prefix, selector.prefix) << text;
    EXPECT_EQ(back->protocol, 6);
    EXPECT_EQ(back->port, 443);
  }
  Identification bad;
  bad.type = IdType::Ipv4AddrSubnet;
  bad.data = {std::byte{10}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0x0f}, std::byte{0}, std::byte{0}};
  EXPECT_FALSE(service::selector_of(bad).has_value());
}

}  // namespace
}  // namespace ward::ike
