// Writes the seed corpus of ike_responder_fuzz: whole exchanges between host A (initiator) and
// host B (responder), run in this process as ike_exchange_test runs them, with A's datagrams
// recorded in the fuzz target's input format. Each side draws from its own deterministic random
// stream, so the fuzz target's responder, restarted on B's stream, answers exactly as B did here.
// Usage: ike_responder_corpus_gen <dir>   (ike/fuzz/corpus)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/fuzz/deterministic_random.h"
#include "ike/fuzz/responder_scenario.h"
#include "ike/tests/exchange_support.h"

namespace {

using namespace ward;
using namespace ward::ike;
using fuzz::RandomStream;

struct Exchange {
  std::string name;
  sa::Phase1Proposal offer;
  sa::EspProposal esp;
  bool quick_mode = true;
};

// Runs one exchange; returns A's datagrams in the target's format, or an empty vector (and says
// why) when it did not complete.
std::vector<std::byte> capture(const Exchange& exchange) {
  const auth::PresharedKeyProvider psk_a(auth::preshared_key_from_text(fuzz::kPresharedKey));
  const auth::PresharedKeyProvider psk_b(auth::preshared_key_from_text(fuzz::kPresharedKey));
  fuzz::use_deterministic_random(RandomStream::Initiator, fuzz::kInitiatorSeed);
  fuzz::use_deterministic_random(RandomStream::Responder, fuzz::kResponderSeed);
  // The target's clock: it starts at one hour and moves 100 ms before each datagram.
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  sa::Clock clock = [&now] { return now; };
  std::vector<std::string> log_a, log_b;
  testing::NullDataplaneListener listener;
  driver::SimDataplane sim_a(listener, {}, clock), sim_b(listener, {}, clock);
  if (!sim_a.install_filter_table(testing::negotiate_table()) || !sim_b.install_filter_table(testing::negotiate_table())) {
    return {};
  }
  std::vector<std::byte> out;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "%s: %s\n", exchange.name.c_str(), why.c_str());
    return std::vector<std::byte>{};
  };

  fuzz::switch_random_stream(RandomStream::Initiator);
  auto initiator = sa::Phase1Sa::initiate(testing::phase1_config(testing::kHostA, testing::kHostB, {exchange.offer}, log_a),
                                          psk_a, clock);
  auto m1 = initiator->build_main_mode_1();
  if (!m1) return fail(m1.error());
  fuzz::append_datagram(out, *m1);
  fuzz::switch_random_stream(RandomStream::Responder);
  std::vector<std::byte> reply;
  auto responder = sa::Phase1Sa::respond(
      testing::phase1_config(testing::kHostB, testing::kHostA, fuzz::responder_phase1_proposals(), log_b), psk_b, clock,
      *m1, reply);
  if (!responder) return fail(responder.error().text);
  // Main mode 3 and 5 from A, 4 and 6 from B.
  for (int round = 0; round < 3 && !(*responder)->established(); ++round) {
    fuzz::switch_random_stream(RandomStream::Initiator);
    const auto from_a = initiator->handle(reply);
    if (from_a.empty()) return fail("initiator: " + initiator->failure().text);
    fuzz::append_datagram(out, from_a);
    now += std::chrono::milliseconds(100);
    fuzz::switch_random_stream(RandomStream::Responder);
    reply = (*responder)->handle(from_a);
    if (reply.empty()) return fail("responder: " + (*responder)->failure().text);
  }
  fuzz::switch_random_stream(RandomStream::Initiator);
  (void)initiator->handle(reply);
  if (!initiator->established() || !(*responder)->established()) return fail("main mode did not complete");
  if (!exchange.quick_mode) return out;

  auto qm_a = sa::QuickModeExchange::initiate(
      *initiator, testing::quick_config(testing::kHostA, testing::kHostB, {exchange.esp}), sim_a, clock);
  auto q1 = qm_a->build_quick_mode_1();
  if (!q1) return fail(q1.error());
  fuzz::append_datagram(out, *q1);
  now += std::chrono::milliseconds(100);
  fuzz::switch_random_stream(RandomStream::Responder);
  auto qm_b = sa::QuickModeExchange::respond(
      **responder, testing::quick_config(testing::kHostB, testing::kHostA, fuzz::responder_esp_proposals()), sim_b, clock,
      *q1, reply);
  if (!qm_b) return fail(qm_b.error().text);
  fuzz::switch_random_stream(RandomStream::Initiator);
  const auto q3 = qm_a->handle(reply);
  if (q3.empty()) return fail("quick mode initiator: " + qm_a->failure().text);
  fuzz::append_datagram(out, q3);
  now += std::chrono::milliseconds(100);
  fuzz::switch_random_stream(RandomStream::Responder);
  (void)(*qm_b)->handle(q3);
  if (!(*qm_b)->done()) return fail("quick mode responder: " + (*qm_b)->failure().text);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  using namespace std::chrono_literals;
  using driver::crypto::Cipher;
  using driver::crypto::Integrity;
  const sa::Phase1Proposal aes256{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256,
                                  IkeGroupDescription::Ecp256, 28800s};
  const sa::Phase1Proposal aes128{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha,
                                  IkeGroupDescription::Modp2048, 28800s};
  const std::vector<Exchange> exchanges = {
      {"main-mode-aes256-sha256-ecp256", aes256, {}, false},
      {"main-and-quick-mode-aes256-gcm", aes256, {Cipher::AesGcm256, Integrity::None}},
      {"main-and-quick-mode-modp2048-aes-cbc", aes128, {Cipher::AesCbc128, Integrity::HmacSha256_128}},
  };
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  int failures = 0;
  for (const auto& exchange : exchanges) {
    const auto bytes = capture(exchange);
    if (bytes.empty()) {
      ++failures;
      continue;
    }
    const auto file = dir / (exchange.name + ".bin");
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", file.c_str());
      ++failures;
      continue;
    }
    std::printf("%s: %zu bytes\n", file.c_str(), bytes.size());
  }
  return failures == 0 ? 0 : 1;
}
