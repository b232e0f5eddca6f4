// The Ikev2Sa state machine's CREATE_CHILD_SA and fragments, two SAs in memory as in
// ikev2_sa_test.cpp (ikev2_sa_test_support.h): CHILD_SA rekeys from either side, with and without
// PFS, further CHILD_SAs either side asks for, simultaneous rekeys, IKE SA rekeys, and RFC 7383
// fragments of IKE_AUTH and the rekeys.
#include "ike/service/ikev2_sa.h"

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "ike/service/ikev2_sa_test_support.h"
#include "ike/v2/create_child_sa.h"
#include "ike/v2/fragments.h"

namespace ward::ike::service {
namespace {

using namespace std::chrono_literals;
using namespace ikev2_sa_testing;


bool same_keys(const driver::SaInstall& out, const driver::SaInstall& in) {
  return out.params.spi == in.params.spi && std::ranges::equal(out.params.encryption_key.reveal(), in.params.encryption_key.reveal()) &&
         std::ranges::equal(out.params.integrity_key.reveal(), in.params.integrity_key.reveal());
}

using SpiPairs = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

SpiPairs mirrored(SpiPairs spis) {
  for (auto& [in, out] : spis) std::swap(in, out);
  return spis;
}

// `rekeying` rekeys its CHILD_SA; `other` answers. Both install the new pair at once; the old
// one goes from `rekeying` only when `other` answered its DELETE, from `other` with that DELETE.
void rekey_and_check(Ikev2Sa& rekeying, Ikev2Sa& other, std::uint32_t old_inbound, std::uint32_t old_outbound, sa::TimePoint t) {
  const auto request = rekeying.transition(Ikev2Sa::RekeyChild{old_inbound}, t);
  ASSERT_EQ(request.send.size(), 1U);
  EXPECT_TRUE(request.rekeyed.empty());
  const auto answer = other.transition(Ikev2Sa::Received{request.send[0]}, t);
  ASSERT_EQ(answer.send.size(), 1U);
  ASSERT_EQ(answer.rekeyed.size(), 1U) << "the responder installs the new pair with its answer";
  EXPECT_EQ(answer.rekeyed[0].replaces, old_outbound);
  EXPECT_TRUE(answer.peer_deleted_outbound_spis.empty()) << "the old pair stays until the requester's DELETE";

  const auto done = rekeying.transition(Ikev2Sa::Received{answer.send[0]}, t);
  ASSERT_EQ(done.rekeyed.size(), 1U) << (done.rekey_failed.empty() ? "" : done.rekey_failed[0].second);
  EXPECT_EQ(done.rekeyed[0].replaces, old_inbound);
  const auto& mine = done.rekeyed[0].child;
  const auto& theirs = answer.rekeyed[0].child;
  EXPECT_EQ(mine.inbound_spi, theirs.outbound_spi);
  EXPECT_EQ(mine.outbound_spi, theirs.inbound_spi);
  EXPECT_NE(mine.inbound_spi, old_inbound);
  EXPECT_EQ(mine.pfs, theirs.pfs);
  EXPECT_TRUE(same_keys(mine.outbound, theirs.inbound));
  EXPECT_TRUE(same_keys(theirs.outbound, mine.inbound));
  EXPECT_TRUE(done.retired_inbound_spis.empty()) << "not before the peer answered the DELETE";
  ASSERT_EQ(done.send.size(), 1U) << "the DELETE of the old pair follows the rekey";

  const auto deleted = other.transition(Ikev2Sa::Received{done.send[0]}, t);
  EXPECT_EQ(deleted.peer_deleted_outbound_spis, std::vector<std::uint32_t>{old_inbound});   // its outbound = our inbound
  ASSERT_EQ(deleted.send.size(), 1U);
  const auto retired = rekeying.transition(Ikev2Sa::Received{deleted.send[0]}, t);
  EXPECT_EQ(retired.retired_inbound_spis, std::vector<std::uint32_t>{old_inbound});
  EXPECT_EQ(rekeying.child_spis(), (SpiPairs{{mine.inbound_spi, mine.outbound_spi}}));
  EXPECT_EQ(other.child_spis(), mirrored(rekeying.child_spis()));
}

TEST(Ikev2Sa, TheOriginalInitiatorRekeysItsChildSaAndTheOldPairGoesAfterTheDelete) {
  g_pfs.reset();
  Established p;
  rekey_and_check(*p.initiator, *p.responder, p.a_child.inbound_spi, p.a_child.outbound_spi, p.t);
}

TEST(Ikev2Sa, TheOriginalResponderRekeysWithPfsAndKeysMatchOnBothSides) {
  g_pfs = IkeGroupDescription::Ecp256;
  Established p;
  g_pfs.reset();
  ASSERT_FALSE(p.b_child.pfs.has_value()) << "no PFS in IKE_AUTH";
  // The responder's requests carry its own message IDs from 0 (2.2); then a second rekey of the
  // successor, now by the initiator.
  rekey_and_check(*p.responder, *p.initiator, p.b_child.inbound_spi, p.b_child.outbound_spi, p.t);
  const auto [a_in, a_out] = p.initiator->child_spis().front();
  rekey_and_check(*p.initiator, *p.responder, a_in, a_out, p.t);
}

TEST(Ikev2Sa, ARekeyOfAPairTheResponderAlreadyDeletedIsAnsweredChildSaNotFound) {
  g_pfs.reset();
  Established p;
  (void)p.responder->transition(Ikev2Sa::DeleteChildren{{p.b_child.inbound_spi}}, p.t);
  const auto request = p.initiator->transition(Ikev2Sa::RekeyChild{p.a_child.inbound_spi}, p.t);
  ASSERT_EQ(request.send.size(), 1U);
  const auto answer = p.to_responder(request.send[0]);
  ASSERT_EQ(answer.send.size(), 1U);
  EXPECT_TRUE(answer.rekeyed.empty());
  const auto refused = p.to_initiator(answer.send[0]);
  EXPECT_TRUE(refused.rekeyed.empty());
  ASSERT_EQ(refused.rekey_failed.size(), 1U);
  EXPECT_EQ(refused.rekey_failed[0].first, p.a_child.inbound_spi);
  EXPECT_NE(refused.rekey_failed[0].second.find("CHILD_SA_NOT_FOUND"), std::string::npos) << refused.rekey_failed[0].second;
}

// The pair is deleted (a filter gone) while its rekey is under way: the successor the answer
// brings is deleted as well, and nothing is left on either side.
TEST(Ikev2Sa, ASuccessorWhosePredecessorWasDeletedMeanwhileIsDeletedToo) {
  g_pfs.reset();
  Established p;
  const auto request = p.initiator->transition(Ikev2Sa::RekeyChild{p.a_child.inbound_spi}, p.t);
  ASSERT_EQ(request.send.size(), 1U);
  EXPECT_TRUE(p.initiator->transition(Ikev2Sa::DeleteChildren{{p.a_child.inbound_spi}}, p.t).send.empty()) << "waits its turn";
  const auto answer = p.to_responder(request.send[0]);
  ASSERT_EQ(answer.rekeyed.size(), 1U);
  const auto done = p.to_initiator(answer.send[0]);
  ASSERT_EQ(done.rekeyed.size(), 1U);
  const auto new_spi = done.rekeyed[0].child.inbound_spi;
  ASSERT_EQ(done.send.size(), 1U);   // the DELETE of the old pair
  const auto first = p.to_responder(done.send[0]);
  const auto next = p.to_initiator(first.send.at(0));
  ASSERT_EQ(next.send.size(), 1U);   // the DELETE of the successor
  const auto second = p.to_responder(next.send[0]);
  const auto last = p.to_initiator(second.send.at(0));
  EXPECT_EQ(last.retired_inbound_spis, std::vector<std::uint32_t>{new_spi});
  EXPECT_TRUE(p.initiator->child_spis().empty());
  EXPECT_TRUE(p.responder->child_spis().empty());
}

// A CREATE_CHILD_SA without REKEY_SA asks for a further CHILD_SA (1.3.1): the responder agrees
// one as its policy says (child_for) and both sides hold the same keys; the first stays.
TEST(Ikev2Sa, AFurtherChildSaThePeerAsksForIsAgreedBesideTheFirst) {
  g_pfs.reset();
  Established p;
  auto config = child_config(kA, kB);
  auto further = v2::ChildRekeyInitiator::create(config, 0, 0x1234);
  ASSERT_TRUE(further.has_value()) << further.error();
  auto request = further->build_request(*p.initiator->ike_sa(), 2);   // A's next message ID
  ASSERT_TRUE(request.has_value()) << request.error();
  const auto answer = p.to_responder(*request);
  ASSERT_EQ(answer.send.size(), 1U);
  ASSERT_EQ(answer.rekeyed.size(), 1U);
  EXPECT_EQ(answer.rekeyed[0].replaces, 0U) << "nothing to replace";
  auto opened = v2::open_protected(*p.initiator->ike_sa(), answer.send[0]);
  ASSERT_TRUE(opened.has_value()) << opened.error();
  auto child = further->consume_response(*p.initiator->ike_sa(), opened->payloads);
  ASSERT_TRUE(child.has_value()) << child.error();
  EXPECT_EQ(child->inbound_spi, 0x1234U);
  EXPECT_EQ(child->outbound_spi, answer.rekeyed[0].child.inbound_spi);
  EXPECT_TRUE(same_keys(child->outbound, answer.rekeyed[0].child.inbound));
  EXPECT_TRUE(same_keys(answer.rekeyed[0].child.outbound, child->inbound));
  EXPECT_EQ(p.responder->child_spis().size(), 2U);
  EXPECT_EQ(p.responder->child_spis().front().first, p.b_child.inbound_spi);
}

// Ours (AddChild: another filter's acquire to the same peer): CREATE_CHILD_SA without REKEY_SA in
// the established IKE SA; both sides hold the new pair beside the first, with the same keys.
TEST(Ikev2Sa, AFurtherChildSaOfOursIsAgreedBesideTheFirst) {
  g_pfs.reset();
  Established p;
  auto config = child_config(kA, kB);
  config.filter_id = 7;
  config.local = v2::TrafficSelector::of(IpPrefix::host(kA), 17);
  const auto request = p.initiator->transition(Ikev2Sa::AddChild{config}, p.t);
  ASSERT_EQ(request.send.size(), 1U);
  const auto answer = p.to_responder(request.send[0]);
  ASSERT_EQ(answer.rekeyed.size(), 1U);
  EXPECT_EQ(answer.rekeyed[0].replaces, 0U);
  const auto done = p.to_initiator(answer.send.at(0));
  ASSERT_EQ(done.rekeyed.size(), 1U) << (done.add_child_failed.empty() ? "" : done.add_child_failed[0].second);
  EXPECT_TRUE(done.send.empty()) << "nothing to delete";
  const auto& mine = done.rekeyed[0].child;
  const auto& theirs = answer.rekeyed[0].child;
  EXPECT_EQ(done.rekeyed[0].replaces, 0U);
  EXPECT_EQ(mine.inbound.filter_id, 7U);
  EXPECT_EQ(mine.local.ip_protocol, 17U) << "the selectors as proposed: " << mine.local.to_string();
  EXPECT_EQ(mine.inbound_spi, theirs.outbound_spi);
  EXPECT_EQ(mine.outbound_spi, theirs.inbound_spi);
  EXPECT_TRUE(same_keys(mine.outbound, theirs.inbound));
  EXPECT_TRUE(same_keys(theirs.outbound, mine.inbound));
  EXPECT_EQ(p.initiator->child_spis(), (SpiPairs{{p.a_child.inbound_spi, p.a_child.outbound_spi}, {mine.inbound_spi, mine.outbound_spi}}));
  EXPECT_EQ(p.responder->child_spis(), mirrored(p.initiator->child_spis()));
}

// The peer refuses our further CHILD_SA (here: none of our ESP proposals is its): the filter is
// named in add_child_failed with the peer's notify, and the first CHILD_SA stays.
TEST(Ikev2Sa, AFurtherChildSaThePeerRefusesIsReportedWithItsFilterAndTheNotify) {
  g_pfs.reset();
  Established p;
  auto config = child_config(kA, kB);
  config.filter_id = 9;
  config.proposals = {v2::ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}};
  const auto request = p.initiator->transition(Ikev2Sa::AddChild{config}, p.t);
  ASSERT_EQ(request.send.size(), 1U);
  const auto answer = p.to_responder(request.send[0]);
  EXPECT_TRUE(answer.rekeyed.empty());
  const auto refused = p.to_initiator(answer.send.at(0));
  EXPECT_TRUE(refused.rekeyed.empty());
  ASSERT_EQ(refused.add_child_failed.size(), 1U);
  EXPECT_EQ(refused.add_child_failed[0].first, 9U);
  EXPECT_NE(refused.add_child_failed[0].second.find("NO_PROPOSAL_CHOSEN"), std::string::npos) << refused.add_child_failed[0].second;
  EXPECT_EQ(p.initiator->child_spis().size(), 1U);
  EXPECT_EQ(p.initiator->state(), Ikev2Sa::State::Established);
}

// Both ends rekey the same CHILD_SA at once (their requests cross): each answers the other's, so
// two successors exist; the exchange holding the lowest nonce made the redundant one and its
// requester deletes it, the other requester deletes the old pair (2.8.1). Run a few times: the
// nonces are random, so either side may win; both must end with the same single pair.
TEST(Ikev2Sa, ASimultaneousRekeyEndsWithTheSuccessorOfTheExchangeWithoutTheLowestNonce) {
  g_pfs.reset();
  int a_lost_runs = 0;
  for (int run = 0; run < 8; ++run) {
    Established p;
    const auto a_request = p.initiator->transition(Ikev2Sa::RekeyChild{p.a_child.inbound_spi}, p.t);
    const auto b_request = p.responder->transition(Ikev2Sa::RekeyChild{p.b_child.inbound_spi}, p.t);
    ASSERT_EQ(a_request.send.size(), 1U);
    ASSERT_EQ(b_request.send.size(), 1U);
    const auto answers = p.cross(a_request.send[0], b_request.send[0]);   // each answers the other's request
    ASSERT_EQ(answers.a.rekeyed.size(), 1U);
    ASSERT_EQ(answers.b.rekeyed.size(), 1U);
    const auto done = p.cross(answers.a.send[0], answers.b.send[0]);   // both exchanges complete
    ASSERT_EQ(done.a.rekeyed.size(), 1U);
    ASSERT_EQ(done.b.rekeyed.size(), 1U);
    ASSERT_EQ(done.a.send.size(), 1U);   // each deletes one pair
    ASSERT_EQ(done.b.send.size(), 1U);

    const auto deleted = p.cross(done.a.send[0], done.b.send[0]);
    ASSERT_EQ(deleted.a.send.size(), 1U);
    ASSERT_EQ(deleted.b.send.size(), 1U);
    const auto retired = p.cross(deleted.a.send[0], deleted.b.send[0]);
    ASSERT_EQ(retired.a.retired_inbound_spis.size(), 1U);
    ASSERT_EQ(retired.b.retired_inbound_spis.size(), 1U);
    const auto& a_new = done.a.rekeyed[0].child;   // A's exchange's successor, A's side
    const auto& b_new = done.b.rekeyed[0].child;   // B's exchange's successor, B's side
    if (retired.a.retired_inbound_spis[0] == a_new.inbound_spi) {
      // A's exchange made the redundant SA: A deleted it, B deleted the old pair.
      ++a_lost_runs;
      EXPECT_EQ(retired.b.retired_inbound_spis[0], p.b_child.inbound_spi);
      EXPECT_EQ(p.responder->child_spis(), (SpiPairs{{b_new.inbound_spi, b_new.outbound_spi}}));
    } else {
      EXPECT_EQ(retired.a.retired_inbound_spis[0], p.a_child.inbound_spi);
      EXPECT_EQ(retired.b.retired_inbound_spis[0], b_new.inbound_spi);
      EXPECT_EQ(p.initiator->child_spis(), (SpiPairs{{a_new.inbound_spi, a_new.outbound_spi}}));
    }
    EXPECT_EQ(p.responder->child_spis(), mirrored(p.initiator->child_spis())) << "run " << run;
    EXPECT_EQ(p.initiator->child_spis().size(), 1U) << "run " << run;
  }
  std::printf("simultaneous rekeys: the initiator's exchange held the lowest nonce in %d of 8 runs\n", a_lost_runs);
}

// `rekeying` rekeys the IKE SA; `other` answers and moves to it at once; `rekeying` moves with the
// answer and deletes the old IKE SA under its old keys. Both end under the same new SPIs with their
// CHILD_SAs, nothing of the old IKE SA left.
void rekey_ike_and_check(Ikev2Sa& rekeying, Ikev2Sa& other, sa::TimePoint t) {
  const auto old_spis = rekeying.spis();
  const auto children = rekeying.child_spis();
  const auto request = rekeying.transition(Ikev2Sa::RekeyIkeSa{}, t);
  ASSERT_EQ(request.send.size(), 1U);
  const auto answer = other.transition(Ikev2Sa::Received{request.send[0]}, t);
  ASSERT_EQ(answer.send.size(), 1U);
  if (!answer.ike_rekeyed) {
    const auto refused = rekeying.transition(Ikev2Sa::Received{answer.send[0]}, t);
    FAIL() << "the IKE SA's rekey was not taken: " << refused.ike_rekey_failed.value_or("(no answer)");
  }
  EXPECT_EQ(*answer.ike_rekeyed, old_spis);
  EXPECT_NE(other.spis(), old_spis);
  const auto done = rekeying.transition(Ikev2Sa::Received{answer.send[0]}, t);
  ASSERT_TRUE(done.ike_rekeyed.has_value()) << done.ike_rekey_failed.value_or("");
  EXPECT_EQ(rekeying.spis(), other.spis());
  EXPECT_EQ(rekeying.ike_sa()->initiator, true) << "the requester is the new IKE SA's original initiator";
  EXPECT_EQ(other.ike_sa()->initiator, false);
  ASSERT_EQ(done.send.size(), 1U) << "the DELETE of the old IKE SA";
  const auto deleted = other.transition(Ikev2Sa::Received{done.send[0]}, t);
  ASSERT_EQ(deleted.send.size(), 1U);
  EXPECT_FALSE(deleted.closed) << "the old IKE SA's DELETE ends only the old one";
  const auto finished = rekeying.transition(Ikev2Sa::Received{deleted.send[0]}, t);
  EXPECT_FALSE(finished.closed);
  EXPECT_TRUE(finished.peer_answered);
  EXPECT_EQ(rekeying.child_spis(), children);
  EXPECT_EQ(other.child_spis(), mirrored(children));
  EXPECT_EQ(rekeying.state(), Ikev2Sa::State::Established);
  EXPECT_EQ(other.state(), Ikev2Sa::State::Established);
}

// The IKE SA is rekeyed by its initiator, then by its responder; after each, its CHILD_SA is
// rekeyed under the new IKE SA (the new SK_d, message IDs from 0) with matching keys.
TEST(Ikev2Sa, TheIkeSaIsRekeyedByEitherSideAndItsChildSaCarriesOnUnderTheNewKeys) {
  g_pfs.reset();
  Established p;
  const auto first_spis = p.initiator->spis();
  rekey_ike_and_check(*p.initiator, *p.responder, p.t);
  auto [a_in, a_out] = p.initiator->child_spis().front();
  rekey_and_check(*p.initiator, *p.responder, a_in, a_out, p.t);
  rekey_ike_and_check(*p.responder, *p.initiator, p.t);
  EXPECT_NE(p.initiator->spis(), first_spis);
  const auto [b_in, b_out] = p.responder->child_spis().front();
  rekey_and_check(*p.responder, *p.initiator, b_in, b_out, p.t);
  // An INFORMATIONAL DELETE of the IKE SA under the new keys still ends both.
  const auto bye = p.initiator->transition(Ikev2Sa::DeleteIkeSa{}, p.t);
  ASSERT_EQ(bye.send.size(), 1U);
  EXPECT_TRUE(p.to_responder(bye.send[0]).closed);
}

// Both sides rekey the IKE SA at once: the original responder takes the original initiator's rekey
// and the initiator refuses the responder's with TEMPORARY_FAILURE; both end on one new IKE SA.
TEST(Ikev2Sa, CrossingIkeSaRekeysEndOnTheOriginalInitiatorsOne) {
  g_pfs.reset();
  Established p;
  const auto a_request = p.initiator->transition(Ikev2Sa::RekeyIkeSa{}, p.t);
  const auto b_request = p.responder->transition(Ikev2Sa::RekeyIkeSa{}, p.t);
  ASSERT_EQ(a_request.send.size(), 1U);
  ASSERT_EQ(b_request.send.size(), 1U);
  const auto a_refuses = p.to_initiator(b_request.send[0]);
  ASSERT_EQ(a_refuses.send.size(), 1U);
  EXPECT_FALSE(a_refuses.ike_rekeyed.has_value());
  const auto b_takes = p.to_responder(a_request.send[0]);
  ASSERT_EQ(b_takes.send.size(), 1U);
  EXPECT_TRUE(b_takes.ike_rekeyed.has_value());
  const auto b_refused = p.to_responder(a_refuses.send[0]);
  ASSERT_TRUE(b_refused.ike_rekey_failed.has_value());
  EXPECT_NE(b_refused.ike_rekey_failed->find("TEMPORARY_FAILURE"), std::string::npos) << *b_refused.ike_rekey_failed;
  const auto a_done = p.to_initiator(b_takes.send[0]);
  ASSERT_TRUE(a_done.ike_rekeyed.has_value()) << a_done.ike_rekey_failed.value_or("");
  EXPECT_EQ(p.initiator->spis(), p.responder->spis());
  ASSERT_EQ(a_done.send.size(), 1U);
  const auto deleted = p.to_responder(a_done.send[0]);
  ASSERT_EQ(deleted.send.size(), 1U);
  (void)p.to_initiator(deleted.send[0]);
  const auto [a_in, a_out] = p.initiator->child_spis().front();
  rekey_and_check(*p.initiator, *p.responder, a_in, a_out, p.t);
}

// Every message of `out` goes to `to`, last first (fragments out of order); the outputs collected.
std::vector<Ikev2Sa::Output> deliver_reversed(Ikev2Sa& to, const std::vector<v2::Bytes>& messages, sa::TimePoint t) {
  std::vector<Ikev2Sa::Output> outs;
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) outs.push_back(to.transition(Ikev2Sa::Received{*it}, t));
  return outs;
}

