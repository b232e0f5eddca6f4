// Writes the seed corpus of ikev2_responder_fuzz: host A's datagrams of whole IKEv2 exchanges with
// host B (IKE_SA_INIT, IKE_AUTH; then a DELETE of the CHILD_SA, or of the IKE SA, or a rekey of the
// CHILD_SA with the DELETE of the old one, or a rekey of the IKE SA, its DELETE and a rekey of the
// CHILD_SA under the new IKE SA), run in this
// process with each side on its own deterministic random stream, so the fuzz target's responder,
// restarted on B's stream, answers exactly as B did here.
// Usage: ikev2_responder_corpus_gen <dir>   (ike/fuzz/ikev2_corpus)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ike/fuzz/deterministic_random.h"
#include "ike/fuzz/ikev2_scenario.h"

namespace {

using namespace ward;
using namespace ward::ike;
using fuzz::RandomStream;

enum class Ending { None, DeleteChild, DeleteIkeSa, RekeyChild, RekeyIkeSa };

// A's request to B: appended to the seed, B's answer back to A; A's next output.
service::Ikev2Sa::Output exchange(service::Ikev2Sa& a, service::Ikev2Sa& b, const service::Ikev2Sa::Output& request,
                                  std::vector<std::byte>& seed, std::chrono::steady_clock::time_point now) {
  fuzz::append_datagram(seed, request.send.at(0));
  fuzz::switch_random_stream(RandomStream::Responder);
  auto answer = b.transition(service::Ikev2Sa::Received{request.send.at(0)}, now);
  fuzz::switch_random_stream(RandomStream::Initiator);
  return a.transition(service::Ikev2Sa::Received{answer.send.at(0)}, now);
}

bool write(const std::filesystem::path& dir, const std::string& name, Ending ending) {
  fuzz::use_deterministic_random(RandomStream::Initiator, fuzz::kInitiatorSeed);
  const auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  service::Ikev2Sa::Output first;
  auto a = service::Ikev2Sa::initiate(fuzz::ikev2_hosts::init_config(fuzz::kIkev2HostA, fuzz::kIkev2HostB),
                                      fuzz::ikev2_hosts::auth_config(fuzz::kIkev2HostA, true),
                                      fuzz::ikev2_hosts::child_config(fuzz::kIkev2HostA, fuzz::kIkev2HostB),
                                      fuzz::ikev2_hooks(fuzz::kIkev2HostA, fuzz::kIkev2HostB, 0x0000a00a), {}, std::nullopt, now, first);
  if (!a) return false;
  std::vector<std::byte> seed;
  fuzz::append_datagram(seed, first.send.at(0));
  fuzz::use_deterministic_random(RandomStream::Responder, fuzz::kResponderSeed);
  service::Ikev2Sa::Output reply;
  auto b = service::Ikev2Sa::respond(fuzz::ikev2_hosts::init_config(fuzz::kIkev2HostB, fuzz::kIkev2HostA),
                                     fuzz::ikev2_hosts::auth_config(fuzz::kIkev2HostB, false),
                                     fuzz::ikev2_hooks(fuzz::kIkev2HostB, fuzz::kIkev2HostA, fuzz::kIkev2ResponderSpi), {},
                                     first.send.at(0), now, reply);
  if (!b || !*b) return false;
  fuzz::switch_random_stream(RandomStream::Initiator);
  auto auth = (*a)->transition(service::Ikev2Sa::Received{reply.send.at(0)}, now);
  fuzz::append_datagram(seed, auth.send.at(0));
  fuzz::switch_random_stream(RandomStream::Responder);
  auto auth_reply = (*b)->transition(service::Ikev2Sa::Received{auth.send.at(0)}, now);
  fuzz::switch_random_stream(RandomStream::Initiator);
  auto up = (*a)->transition(service::Ikev2Sa::Received{auth_reply.send.at(0)}, now);
  if (!up.child) return false;
  if (ending == Ending::RekeyChild) {
    auto done = exchange(**a, **b, (*a)->transition(service::Ikev2Sa::RekeyChild{up.child->inbound_spi}, now), seed, now);
    if (done.rekeyed.empty()) return false;
    fuzz::append_datagram(seed, done.send.at(0));   // the DELETE of the old pair
  } else if (ending == Ending::RekeyIkeSa) {
    auto moved = exchange(**a, **b, (*a)->transition(service::Ikev2Sa::RekeyIkeSa{}, now), seed, now);
    if (!moved.ike_rekeyed) return false;
    (void)exchange(**a, **b, moved, seed, now);   // the DELETE of the old IKE SA
    const auto [inbound, outbound] = (*a)->child_spis().at(0);
    (void)outbound;
    auto done = exchange(**a, **b, (*a)->transition(service::Ikev2Sa::RekeyChild{inbound}, now), seed, now);
    if (done.rekeyed.empty()) return false;
  } else if (ending != Ending::None) {
    auto request = ending == Ending::DeleteChild ? (*a)->transition(service::Ikev2Sa::DeleteChildren{{up.child->inbound_spi}}, now)
                                                 : (*a)->transition(service::Ikev2Sa::DeleteIkeSa{}, now);
    fuzz::append_datagram(seed, request.send.at(0));
  }
  std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (auto [name, ending] : {std::pair{"ike-sa-init-and-auth.bin", Ending::None}, std::pair{"then-delete-child.bin", Ending::DeleteChild},
                              std::pair{"then-delete-ike-sa.bin", Ending::DeleteIkeSa}, std::pair{"then-rekey-child.bin", Ending::RekeyChild},
                              std::pair{"then-rekey-ike-sa.bin", Ending::RekeyIkeSa}}) {
    if (!write(dir, name, ending)) {
      std::fprintf(stderr, "could not make %s\n", name);
      return 1;
    }
  }
  return 0;
}
