// IKE_SA_INIT and IKE_AUTH, Ward's IKEv2 initiator against Ward's IKEv2 responder in one process
// (each message handed across in memory, as strongSwan's test_child_rekey does): the CHILD_SA's
// SaInstall pairs go into two SimDataplanes and a packet crosses each way, so the keys and SPIs
// meet in the real ESP code. Refusals: wrong PSK, no common proposal, selectors outside the
// filter; INVALID_KE_PAYLOAD and COOKIE restarts; NAT detection.
#include <gtest/gtest.h>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/tests/exchange_support.h"
#include "ike/v2/ike_auth.h"
#include "ike/v2/informational.h"

namespace ward::ike::v2 {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;
using driver::crypto::Mode;
using ike::testing::kFilterId;
using ike::testing::kHostA;
using ike::testing::kHostB;

SecureBytes psk(std::string_view text) { return SecureBytes(std::as_bytes(std::span(text.data(), text.size()))); }
Bytes address_bytes(const IpAddress& a) {
  Bytes b;
  for (int i = 0; i < 4; ++i) b.push_back(std::byte{a.bytes()[static_cast<std::size_t>(i)]});
  return b;
}

struct Side {
  IkeSaInitConfig init;
  AuthConfig auth;
  ChildSaConfig child;
};

Side side(const IpAddress& local, const IpAddress& remote, std::string_view key) {
  Side s;
  s.init.proposals = {IkeProposal{}};   // AES-CBC-128, HMAC-SHA2-256-128, PRF SHA2-256, MODP-2048
  s.init.local = {local, 500};
  s.init.remote = {remote, 500};
  s.auth.id_type = IdType::Ipv4Address;
  s.auth.id_data = address_bytes(local);
  s.auth.preshared_key = psk(key);
  s.auth.peer = IdPayload{true, IdType::Ipv4Address, address_bytes(remote)};
  s.child.proposals = {ChildProposal{Cipher::AesGcm128, Integrity::None}, ChildProposal{Cipher::AesCbc128, Integrity::HmacSha256_128}};
  s.child.local = TrafficSelector::of(IpPrefix::host(local));
  s.child.remote = TrafficSelector::of(IpPrefix::host(remote));
  s.child.mode = Mode::Transport;
  s.child.filter_id = kFilterId;
  s.child.peer = remote;
  return s;
}

class Ikev2ExchangeTest : public ::testing::Test {
 protected:
  Ikev2ExchangeTest() : sim_a(listener), sim_b(listener) {
    EXPECT_TRUE(sim_a.install_filter_table(ike::testing::negotiate_table()));
    EXPECT_TRUE(sim_b.install_filter_table(ike::testing::negotiate_table()));
    a.auth.peer->initiator = false;   // A initiates: it expects B's IDr
  }

  // IKE_SA_INIT, answering restarts; both IKE SAs on success.
  void run_ike_sa_init() {
    auto initiator = IkeSaInitInitiator::create(a.init);
    ASSERT_TRUE(initiator) << initiator.error();
    for (int round = 0; round < 4 && !sa_a; ++round) {
      //   HDR, SAi1, KEi, Ni, N(NAT_D) x2  -->
      auto reply = respond_ike_sa_init(b.init, initiator->request());
      ASSERT_TRUE(reply) << reply.error();
      if (reply->sa) sa_b = std::move(reply->sa);
      else b_refusal = reply->refusal;
      //                <--  HDR, SAr1, KEr, Nr, N(NAT_D) x2   (or a notify)
      auto consumed = initiator->consume_response(reply->reply);
      if (!consumed) {
        a_failure = consumed.error();
        return;
      }
      if (*consumed) sa_a = std::move(**consumed);
    }
  }

