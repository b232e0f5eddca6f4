// Main mode and quick mode end to end in one process (exchange_fixture.h): each step commented
// with the exchange diagram and the state asserted after it; a packet protected by one
// SimDataplane is accepted by the other.
#include "ike/tests/exchange_fixture.h"

namespace ward::ike::sa {
namespace {

using namespace testing_fixture;

TEST_F(IkeExchangeTest, MainModeCompletesForEachGroupAndPhase1Cipher) {
  const Phase1Proposal cases[] = {
      {IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, 28800s},
      {IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s},
      {IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_384, IkeGroupDescription::Ecp384, 28800s},
      {IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp2048, 28800s},
      {IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha, IkeGroupDescription::Ecp256, 28800s},  // SKEYID_e expanded
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.key_bits) + "/" + std::string(crypto::hash_name(c.hash)) + "/group " +
                 std::to_string(static_cast<unsigned>(c.group)));
    proposals = {c};
    run_main_mode();
    if (HasFatalFailure()) return;
    EXPECT_EQ(initiator->chosen().group, c.group);
    EXPECT_TRUE(crypto::equal_constant_time(initiator->keys().skeyid_d.reveal(), responder->keys().skeyid_d.reveal()));
  }
}

TEST_F(IkeExchangeTest, ResponderPicksTheFirstOfTheInitiatorsProposalsItAccepts) {
  proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_384, IkeGroupDescription::Ecp384, 3600s},
               {IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp2048, 3600s}};
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value());
  auto responder_config = phase1_config(kHostB, kHostA, log_b);
  responder_config.proposals = {proposals[1]};   // the responder accepts only the second
  std::vector<std::byte> m2;
  auto r = Phase1Sa::respond(responder_config, psk_b, clock(), *m1, m2);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ((*r)->chosen().group, IkeGroupDescription::Modp2048);
  initiator->handle(m2);
  EXPECT_EQ(initiator->chosen().hash, IkeHashAlgorithm::Sha);

  responder_config.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 3600s}};
  std::vector<std::byte> none;
  auto refused = Phase1Sa::respond(responder_config, psk_b, clock(), *m1, none);
  ASSERT_FALSE(refused.has_value());
  // The state machine decides what the peer is told: NO-PROPOSAL-CHOSEN, and the log says so first.
  EXPECT_EQ(refused.error().notify, NotifyMessageType::NoProposalChosen) << refused.error();
  EXPECT_TRUE(refused.error().text.starts_with("NO-PROPOSAL-CHOSEN: none of the peer's phase 1 transforms")) << refused.error();
  EXPECT_TRUE(none.empty());
}

// What the peer is told is decided where the exchange fails (ike/message/ike_error.h), not read
// back from the words: a quick mode whose IDs are not our filter's is refused
// INVALID-ID-INFORMATION, one with no acceptable security method NO-PROPOSAL-CHOSEN, and a
// message that is not a quick mode of this phase 1 SA gets nothing.
TEST_F(IkeExchangeTest, QuickModeRefusalsCarryTheNotifyTheStateMachineChose) {
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  qm_initiator = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
  auto q1 = qm_initiator->build_quick_mode_1();
  ASSERT_TRUE(q1.has_value()) << q1.error();

  std::vector<std::byte> q2;
  auto other_ids = quick_config(kHostB, kHostA);
  other_ids.remote = sa::TrafficSelector{IpPrefix::host(*IpAddress::parse("10.20.3.40"))};
  auto refused = QuickModeExchange::respond(*responder, other_ids, sim_b, clock(), *q1, q2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().notify, NotifyMessageType::InvalidIdInformation) << refused.error();
  EXPECT_EQ(refused.error().text, "INVALID-ID-INFORMATION: the peer's traffic selectors do not mirror our filter");

  auto other_methods = quick_config(kHostB, kHostA);
  other_methods.proposals = {EspProposal{Cipher::AesCbc128, Integrity::HmacSha1_96}};   // A offers AES-GCM only
  refused = QuickModeExchange::respond(*responder, other_methods, sim_b, clock(), *q1, q2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().notify, NotifyMessageType::NoProposalChosen) << refused.error();
  EXPECT_TRUE(refused.error().text.starts_with("NO-PROPOSAL-CHOSEN: none of the peer's security methods")) << refused.error();

  auto garbled = *q1;
  garbled.resize(garbled.size() - 5);
  refused = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), garbled, q2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().notify, std::nullopt) << refused.error();
  EXPECT_TRUE(refused.error().text.starts_with("quick mode 1 dropped: ")) << refused.error();
  EXPECT_TRUE(sim_b.counters().sas.empty());
}

// A main mode 1 that does not parse is dropped in silence; its words name what was wrong.
TEST_F(IkeExchangeTest, AMalformedMainMode1IsRefusedWithoutANotify) {
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value());
  m1->resize(m1->size() - 3);
  std::vector<std::byte> m2;
  auto refused = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), *m1, m2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().notify, std::nullopt) << refused.error();
  EXPECT_TRUE(refused.error().text.starts_with("main mode 1 dropped: ")) << refused.error();
  EXPECT_TRUE(m2.empty());
}

