#include "ike/fuzz/responder_replay.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/fuzz/deterministic_random.h"
#include "ike/fuzz/responder_scenario.h"
#include "ike/tests/exchange_support.h"

namespace ward::ike::fuzz {

ReplayOutcome replay_to_responder(std::span<const std::byte> input) {
  static const auth::PresharedKeyProvider psk(auth::preshared_key_from_text(kPresharedKey));
  use_deterministic_random(RandomStream::Responder, kResponderSeed);
  ReplayOutcome outcome;
  const auto datagrams = split_datagrams(input);
  outcome.datagrams = datagrams.size();
  if (datagrams.empty()) return outcome;

  // The corpus generator's clock: one hour, then 100 ms more before each datagram.
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  sa::Clock clock = [&now] { return now; };
  std::vector<std::string> log;
  testing::NullDataplaneListener listener;
  driver::SimDataplane dataplane(listener, {}, clock);
  if (!dataplane.install_filter_table(testing::negotiate_table())) return outcome;

  std::vector<std::byte> reply;
  auto responder = sa::Phase1Sa::respond(
      testing::phase1_config(testing::kHostB, testing::kHostA, responder_phase1_proposals(), log), psk, clock,
      datagrams.front(), reply);
  if (!responder) return outcome;
  outcome.main_mode_started = true;
  std::unique_ptr<sa::QuickModeExchange> quick_mode;
  for (std::size_t i = 1; i < datagrams.size(); ++i) {
    now += std::chrono::milliseconds(100);
    if (!(*responder)->established()) {
      (void)(*responder)->handle(datagrams[i]);
    } else if (!quick_mode) {
      auto responded = sa::QuickModeExchange::respond(
          **responder, testing::quick_config(testing::kHostB, testing::kHostA, responder_esp_proposals()), dataplane,
          clock, datagrams[i], reply);
      if (responded) quick_mode = std::move(*responded);
    } else {
      (void)quick_mode->handle(datagrams[i]);
    }
  }
  outcome.main_mode_established = (*responder)->established();
  outcome.quick_mode_done = quick_mode && quick_mode->done();
  outcome.installed_sas = dataplane.counters().sas.size();
  // A retransmission timer that comes due must not misbehave either.
  now += std::chrono::seconds(5);
  (void)(*responder)->on_timer();
  if (quick_mode) (void)quick_mode->on_timer();
  return outcome;
}

}  // namespace ward::ike::fuzz