  void run_ike_auth() {
    ASSERT_TRUE(sa_a && sa_b);
    IkeAuthInitiator initiator(*sa_a, a.auth, a.child, 0x1000a);
    //   HDR, SK {IDi, AUTH, N(USE_TRANSPORT_MODE), SAi2, TSi, TSr}  -->
    auto request = initiator.build_request();
    ASSERT_TRUE(request) << request.error();
    auto reply = respond_ike_auth(*sa_b, b.auth, b.child, 0x2000b, *request);
    ASSERT_TRUE(reply) << reply.error();
    b_authenticated = reply->authenticated;
    b_refusal = reply->refusal;
    child_b = reply->child;
    //                <--  HDR, SK {IDr, AUTH, N(USE_TRANSPORT_MODE), SAr2, TSi, TSr}
    auto child = initiator.consume_response(reply->reply);
    if (child) child_a = std::move(*child);
    else a_failure = child.error().text;
  }

  void expect_traffic_crosses() {
    ASSERT_TRUE(child_a && child_b);
    ASSERT_TRUE(sim_a.add_sa(child_a->inbound));
    ASSERT_TRUE(sim_a.add_sa(child_a->outbound));
    ASSERT_TRUE(sim_b.add_sa(child_b->inbound));
    ASSERT_TRUE(sim_b.add_sa(child_b->outbound));
    const auto packet = driver::testing::make_packet(kHostA, kHostB, 17, 5000, 53, 64);
    const auto sealed = sim_a.send(packet);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    const auto opened = sim_b.receive(sealed.bytes);
    ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened.bytes, packet);
    const auto reply = driver::testing::make_packet(kHostB, kHostA, 17, 53, 5000, 64);
    const auto sealed_reply = sim_b.send(reply);
    ASSERT_EQ(sealed_reply.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(sim_a.receive(sealed_reply.bytes).bytes, reply);
  }

