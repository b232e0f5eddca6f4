// Refusals between two IkeServices on loopback (refusal.h, RFC 2408 3.14.1): mismatched
// proposals and IDs fail fast on both sides with the peer's reason; unprotected refusals count only
// with our cookie from the peer; a main mode that fails after its keys agree is refused and deleted
// under them (a hand-driven Phase1Sa plays the peer); refusals are rate-limited.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "driver/packet/test_packets.h"
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
  b.policy.quick_mode_error = service::PolicyRefusal{NotifyMessageType::NoProposalChosen,
                                                     "rule \"r\" fails closed: filter action \"a\" has no usable security method"};
  a.start(slow_retransmit(a));
  b.start(slow_retransmit(b));
  ASSERT_TRUE(a.ike && b.ike);
  a.ike->initiate(acquire_to(kA, kB));
  const auto qa = a.events.wait_for(IkeEvent::Kind::QuickModeFailed, 2500ms);
  ASSERT_TRUE(qa.has_value());
  EXPECT_EQ(qa->reason, "peer 127.0.0.2 refused: NO-PROPOSAL-CHOSEN");
  EXPECT_EQ(qa->failure, service::FailureKind::NoProposalChosen);
  // B's own event says what it told A, and why.
  const auto qb = b.events.wait_for(IkeEvent::Kind::QuickModeFailed, 2500ms);
  ASSERT_TRUE(qb.has_value());
  EXPECT_NE(qb->reason.find("): NO-PROPOSAL-CHOSEN: rule \"r\" fails closed"), std::string::npos) << qb->reason;
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

}  // namespace
}  // namespace ward::ike
