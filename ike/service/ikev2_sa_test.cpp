// The Ikev2Sa state machine on its own: two SAs in memory, time passed in (nothing sleeps;
// ikev2_sa_test_support.h). Lost responses are sent again on the retransmission policy and
// answered from the responder's window without a second exchange; an unanswered IKE_SA_INIT is
// given up (or handed to IKEv1 after the fallback time); requests of ours wait for the one
// outstanding (a window of 1); the IKE SA's DELETE closes both sides. A liveness check (an empty
// INFORMATIONAL) answered keeps the IKE SA; unanswered after its retransmissions, it closes it as
// PeerDead. Refusals carry the notify the policy or the check chose. CREATE_CHILD_SA and RFC 7383
// fragments: ikev2_sa_rekey_test.cpp.
#include "ike/service/ikev2_sa.h"

#include <cstdio>

#include <gtest/gtest.h>

#include "ike/service/ikev2_sa_test_support.h"
#include "ike/v2/create_child_sa.h"
#include "ike/v2/fragments.h"

namespace ward::ike::service {
namespace {

using namespace std::chrono_literals;
using namespace ikev2_sa_testing;


// The responder's policy decides what the initiator is told (child_refusal): a policy that covers
// the selectors with nothing to propose, NO_PROPOSAL_CHOSEN; no filter for them, TS_UNACCEPTABLE.
TEST(Ikev2Sa, TheResponderRefusesTheChildSaWithTheNotifyItsPolicyTyped) {
  const std::vector<std::pair<IkeError, std::string>> cases{
      {refusal(NotifyMessageType::NoProposalChosen, "the filter's action has no ESP method for IKEv2"), "NO_PROPOSAL_CHOSEN"},
      {IkeError{NotifyMessageType::InvalidIdInformation, "no filter covers 10.0.0.1/32 -> 10.0.0.2/32"}, "TS_UNACCEPTABLE"}};
  for (const auto& [error, told] : cases) {
    SCOPED_TRACE(told);
    Pair p;
    p.responder_child_for = [error = error](const v2::TrafficSelector&, const v2::TrafficSelector&) -> Expected<v2::ChildSaConfig, IkeError> {
      return unexpected(error);
    };
    const auto init_reply = p.respond(p.first.send[0]);
    ASSERT_EQ(init_reply.send.size(), 1U);
    const auto auth_request = p.to_initiator(init_reply.send[0]);
    ASSERT_EQ(auth_request.send.size(), 1U);
    const auto auth_reply = p.to_responder(auth_request.send[0]);
    ASSERT_EQ(auth_reply.send.size(), 1U);
    EXPECT_FALSE(auth_reply.child.has_value());
    ASSERT_TRUE(auth_reply.failed.has_value());
    EXPECT_NE(auth_reply.failed->find(error.text), std::string::npos) << *auth_reply.failed;   // the words kept
    const auto done = p.to_initiator(auth_reply.send[0]);
    ASSERT_TRUE(done.failed.has_value());
    EXPECT_EQ(*done.failed, "the responder answered IKE_AUTH with " + told);
  }
}

TEST(Ikev2Sa, ALostIkeAuthResponseIsAnsweredAgainFromTheResponderWindow) {
  Pair p;
  ASSERT_EQ(p.first.send.size(), 1U);
  const auto init_reply = p.respond(p.first.send[0]);
  ASSERT_EQ(init_reply.send.size(), 1U);
  EXPECT_EQ(p.responder->state(), Ikev2Sa::State::WaitingForIkeAuth);
  // The IKE_SA_INIT request again (our response was lost): the same response, no new SA.
  const auto again = p.to_responder(p.first.send[0]);
  ASSERT_EQ(again.send.size(), 1U);
  EXPECT_EQ(again.send[0], init_reply.send[0]);

  const auto auth_request = p.to_initiator(init_reply.send[0]);
  EXPECT_TRUE(auth_request.peer_answered);
  ASSERT_EQ(auth_request.send.size(), 1U);
  EXPECT_EQ(p.initiator->state(), Ikev2Sa::State::IkeAuthSent);
  const auto auth_reply = p.to_responder(auth_request.send[0]);
  ASSERT_TRUE(auth_reply.established && auth_reply.child.has_value()) << auth_reply.failed.value_or("");
  ASSERT_EQ(auth_reply.send.size(), 1U);

  // The response is lost: the initiator sends IKE_AUTH again after 1 s, the responder answers
  // with the same bytes and agrees no second CHILD_SA.
  EXPECT_EQ(p.initiator->due(), p.t + 1000ms);
  p.t += 1000ms;
  const auto resent = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
  ASSERT_EQ(resent.send.size(), 1U);
  EXPECT_EQ(resent.send[0], auth_request.send[0]);
  const auto answered_again = p.to_responder(resent.send[0]);
  ASSERT_EQ(answered_again.send.size(), 1U);
  EXPECT_EQ(answered_again.send[0], auth_reply.send[0]);
  EXPECT_FALSE(answered_again.child.has_value());

  const auto done = p.to_initiator(answered_again.send[0]);
  ASSERT_TRUE(done.established && done.child.has_value()) << done.failed.value_or("");
  EXPECT_EQ(done.child->inbound_spi, auth_reply.child->outbound_spi);
  EXPECT_EQ(done.child->outbound_spi, auth_reply.child->inbound_spi);
  EXPECT_EQ(done.child->outbound.params.encryption_key.reveal().size(), auth_reply.child->inbound.params.encryption_key.reveal().size());
  EXPECT_TRUE(std::ranges::equal(done.child->outbound.params.encryption_key.reveal(), auth_reply.child->inbound.params.encryption_key.reveal()));
  EXPECT_FALSE(p.initiator->due().has_value());
}

TEST(Ikev2Sa, AnUnansweredIkeSaInitIsSentAgainThenGivenUp) {
  Pair p;
  std::vector<std::size_t> sends;
  for (auto step : {1000ms, 2000ms}) {
    p.t += step;
    sends.push_back(p.initiator->transition(Ikev2Sa::Timer{}, p.t).send.size());
  }
  EXPECT_EQ(sends, (std::vector<std::size_t>{1, 1}));
  p.t += 4000ms;
  const auto out = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
  ASSERT_TRUE(out.failed.has_value());
  EXPECT_EQ(*out.failed, "no answer to IKE_SA_INIT after 3 sends");
  EXPECT_EQ(out.failure, FailureKind::NoResponse);
  EXPECT_TRUE(out.not_ikev2);
  EXPECT_TRUE(p.initiator->done());
}

TEST(Ikev2Sa, WithAFallbackTimeTheInitiatorGivesIkev2UpThen) {
  Pair p(500ms);
  EXPECT_EQ(p.initiator->due(), p.t + 500ms);
  p.t += 500ms;
  const auto out = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
  EXPECT_TRUE(out.not_ikev2);
  ASSERT_TRUE(out.failed.has_value());
  EXPECT_EQ(out.failure, FailureKind::NoResponse);
}

TEST(Ikev2Sa, RequestsWaitForTheOutstandingOneAndTheIkeSaDeleteClosesBothSides) {
  Pair p;
  const auto reply = p.respond(p.first.send[0]);
  const auto auth = p.to_initiator(reply.send[0]);
  const auto auth_reply = p.to_responder(auth.send[0]);
  const auto up = p.to_initiator(auth_reply.send[0]);
  ASSERT_TRUE(up.child.has_value());

  const auto del_child = p.initiator->transition(Ikev2Sa::DeleteChildren{{up.child->inbound_spi}}, p.t);
  ASSERT_EQ(del_child.send.size(), 1U);
  // A second request waits (window of 1)... the IKE SA's DELETE replaces what waits.
  const auto del_ike = p.initiator->transition(Ikev2Sa::DeleteIkeSa{}, p.t);
  EXPECT_TRUE(del_ike.send.empty());

  const auto child_answer = p.to_responder(del_child.send[0]);
  ASSERT_EQ(child_answer.send.size(), 1U);
  EXPECT_EQ(child_answer.peer_deleted_outbound_spis, std::vector<std::uint32_t>{auth_reply.child->outbound_spi});
  const auto next = p.to_initiator(child_answer.send[0]);
  ASSERT_EQ(next.send.size(), 1U);   // now the IKE SA's DELETE
  const auto ike_answer = p.to_responder(next.send[0]);
  EXPECT_TRUE(ike_answer.closed);
  EXPECT_EQ(p.responder->state(), Ikev2Sa::State::Closed);
  const auto closed = p.to_initiator(ike_answer.send[0]);
  EXPECT_TRUE(closed.closed);
  EXPECT_EQ(p.initiator->state(), Ikev2Sa::State::Closed);
}


TEST(Ikev2Sa, AnUnansweredLivenessCheckIsSentAgainThenClosesTheIkeSaAsPeerDead) {
  Pair p;
  ASSERT_NO_FATAL_FAILURE(establish(p));
  const auto check = p.initiator->transition(Ikev2Sa::CheckLiveness{}, p.t);
  ASSERT_EQ(check.send.size(), 1U);
  EXPECT_TRUE(p.initiator->checking_liveness());
  EXPECT_TRUE(p.initiator->transition(Ikev2Sa::CheckLiveness{}, p.t).send.empty());   // one at a time
  std::vector<std::size_t> sends;
  for (auto step : {1000ms, 2000ms}) {
    p.t += step;
    const auto resent = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
    sends.push_back(resent.send.size());
    if (!resent.send.empty()) {
      EXPECT_EQ(resent.send[0], check.send[0]);
    }
    EXPECT_FALSE(resent.closed);
  }
  EXPECT_EQ(sends, (std::vector<std::size_t>{1, 1}));
  p.t += 4000ms;
  const auto dead = p.initiator->transition(Ikev2Sa::Timer{}, p.t);
  EXPECT_TRUE(dead.closed);
  ASSERT_TRUE(dead.failed.has_value());
  EXPECT_EQ(*dead.failed, "the peer did not answer the liveness check (empty INFORMATIONAL) request 2 after 3 sends");
  EXPECT_EQ(dead.failure, FailureKind::PeerDead);
  EXPECT_EQ(p.initiator->state(), Ikev2Sa::State::Closed);
  EXPECT_FALSE(p.initiator->due().has_value());
}

TEST(Ikev2Sa, AnAnsweredLivenessCheckKeepsTheIkeSaAndAnotherMayFollow) {
  Pair p;
  ASSERT_NO_FATAL_FAILURE(establish(p));
  // From the original responder (its requests start at message ID 0).
  for (int round = 0; round < 2; ++round) {
    const auto check = p.responder->transition(Ikev2Sa::CheckLiveness{}, p.t);
    ASSERT_EQ(check.send.size(), 1U);
    const auto answer = p.to_initiator(check.send[0]);
    ASSERT_EQ(answer.send.size(), 1U);
    EXPECT_TRUE(answer.peer_answered);
    EXPECT_TRUE(answer.peer_deleted_outbound_spis.empty());
    EXPECT_FALSE(answer.closed);
    const auto alive = p.to_responder(answer.send[0]);
    EXPECT_TRUE(alive.peer_answered);
    EXPECT_FALSE(alive.closed);
    EXPECT_FALSE(alive.failed.has_value());
    EXPECT_FALSE(p.responder->checking_liveness());
    EXPECT_FALSE(p.responder->due().has_value());   // nothing left to send again
    p.t += 10000ms;
    EXPECT_FALSE(p.responder->transition(Ikev2Sa::Timer{}, p.t).closed);
  }
  EXPECT_TRUE(p.responder->established());
  EXPECT_TRUE(p.initiator->established());
  EXPECT_EQ(p.responder->child_spis().size(), 1U);
}

TEST(Ikev2Sa, AWrongPreSharedKeyFailsTheResponderAndTheInitiatorWithAuthenticationFailed) {
  Pair p(std::nullopt, "another secret");
  const auto reply = p.respond(p.first.send[0]);
  const auto auth = p.to_initiator(reply.send[0]);
  const auto refused = p.to_responder(auth.send[0]);
  ASSERT_TRUE(refused.failed.has_value());
  EXPECT_EQ(refused.failure, FailureKind::AuthenticationFailed);
  ASSERT_EQ(refused.send.size(), 1U);
  const auto failed = p.to_initiator(refused.send[0]);
  ASSERT_TRUE(failed.failed.has_value());
  EXPECT_EQ(failed.failure, FailureKind::AuthenticationFailed);
  EXPECT_FALSE(failed.not_ikev2);
}

}  // namespace
}  // namespace ward::ike::service