  Side a = side(kHostA, kHostB, "correct horse battery staple");
  Side b = side(kHostB, kHostA, "correct horse battery staple");
  ike::testing::NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::optional<IkeSa> sa_a, sa_b;
  std::optional<ChildSa> child_a, child_b;
  bool b_authenticated = false;
  std::string a_failure, b_refusal;
};

TEST_F(Ikev2ExchangeTest, PresharedKeyTransportModeChildSaCarriesTraffic) {
  run_ike_sa_init();
  ASSERT_TRUE(sa_a && sa_b) << a_failure << b_refusal;
  EXPECT_EQ(sa_a->spi_r, sa_b->spi_r);
  EXPECT_EQ(sa_a->keys.sk_d.reveal().size(), 32u);
  EXPECT_TRUE(std::ranges::equal(sa_a->keys.sk_ei.reveal(), sa_b->keys.sk_ei.reveal()));
  EXPECT_FALSE(sa_a->nat_detected());
  EXPECT_FALSE(sa_b->nat_detected());
  run_ike_auth();
  ASSERT_TRUE(child_a) << a_failure;
  ASSERT_TRUE(child_b) << b_refusal;
  EXPECT_EQ(child_a->inbound_spi, 0x1000au);
  EXPECT_EQ(child_a->outbound_spi, 0x2000bu);
  EXPECT_EQ(child_b->inbound_spi, 0x2000bu);
  EXPECT_EQ(child_a->proposal, (ChildProposal{Cipher::AesGcm128, Integrity::None}));
  EXPECT_EQ(child_a->inbound.params.mode, Mode::Transport);
  EXPECT_EQ(child_a->inbound.filter_id, kFilterId);
  EXPECT_EQ(child_a->outbound.peer, kHostB);
  EXPECT_EQ(child_a->outbound.params.encryption_key.size(), 20u);   // AES-128 key and GCM salt
  expect_traffic_crosses();
}

TEST_F(Ikev2ExchangeTest, AesCbcHmacSha256ChildSaCarriesTraffic) {
  a.child.proposals = {ChildProposal{Cipher::AesCbc128, Integrity::HmacSha256_128}};
  b.init.proposals = {IkeProposal{EncryptionId::AesGcm16, 256, IntegrityId::None, PrfId::HmacSha2_384, IkeGroupDescription::Ecp256}};
  a.init.proposals = {IkeProposal{}, b.init.proposals.front()};
  run_ike_sa_init();   // A's KE is MODP-2048; B wants ECP-256: INVALID_KE_PAYLOAD, then again
  ASSERT_TRUE(sa_a && sa_b) << a_failure << b_refusal;
  EXPECT_EQ(sa_a->proposal, b.init.proposals.front());
  run_ike_auth();
  ASSERT_TRUE(child_a) << a_failure;
  EXPECT_EQ(child_a->inbound.params.integrity_key.size(), 32u);
  expect_traffic_crosses();
}

TEST_F(Ikev2ExchangeTest, WrongPresharedKeyFailsAuthentication) {
  b.auth.preshared_key = psk("correct horse battery stapler");
  run_ike_sa_init();
  run_ike_auth();
  EXPECT_FALSE(b_authenticated);
  EXPECT_NE(b_refusal.find("does not verify"), std::string::npos) << b_refusal;
  EXPECT_FALSE(child_a);
  EXPECT_NE(a_failure.find("AUTHENTICATION_FAILED"), std::string::npos) << a_failure;
}

TEST_F(Ikev2ExchangeTest, NoCommonIkeProposal) {
  b.init.proposals = {IkeProposal{EncryptionId::AesCbc, 256, IntegrityId::HmacSha2_256_128, PrfId::HmacSha2_256, IkeGroupDescription::Modp2048}};
  run_ike_sa_init();
  EXPECT_FALSE(sa_a);
  EXPECT_NE(b_refusal.find("none of the peer's 1 IKE proposals"), std::string::npos) << b_refusal;
  EXPECT_NE(a_failure.find("NO_PROPOSAL_CHOSEN"), std::string::npos) << a_failure;
}

TEST_F(Ikev2ExchangeTest, ResponderNarrowsASubnetToItsHostFilter) {
  a.child.local = TrafficSelector::of(*IpPrefix::parse("10.20.1.0/24"));
  a.child.remote = TrafficSelector::of(*IpPrefix::parse("10.20.2.0/24"));
  run_ike_sa_init();
  run_ike_auth();
  ASSERT_TRUE(child_a) << a_failure;
  EXPECT_EQ(child_a->local, TrafficSelector::of(IpPrefix::host(kHostA)));
  EXPECT_EQ(child_a->remote, TrafficSelector::of(IpPrefix::host(kHostB)));
}

TEST_F(Ikev2ExchangeTest, SelectorsOutsideTheFilterAreUnacceptable) {
  a.child.remote = TrafficSelector::of(*IpPrefix::parse("10.99.0.1"));
  run_ike_sa_init();
  run_ike_auth();
  EXPECT_TRUE(b_authenticated);
  EXPECT_FALSE(child_b);
  EXPECT_NE(a_failure.find("TS_UNACCEPTABLE"), std::string::npos) << a_failure;
}

TEST_F(Ikev2ExchangeTest, TunnelModeWhereTheResponderWantsTransportIsRefused) {
  a.child.mode = Mode::Tunnel;
  run_ike_sa_init();
  run_ike_auth();
  EXPECT_FALSE(child_b);
  EXPECT_NE(b_refusal.find("tunnel mode"), std::string::npos) << b_refusal;
  EXPECT_NE(a_failure.find("NO_PROPOSAL_CHOSEN"), std::string::npos) << a_failure;
}

// A NAT rewrites A's source: B sees 192.0.2.7:4500 where A thinks it is 10.20.1.10:500.
TEST_F(Ikev2ExchangeTest, NatBetweenThePeersIsDetectedOnBothSides) {
  b.init.remote = {*IpAddress::parse("192.0.2.7"), 4500};
  run_ike_sa_init();
  ASSERT_TRUE(sa_a && sa_b);
  EXPECT_TRUE(sa_a->local_behind_nat);
  EXPECT_FALSE(sa_a->peer_behind_nat);
  EXPECT_TRUE(sa_b->peer_behind_nat);
  EXPECT_FALSE(sa_b->local_behind_nat);
}

// `[ike] udp_encapsulation = force` (charon's `encap = yes`): without a NAT, the end that pretends
// one makes both ends see it (its NAT_DETECTION_SOURCE_IP matches no address), so both move to
// 4500 and encapsulate ESP; as initiator and as responder.
TEST_F(Ikev2ExchangeTest, PretendingANatMakesBothEndsSeeOne) {
  for (const bool initiator_pretends : {true, false}) {
    SCOPED_TRACE(initiator_pretends ? "the initiator pretends" : "the responder pretends");
    a.init.pretend_nat = initiator_pretends;
    b.init.pretend_nat = !initiator_pretends;
    sa_a.reset();
    sa_b.reset();
    run_ike_sa_init();
    ASSERT_TRUE(sa_a && sa_b);
    EXPECT_TRUE(sa_a->nat_detected());
    EXPECT_TRUE(sa_b->nat_detected());
    EXPECT_EQ(sa_a->local_behind_nat, initiator_pretends);
    EXPECT_EQ(sa_b->peer_behind_nat, initiator_pretends);
    EXPECT_EQ(sa_b->local_behind_nat, !initiator_pretends);
    EXPECT_EQ(sa_a->peer_behind_nat, !initiator_pretends);
  }
}

// RFC 7383 2.3: fragmentation is used only when both ends announced IKEV2_FRAGMENTATION_SUPPORTED
// in IKE_SA_INIT; the responder announces it only to an initiator that did.
TEST_F(Ikev2ExchangeTest, FragmentationIsAgreedOnlyWhenBothAnnounceIt) {
  for (const auto& [initiator_wants, responder_wants] : {std::pair{true, true}, {true, false}, {false, true}, {false, false}}) {
    SCOPED_TRACE(std::string("initiator ") + (initiator_wants ? "announces" : "does not") + ", responder " +
                 (responder_wants ? "announces" : "does not"));
    a.init.fragmentation = initiator_wants;
    b.init.fragmentation = responder_wants;
    sa_a.reset();
    sa_b.reset();
    run_ike_sa_init();
    ASSERT_TRUE(sa_a && sa_b);
    const bool both = initiator_wants && responder_wants;
    EXPECT_EQ(sa_a->fragmentation, both);
    EXPECT_EQ(sa_b->fragmentation, both);
    auto request = parse_message(sa_a->init_request);
    auto response = parse_message(sa_a->init_response);
    ASSERT_TRUE(request && response);
    EXPECT_EQ(request->find_notify(NotifyType::Ikev2FragmentationSupported) != nullptr, initiator_wants);
    EXPECT_EQ(response->find_notify(NotifyType::Ikev2FragmentationSupported) != nullptr, both);
  }
}

// A responder under load answers with a COOKIE (RFC 7296 2.6): the initiator sends the same
// request again with the cookie as its first payload, and the exchange goes on.
TEST_F(Ikev2ExchangeTest, InitiatorRepeatsItsRequestWithTheRespondersCookie) {
  auto initiator = IkeSaInitInitiator::create(a.init);
  ASSERT_TRUE(initiator);
  const Bytes first = initiator->request();
  auto request = parse_message(first);
  ASSERT_TRUE(request);
  Header h = request->header;
  h.flags = 0;
  h.set(HeaderFlag::Response);
  const Bytes cookie(24, std::byte{0xc0});
  std::vector<Payload> asks{NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::Cookie), cookie}};
  auto consumed = initiator->consume_response(*encode_message(h, asks));
  ASSERT_TRUE(consumed) << consumed.error();
  EXPECT_FALSE(*consumed);   // send again
  auto again = parse_message(initiator->request());
  ASSERT_TRUE(again);
  ASSERT_FALSE(again->payloads.empty());
  const auto* echoed = std::get_if<NotifyPayload>(&again->payloads.front());
  ASSERT_NE(echoed, nullptr);
  EXPECT_TRUE(echoed->is(NotifyType::Cookie));
  EXPECT_EQ(echoed->data, cookie);
  // The rest of the request is unchanged: same SPI, proposals, KE and nonce.
  EXPECT_EQ(again->header.initiator_spi, request->header.initiator_spi);
  EXPECT_EQ(std::vector<Payload>(again->payloads.begin() + 1, again->payloads.end()), request->payloads);
  auto reply = respond_ike_sa_init(b.init, initiator->request());
  ASSERT_TRUE(reply && reply->sa);
  auto done = initiator->consume_response(reply->reply);
  ASSERT_TRUE(done) << done.error();
  EXPECT_TRUE(*done);
}

