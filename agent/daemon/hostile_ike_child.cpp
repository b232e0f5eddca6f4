// For ike_process_test: an IKE process that was taken over. Started by IkeProcess in place of
// `wardd --privsep-child ike` (same arguments), it enters the same sandbox, then asks wardd for
// SAs and a soft association the policy does not allow, inbound SPIs it may not have, one SA the
// policy allows (on an SPI wardd reserved for it), and logs what wardd answered to each (kLog:
// "hostile: <case>: installed" or "hostile: <case>: refused: why"); it leaves one SPI reserved
// ("hostile: kept SPI N") for wardd to give back when it stops.
// What it aims at comes from the environment the test set: WARD_HOSTILE_FILTER (a negotiate filter
// id), WARD_HOSTILE_PEER (an address that filter covers), WARD_HOSTILE_OUTSIDE (one it does not).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"

namespace {

using namespace ward;
using namespace ward::agent::ikeproc;
using ward::agent::privsep::Body;
using ward::agent::privsep::Endpoint;
using ward::agent::privsep::Incoming;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

driver::SaInstall sa_with(std::uint32_t filter, const IpAddress& peer, const ike::sa::ProtectionSuite& suite, std::uint32_t spi) {
  driver::SaInstall sa;
  sa.params.spi = spi;
  sa.params.direction = driver::crypto::Direction::Inbound;
  if (suite.esp) {
    sa.params.cipher = suite.esp->cipher;
    sa.params.integrity = suite.esp->integrity;
  } else {
    sa.params.protocol = driver::crypto::SecurityProtocol::Ah;
    sa.params.cipher = driver::crypto::Cipher::Null;
    sa.params.integrity = suite.ah ? suite.ah->integrity : driver::crypto::Integrity::None;
  }
  // Keys of the right size (the child derives them): GCM key and salt, an HMAC's key.
  const std::size_t encryption = sa.params.cipher == driver::crypto::Cipher::Null ? 0 : 36;
  const std::size_t integrity = sa.params.integrity == driver::crypto::Integrity::None           ? 0
                                : sa.params.integrity == driver::crypto::Integrity::HmacSha256_128 ? 32
                                                                                                 : 20;
  sa.params.encryption_key = driver::crypto::SecureBytes(std::vector<std::byte>(encryption, std::byte{7}));
  sa.params.integrity_key = driver::crypto::SecureBytes(std::vector<std::byte>(integrity, std::byte{9}));
  sa.filter_id = filter;
  sa.peer = peer;
  return sa;
}

}  // namespace

static int run(int argc, char** argv) {
  if (argc != 5) return 2;   // --privsep-child ike --user USER
  auto channel = std::make_shared<agent::privsep::Channel>(agent::privsep::OwnedFd(agent::privsep::kChildChannelFd));
  auto identity = agent::privsep::identity_of(argv[4]);
  if (!identity || !agent::privsep::enter_sandbox({*identity, agent::privsep::NetworkSockets::Inherited})) return 1;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  Endpoint parent(channel, [](Incoming&) -> Expected<Body, std::string> { return Body{}; },
                  [](const std::string&) { kill(getpid(), SIGTERM); });
  auto say = [&](const std::string& line) {
    (void)parent.notify(kLog, std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  };
  auto attempt = [&](const std::string& what, Message type, const std::vector<std::uint8_t>& body) {
    auto answer = parent.call(type, body);
    say("hostile: " + what + (answer ? ": installed" : ": refused: " + answer.error()));
  };

  const auto filter = static_cast<std::uint32_t>(std::strtoul(env("WARD_HOSTILE_FILTER").c_str(), nullptr, 10));
  const auto peer = IpAddress::parse(env("WARD_HOSTILE_PEER"));
  const auto outside = IpAddress::parse(env("WARD_HOSTILE_OUTSIDE"));
  if (!peer || !outside) return 2;
  // The filter action's first method, as wardd's policy says it (once wardd has a policy).
  driver::Acquire acquire{filter, *peer, *peer, *peer, 0, 0, 0};
  std::optional<ike::service::QuickModePolicy> policy;
  for (int i = 0; i < 100 && !policy; ++i) {
    auto r = parent.call(kQuickModeForAcquire, encode(acquire));
    auto decoded = r ? decode<ike::service::QuickModePolicy>(*r) : unexpected(std::string("no answer"));
    if (decoded) policy = std::move(*decoded);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!policy || policy->proposals.empty()) {
    say("hostile: no policy");
    return 1;
  }
  const auto method = policy->proposals.front();
  const ike::sa::ProtectionSuite weak(ike::sa::EspProposal{driver::crypto::Cipher::Null, driver::crypto::Integrity::HmacSha1_96});

  attempt("unknown filter", kAddSa, encode(sa_with(4242, *peer, method, 0x101)));
  attempt("no main mode", kAddSa, encode(sa_with(filter, *peer, method, 0x102)));
  const auto protocol = method.esp ? driver::crypto::SecurityProtocol::Esp : driver::crypto::SecurityProtocol::Ah;
  attempt("SPI before main mode", kAllocateSpi, encode(SpiRequest{protocol, *peer}));
  // What a taken-over child can always claim: a main mode with the peer.
  ike::service::IkeEvent established;
  established.kind = ike::service::IkeEvent::Kind::MainModeEstablished;
  established.peer = *peer;
  (void)parent.notify(kEvent, encode(established));
  attempt("weak method", kAddSa, encode(sa_with(filter, *peer, weak, 0x103)));
  attempt("peer outside the filter", kAddSa, encode(sa_with(filter, *outside, method, 0x104)));
  attempt("soft association", kAddSoftAssociation, encode(driver::SoftAssociation{filter, *peer, std::chrono::seconds(300)}));
  attempt("SPI it did not reserve", kAddSa, encode(sa_with(filter, *peer, method, 0x105)));
  attempt("release of an SPI it did not reserve", kReleaseSpi, encode(SpiReservation{0x106, protocol}));
  auto reserve = [&]() -> std::uint32_t {
    auto r = parent.call(kAllocateSpi, encode(SpiRequest{protocol, *peer}));
    auto reservation = r ? decode<SpiReservation>(*r) : unexpected(r.error());
    if (!reservation) say("hostile: SPI refused: " + reservation.error());
    return reservation ? reservation->spi : 0;
  };
  const auto spi = reserve();
  say("hostile: kept SPI " + std::to_string(reserve()));
  attempt("as the policy says", kAddSa, encode(sa_with(filter, *peer, method, spi)));
  say("hostile: done");
  int signal = 0;
  sigwait(&stop, &signal);
  return 0;
}

// As wardd's own IKE child: _Exit, not a return through exit(). LeakSanitizer's at-exit check
// needs ptrace, which the sandbox refuses ("LeakSanitizer has encountered a fatal error").
int main(int argc, char** argv) {
  const int status = run(argc, argv);
  std::fflush(nullptr);
  std::_Exit(status);
}