TEST_F(IkeExchangeTest, QuickModeGcmWithoutPfsInstallsMatchingSasAndTrafficFlows) {
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();
}

TEST_F(IkeExchangeTest, QuickModeCbcWithPfsInstallsMatchingSasAndTrafficFlows) {
  proposals = {{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp2048, 28800s}};
  esp = {EspProposal{Cipher::AesCbc256, Integrity::HmacSha256_128}, EspProposal{Cipher::AesCbc128, Integrity::HmacSha1_96}};
  pfs = IkeGroupDescription::Ecp384;
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(qm_initiator->chosen().esp->cipher, Cipher::AesCbc256);
  expect_traffic_flows();
}

TEST_F(IkeExchangeTest, QuickModeGcm128WithPfsAndNullEspAlsoWork) {
  for (const auto& method : {EspProposal{Cipher::AesGcm128, Integrity::None}, EspProposal{Cipher::Null, Integrity::HmacSha256_128}}) {
    SCOPED_TRACE(std::string(driver::crypto::name_of(method.cipher)));
    esp = {method};
    pfs = IkeGroupDescription::Modp2048;
    run_main_mode();
    ASSERT_FALSE(HasFatalFailure());
    run_quick_mode();
    ASSERT_FALSE(HasFatalFailure());
    expect_traffic_flows();
    // Clear both dataplanes for the next method.
    using driver::crypto::Direction;
    ASSERT_TRUE(sim_a.delete_sa(qm_initiator->inbound_spi(), Direction::Inbound).has_value());
    ASSERT_TRUE(sim_a.delete_sa(qm_initiator->outbound_spi(), Direction::Outbound).has_value());
    ASSERT_TRUE(sim_b.delete_sa(qm_responder->inbound_spi(), Direction::Inbound).has_value());
    ASSERT_TRUE(sim_b.delete_sa(qm_responder->outbound_spi(), Direction::Outbound).has_value());
  }
}

TEST_F(IkeExchangeTest, WrongPresharedKeyFailsBothSidesAndInstallsNothing) {
  auth::PresharedKeyProvider wrong(auth::preshared_key_from_text("not the same key"));
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  std::vector<std::byte> m2;
  auto r = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), wrong, clock(), *m1, m2);
  ASSERT_TRUE(r.has_value());
  responder = std::move(*r);
  const auto m3 = initiator->handle(m2);
  const auto m4 = responder->handle(m3);
  //   HDR*, IDii, HASH_I  -->   encrypted under a key derived from the other PSK
  const auto m5 = initiator->handle(m4);
  ASSERT_FALSE(m5.empty());
  EXPECT_TRUE(responder->handle(m5).empty());
  EXPECT_EQ(responder->state(), State::Failed);
  EXPECT_NE(responder->failure().text.find("preshared key"), std::string::npos) << responder->failure();
  // Main mode 5 did not decrypt: the keys differ, the initiator is told AUTHENTICATION-FAILED
  // (unprotected; the words stay those of the decryption).
  EXPECT_EQ(responder->failure().notify, NotifyMessageType::AuthenticationFailed);
  EXPECT_FALSE(responder->failure().text.starts_with("AUTHENTICATION-FAILED")) << responder->failure();
  EXPECT_TRUE(contains(log_b, "preshared key"));
  // The initiator hears nothing: it resends message 5 with back-off, then gives up.
  now += 1s;
  EXPECT_EQ(initiator->on_timer(), m5);
  now += 2s;
  EXPECT_EQ(initiator->on_timer(), m5);
  now += 4s;
  EXPECT_TRUE(initiator->on_timer().empty());
  EXPECT_EQ(initiator->state(), State::Failed);
  EXPECT_NE(initiator->failure().text.find("no answer after 3 sends"), std::string::npos) << initiator->failure();
  EXPECT_EQ(initiator->failure().notify, std::nullopt);   // nobody to tell
  EXPECT_TRUE(sim_a.counters().sas.empty());
  EXPECT_TRUE(sim_b.counters().sas.empty());
}

TEST_F(IkeExchangeTest, PresharedKeyProviderNamesAHashMismatch) {
  // With the same SKEYID_e but another PSK's SKEYID (what a HASH check alone sees).
  run_main_mode();
  ASSERT_FALSE(HasFatalFailure());
  auth::PresharedKeyProvider wrong(auth::preshared_key_from_text("not the same key"));
  const auto other_skeyid = wrong.skeyid(IkeHashAlgorithm::Sha2_256, std::vector<std::byte>(32), std::vector<std::byte>(32), {});
  const std::vector<std::byte> g(64), cky(8), sa(40), id(8);
  auth::MainModeTranscript mine{IkeHashAlgorithm::Sha2_256, &initiator->keys().skeyid, g, g, cky, cky, sa};
  auth::MainModeTranscript theirs{IkeHashAlgorithm::Sha2_256, &other_skeyid, g, g, cky, cky, sa};
  auto built = wrong.build_authentication(auth::Role::Responder, theirs, id);
  ASSERT_TRUE(built.has_value());
  ParsedMessage message;
  message.payloads = *built;
  auto checked = psk_a.check_authentication(auth::Role::Responder, mine, id, message);
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error(), (IkeError{NotifyMessageType::AuthenticationFailed, "HASH_R mismatch: the peer's preshared key differs"}));
  auto own = psk_a.build_authentication(auth::Role::Responder, mine, id);
  message.payloads = *own;
  EXPECT_TRUE(psk_a.check_authentication(auth::Role::Responder, mine, id, message).has_value());
}