bool all_fragments(const std::vector<v2::Bytes>& messages, std::size_t fragment_size) {
  return messages.size() > 1 && std::all_of(messages.begin(), messages.end(), [&](const v2::Bytes& m) {
           return v2::is_fragment(m) && v2::datagram_size(m.size(), IpFamily::V4) <= fragment_size;
         });
}

TEST(Ikev2Sa, IkeAuthAndRekeysGoAsFragmentsWhenBothAgreed) {
  g_pfs = IkeGroupDescription::Ecp256;
  g_fragment_size = 200;
  Pair p;
  const auto init_reply = p.respond(p.first.send[0]);
  ASSERT_EQ(init_reply.send.size(), 1U);
  const auto auth = p.to_initiator(init_reply.send[0]);
  ASSERT_TRUE(p.initiator->ike_sa() && p.initiator->ike_sa()->fragmentation);
  ASSERT_TRUE(all_fragments(auth.send, 200)) << auth.send.size() << " messages";

  // Reversed, with the (new) first one twice: nothing is answered until the last fragment.
  auto with_duplicate = auth.send;
  with_duplicate.push_back(auth.send.back());
  auto outs = deliver_reversed(*p.responder, with_duplicate, p.t);
  for (std::size_t n = 0; n + 1 < outs.size(); ++n) EXPECT_TRUE(outs[n].send.empty());
  for (const auto& out : outs) EXPECT_TRUE(out.dropped.empty()) << "a retransmitted fragment is no fault: " << out.dropped[0];
  const auto& auth_reply = outs.back();
  ASSERT_TRUE(auth_reply.established && auth_reply.child.has_value()) << auth_reply.failed.value_or("");
  ASSERT_TRUE(all_fragments(auth_reply.send, 200));

  // The response is lost: the initiator's retransmission is the same fragments; only its
  // fragment 1 makes the responder send its response (the same fragments) again.
  p.t += 1000ms;
  const auto resent = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
  EXPECT_EQ(resent.send, auth.send);
  for (std::size_t n = 1; n < resent.send.size(); ++n) {
    const auto ignored = p.to_responder(resent.send[n]);
    EXPECT_TRUE(ignored.send.empty());
    EXPECT_TRUE(ignored.dropped.empty());
  }
  const auto answered_again = p.to_responder(resent.send[0]);
  EXPECT_EQ(answered_again.send, auth_reply.send);
  EXPECT_FALSE(answered_again.child.has_value());

  // A response fragment with a bad ICV is not kept, and says why; the genuine ones complete it.
  auto bad = auth_reply.send[0];
  bad.back() ^= std::byte{1};
  const auto refused = p.to_initiator(bad);
  ASSERT_EQ(refused.dropped.size(), 1U);
  EXPECT_NE(refused.dropped[0].find("Integrity Checksum Data"), std::string::npos) << refused.dropped[0];
  Ikev2Sa::Output up;
  for (const auto& f : auth_reply.send) up = p.to_initiator(f);
  ASSERT_TRUE(up.established && up.child.has_value()) << up.failed.value_or("");
  EXPECT_EQ(p.initiator->state(), Ikev2Sa::State::Established);

  // Small messages go whole: the liveness check and its answer.
  const auto check = p.initiator->transition(Ikev2Sa::CheckLiveness{}, p.t);
  ASSERT_EQ(check.send.size(), 1U);
  EXPECT_FALSE(v2::is_fragment(check.send[0]));
  const auto alive = p.to_responder(check.send[0]);
  ASSERT_EQ(alive.send.size(), 1U);
  (void)p.to_initiator(alive.send[0]);

  // CREATE_CHILD_SA with a PFS KE fragments too, from either side.
  const auto [a_in, a_out] = p.initiator->child_spis().front();
  const auto request = p.initiator->transition(Ikev2Sa::RekeyChild{a_in}, p.t);
  ASSERT_TRUE(all_fragments(request.send, 200));
  Ikev2Sa::Output answer;
  for (const auto& f : request.send) answer = p.to_responder(f);
  ASSERT_EQ(answer.rekeyed.size(), 1U);
  ASSERT_TRUE(all_fragments(answer.send, 200));
  Ikev2Sa::Output done;
  for (const auto& f : answer.send) done = p.to_initiator(f);
  ASSERT_EQ(done.rekeyed.size(), 1U) << (done.rekey_failed.empty() ? "" : done.rekey_failed[0].second);
  EXPECT_EQ(done.rekeyed[0].replaces, a_in);
  EXPECT_EQ(done.rekeyed[0].child.outbound_spi, answer.rekeyed[0].child.inbound_spi);
  EXPECT_EQ(p.initiator->transition(Ikev2Sa::Timer{}, p.t).dropped.size(), 0U);
  g_pfs.reset();
  g_fragment_size = 0;
}