// INVALID_KE_PAYLOAD naming a group the initiator never offered ends the exchange.
TEST_F(Ikev2ExchangeTest, InvalidKeForAGroupNotOfferedFails) {
  auto initiator = IkeSaInitInitiator::create(a.init);
  ASSERT_TRUE(initiator);
  Header h = parse_message(initiator->request())->header;
  h.flags = 0;
  h.set(HeaderFlag::Response);
  std::vector<Payload> asks{NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::InvalidKePayload), Bytes{std::byte{0}, std::byte{20}}}};
  auto consumed = initiator->consume_response(*encode_message(h, asks));
  ASSERT_FALSE(consumed);
  EXPECT_NE(consumed.error().find("group 20, which Ward did not offer"), std::string::npos) << consumed.error();
}

// After IKE_AUTH: A checks liveness (its message 2), B deletes the CHILD_SA (B's first request,
// message 0) and A answers with its own SPI of the pair, then A deletes the IKE SA (message 3).
TEST_F(Ikev2ExchangeTest, InformationalLivenessAndDeletes) {
  run_ike_sa_init();
  run_ike_auth();
  ASSERT_TRUE(child_a && child_b);
  auto ping = liveness_request(*sa_a, 2);
  ASSERT_TRUE(ping);
  auto pong = answer_informational(*sa_b, *ping, {});
  ASSERT_TRUE(pong) << pong.error();
  EXPECT_EQ(pong->message_id, 2u);
  EXPECT_FALSE(pong->delete_ike_sa);
  auto empty = consume_informational_response(*sa_a, 2, pong->reply);
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(consume_informational_response(*sa_a, 3, pong->reply));   // not the answer to 3

  auto del = delete_child_sa_request(*sa_b, 0, {child_b->inbound_spi});
  ASSERT_TRUE(del);
  auto answered = answer_informational(*sa_a, *del, {{child_a->outbound_spi, child_a->inbound_spi}});
  ASSERT_TRUE(answered) << answered.error();
  EXPECT_EQ(answered->deleted_outbound_spis, std::vector<std::uint32_t>{child_a->outbound_spi});
  auto named = consume_informational_response(*sa_b, 0, answered->reply);
  ASSERT_TRUE(named) << named.error();
  ASSERT_EQ(named->size(), 1u);
  const auto& d = std::get<DeletePayload>(named->front());
  ASSERT_EQ(d.spis.size(), 1u);
  EXPECT_EQ(d.spis[0], (Bytes{std::byte{0}, std::byte{1}, std::byte{0}, std::byte{0x0a}}));   // A's inbound 0x1000a

  auto bye = delete_ike_sa_request(*sa_a, 3);
  ASSERT_TRUE(bye);
  auto gone = answer_informational(*sa_b, *bye, {});
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->delete_ike_sa);
  // A's own message turned back at it is refused: the I flag names A, not its peer.
  EXPECT_FALSE(answer_informational(*sa_a, *bye, {}));
}

TEST_F(Ikev2ExchangeTest, TamperedIkeAuthIsDroppedUnanswered) {
  run_ike_sa_init();
  ASSERT_TRUE(sa_a && sa_b);
  IkeAuthInitiator initiator(*sa_a, a.auth, a.child, 0x1000a);
  auto request = initiator.build_request();
  ASSERT_TRUE(request);
  (*request)[request->size() - 20] ^= std::byte{1};
  auto reply = respond_ike_auth(*sa_b, b.auth, b.child, 0x2000b, *request);
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().find("ICV does not verify"), std::string::npos) << reply.error();
}

}  // namespace
}  // namespace ward::ike::v2