TEST_F(IkeExchangeTest, LostMessageIsResentAfterTheBackOff) {
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  // HDR, SA  --> lost.
  EXPECT_TRUE(initiator->on_timer().empty()) << "not due yet";
  now += 999ms;
  EXPECT_TRUE(initiator->on_timer().empty());
  now += 1ms;
  const auto again = initiator->on_timer();
  EXPECT_EQ(again, *m1) << "resent after 1 s";
  ASSERT_TRUE(initiator->due().has_value());
  EXPECT_EQ(*initiator->due(), now + 2s) << "the next wait doubles";
  std::vector<std::byte> m2;
  auto r = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), again, m2);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(initiator->handle(m2).empty());
  EXPECT_EQ(initiator->state(), State::MainMode3Sent);
}

TEST_F(IkeExchangeTest, DuplicatesAreAnsweredFromTheStoredResponse) {
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  std::vector<std::byte> m2;
  responder = take(Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), *m1, m2));
  const auto m3 = initiator->handle(m2);
  const auto m4 = responder->handle(m3);
  //   HDR, KE, Ni  -->  again (the initiator did not hear message 4)
  const auto m4_again = responder->handle(m3);
  EXPECT_EQ(m4_again, m4) << "same bytes: no new nonce, no new DH";
  EXPECT_EQ(responder->duplicates(), 1u);
  EXPECT_EQ(responder->state(), State::MainMode4Sent);
  const auto m1_again = responder->handle(*m1);
  EXPECT_TRUE(m1_again.empty()) << "an older message is dropped";
  EXPECT_EQ(responder->dropped(), 1u);

  // Finish; then a duplicate quick mode 1 gets the stored message 2.
  const auto m5 = initiator->handle(m4);
  initiator->handle(responder->handle(m5));
  ASSERT_TRUE(initiator->established());
  qm_initiator = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
  auto q1 = qm_initiator->build_quick_mode_1();
  std::vector<std::byte> q2;
  qm_responder = take(QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2));
  EXPECT_EQ(qm_responder->handle(*q1), q2);
  EXPECT_EQ(qm_responder->duplicates(), 1u);
  const auto q3 = qm_initiator->handle(q2);
  EXPECT_EQ(qm_initiator->handle(q2), q3) << "a resent message 2 means HASH(3) was lost";
  EXPECT_TRUE(qm_responder->handle(q3).empty());
  EXPECT_EQ(qm_responder->state(), QmState::QuickMode3Received);
  EXPECT_EQ(sim_b.counters().sas.size(), 2u);
}

TEST_F(IkeExchangeTest, MalformedFirstMessagesLeaveNoResponderState) {
  std::vector<std::byte> reply;
  const std::vector<std::byte> junk(40, std::byte{0x11});
  EXPECT_FALSE(Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), junk, reply).has_value());
  EXPECT_TRUE(reply.empty());
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), psk_a, clock());
  auto m1 = initiator->build_main_mode_1();
  auto truncated = *m1;
  truncated.resize(truncated.size() - 3);
  EXPECT_FALSE(Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), truncated, reply).has_value());
  // A garbled message to an existing SA is dropped and counted, the state stays.
  std::vector<std::byte> m2;
  responder = take(Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), psk_b, clock(), *m1, m2));
  auto m3 = initiator->handle(m2);
  m3[m3.size() - 1] = std::byte{0xff};
  m3.push_back(std::byte{0});
  EXPECT_TRUE(responder->handle(m3).empty());
  EXPECT_EQ(responder->dropped(), 1u);
  EXPECT_EQ(responder->state(), State::MainMode2Sent);
}

TEST(IkeQuickModeIds, SubnetsBecomeAddrSubnetIdsWithProtocolAndPort) {
  const auto id = identification_of(TrafficSelector{*IpPrefix::parse("10.20.0.0/16"), 6, 445});
  EXPECT_EQ(id.type, IdType::Ipv4AddrSubnet);
  EXPECT_EQ(id.protocol, 6);
  EXPECT_EQ(id.port, 445);
  const std::vector<std::byte> want{std::byte{10}, std::byte{20}, std::byte{0}, std::byte{0},
                                    std::byte{255}, std::byte{255}, std::byte{0}, std::byte{0}};
  EXPECT_EQ(id.data, want);
  EXPECT_EQ(identification_of(TrafficSelector{IpPrefix::host(kHostA)}).type, IdType::Ipv4Addr);
}

}  // namespace
}  // namespace ward::ike::sa
