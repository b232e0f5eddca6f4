#include "ike/fuzz/deterministic_random.h"
#include "ike/fuzz/ikev2_scenario.h"
#include "ike/service/ikev2_cookies.h"

namespace ward::ike::fuzz {

Ikev2ReplayOutcome replay_to_ikev2_responder(std::span<const std::byte> input) {
  use_deterministic_random(RandomStream::Responder, kResponderSeed);
  Ikev2ReplayOutcome outcome;
  const auto datagrams = split_datagrams(input);
  outcome.datagrams = datagrams.size();
  if (datagrams.empty()) return outcome;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  service::Ikev2Sa::Output out;
  auto responder = service::Ikev2Sa::respond(ikev2_hosts::init_config(kIkev2HostB, kIkev2HostA), ikev2_hosts::auth_config(kIkev2HostB, false),
                                             ikev2_hooks(kIkev2HostB, kIkev2HostA, kIkev2ResponderSpi), sa::RetransmitPolicy{},
                                             datagrams.front(), now, out);
  if (!responder || !*responder) return outcome;
  outcome.started = true;
  for (std::size_t i = 1; i < datagrams.size(); ++i) {
    now += std::chrono::milliseconds(100);
    const auto step = (*responder)->transition(service::Ikev2Sa::Received{datagrams[i]}, now);
    outcome.established = outcome.established || step.established;
    outcome.child = outcome.child || step.child.has_value();
    outcome.closed = outcome.closed || step.closed;
    outcome.child_rekeyed = outcome.child_rekeyed || !step.rekeyed.empty();
    outcome.ike_rekeyed = outcome.ike_rekeyed || step.ike_rekeyed.has_value();
  }
  // Our own requests and a timer that comes due must not misbehave either.
  (void)(*responder)->transition(service::Ikev2Sa::CheckLiveness{}, now);
  (void)(*responder)->transition(service::Ikev2Sa::DeleteChildren{{kIkev2ResponderSpi}}, now);
  (void)(*responder)->transition(service::Ikev2Sa::DeleteIkeSa{}, now);
  now += std::chrono::seconds(5);
  (void)(*responder)->transition(service::Ikev2Sa::Timer{}, now);
  // What the engine reads of an IKE_SA_INIT under load, and its COOKIE checked (last: the secret's
  // random bytes must not shift the responder's deterministic stream).
  if (const auto init = service::read_init_request(datagrams.front()); init && init->cookie) {
    service::Ikev2Cookies cookies([now] { return now; });
    (void)cookies.verify(init->ni, kIkev2HostA, init->spi_i, *init->cookie);
  }
  return outcome;
}

}  // namespace ward::ike::fuzz