// The responder does not announce IKEV2_FRAGMENTATION_SUPPORTED: messages go whole whatever their
// size, and a fragment that arrives anyway is dropped.
TEST(Ikev2Sa, WithoutThePeersNotifyMessagesGoWhole) {
  g_fragment_size = 200;
  g_responder_fragments = false;
  Pair p;
  const auto init_reply = p.respond(p.first.send[0]);
  const auto auth = p.to_initiator(init_reply.send[0]);
  ASSERT_TRUE(p.initiator->ike_sa() && !p.initiator->ike_sa()->fragmentation);
  ASSERT_EQ(auth.send.size(), 1U);
  EXPECT_FALSE(v2::is_fragment(auth.send[0]));
  EXPECT_GT(v2::datagram_size(auth.send[0].size(), IpFamily::V4), 200U);
  // The same IKE_AUTH as fragments, which B never agreed to: dropped, with the reason.
  auto forced = *p.initiator->ike_sa();
  auto fragments = v2::fragment_message(forced, auth.send[0], 200, IpFamily::V4);
  ASSERT_TRUE(fragments && fragments->size() > 1);
  const auto refused = p.to_responder(fragments->front());
  ASSERT_EQ(refused.dropped.size(), 1U);
  EXPECT_NE(refused.dropped[0].find("did not agree to fragmentation"), std::string::npos) << refused.dropped[0];
  const auto auth_reply = p.to_responder(auth.send[0]);
  ASSERT_TRUE(auth_reply.established) << auth_reply.failed.value_or("");
  ASSERT_EQ(auth_reply.send.size(), 1U);
  EXPECT_FALSE(v2::is_fragment(auth_reply.send[0]));
  g_fragment_size = 0;
  g_responder_fragments = true;
}

}  // namespace
}  // namespace ward::ike::service
