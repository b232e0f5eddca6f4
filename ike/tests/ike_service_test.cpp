// Two IkeServices on loopback (127.0.0.1 and 127.0.0.2, one UDP port), each with its own
// SimDataplane: an acquire on one side negotiates main mode and quick mode over real sockets
// and installs matching SAs on both; a wrong preshared key fails with a reason on both sides and
// installs nothing; the half-open limits hold; DELETE notifications remove the peer's SAs.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "ike/net/udp_socket.h"
#include "ike/service/informational.h"
#include "ike/service/refusal.h"
#include "ike/tests/service_hosts.h"

namespace ward::ike {
namespace {

using namespace service_test;
using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Direction;
using driver::crypto::Integrity;
using service::IkeEvent;

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

  expect_traffic_both_ways(a, b);
  if (HasFatalFailure()) return;

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

// Master key PFS: the main mode that reached its quick mode limit is deleted with its last SAs,
// on both sides, instead of lingering until its lifetime ends.
TEST(IkeService, ASpentMainModeIsDeletedWithItsLastSas) {
  Host a(kA, "spent secret"), b(kB, "spent secret");
  a.policy.quick_mode_limit = 1;
  a.start(a.options());
  b.start(b.options());
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(a.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  ASSERT_EQ(b.wait_snapshot([](const auto& snap) { return snap.quick_modes.size() == 1; }).main_modes.size(), 1U);
  a.ike->retain_filters({});   // the SA pair goes, with a DELETE
  const auto sa = a.wait_snapshot([](const auto& snap) { return snap.main_modes.empty() && snap.quick_modes.empty(); });
  EXPECT_TRUE(sa.main_modes.empty()) << "the initiator deleted its spent main mode";
  const auto sb = b.wait_snapshot([](const auto& snap) { return snap.main_modes.empty() && snap.quick_modes.empty(); });
  EXPECT_TRUE(sb.main_modes.empty()) << "the responder took the ISAKMP DELETE";
  EXPECT_TRUE(sb.quick_modes.empty());
  // A main mode under no limit stays for the next quick mode.
  Host c(kA, "unlimited"), d(kB, "unlimited");
  a.ike.reset();
  b.ike.reset();
  c.start(c.options());
  d.start(d.options());
  ASSERT_TRUE(c.ike && d.ike);
  c.ike->initiate(acquire_to(kA, kB));
  ASSERT_TRUE(c.events.wait_for(IkeEvent::Kind::QuickModeEstablished).has_value());
  c.ike->retain_filters({});
  EXPECT_EQ(d.wait_snapshot([](const auto& snap) { return snap.quick_modes.empty(); }).main_modes.size(), 1U);
  EXPECT_EQ(c.ike->snapshot().main_modes.size(), 1U);
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

TEST(IkeServicePieces, QuickModeRefusalsCarryTheMessageIdAndReadAsText) {
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
