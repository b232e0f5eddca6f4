// Further CHILD_SAs of ours in an established IKEv2 SA (RFC 7296 1.3.1), in the engine (engine.h):
// another filter's acquire to a peer Ward already has an IKE SA with asks for a CHILD_SA in it with
// CREATE_CHILD_SA, as IKEv1 runs another quick mode under its main mode, instead of a second
// IKE_SA_INIT and IKE_AUTH. The policy's quick mode limit (Windows' QMLimit; master key PFS is 1)
// bounds the CHILD_SAs of one IKE SA as it bounds an IKEv1 main mode's quick modes. When the peer
// refuses (NO_ADDITIONAL_SAS, TS_UNACCEPTABLE...) the filter gets an IKE SA of its own, and that
// peer's IKE SA is asked for no further ones.
#include <algorithm>

#include "ike/service/engine.h"
#include "ike/service/ikev2_policy.h"

namespace ward::ike::service {

bool IkeService::Engine::add_ikev2_child(const driver::Acquire& acquire, const QuickModePolicy& policy) {
  if (options_.ike_version == IkeVersionPolicy::Ikev1) return false;
  const auto t = now();
  Ikev2Entry* entry = nullptr;
  for (auto& e : ikev2_) {
    if (e->dead || e->deleting || e->peer.address != acquire.peer || !e->sa->established() || e->refuses_further_children) continue;
    if (e->expires && *e->expires <= t) continue;   // its successor, or a new one, takes it
    entry = e.get();
  }
  if (entry == nullptr) return false;
  auto phase1 = policy_.phase1_for(options_.local, acquire.peer, acquire.filter_id);
  if (!phase1) return false;
  const auto children = static_cast<std::size_t>(
      std::count_if(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ikev2_id == entry->id; }));
  if (phase1->quick_mode_limit != 0 && children + entry->adding.size() >= phase1->quick_mode_limit) {
    log(ikev2_name(*entry) + ": " + std::to_string(children) + " CHILD_SAs, " + std::to_string(entry->adding.size()) +
        " under way (limit " + std::to_string(phase1->quick_mode_limit) + "): filter " + std::to_string(policy.filter_id) +
        " gets a new IKE SA");
    return false;
  }
  auto child = ikev2_child(policy, options_.local, acquire.peer);
  if (child.proposals.empty()) return false;   // IKEv1-only methods: start_ikev2 says so
  if (entry->peer.nat_t) child.udp_encapsulation = driver::crypto::UdpEncapsulation{options_.nat_t_port, entry->peer.port};
  entry->adding[policy.filter_id] = policy;
  changed();
  log(ikev2_name(*entry) + ": a further CHILD_SA for filter " + std::to_string(policy.filter_id) + " with CREATE_CHILD_SA");
  after_ikev2_step(*entry, entry->sa->transition(Ikev2Sa::AddChild{std::move(child)}, t));
  return true;
}

void IkeService::Engine::ikev2_child_not_added(Ikev2Entry& entry, std::uint32_t filter_id, const std::string& why) {
  const auto found = entry.adding.find(filter_id);
  if (found == entry.adding.end()) return;
  const auto policy = found->second;
  entry.adding.erase(found);
  entry.refuses_further_children = true;
  changed();
  log(ikev2_name(entry) + ": the further CHILD_SA for filter " + std::to_string(filter_id) + " failed (" + why +
      "): it gets a new IKE SA");
  driver::Acquire acquire;
  acquire.filter_id = filter_id;
  acquire.peer = entry.peer.address;
  acquire.source = policy.local.prefix.address();
  acquire.destination = policy.remote.prefix.address();
  negotiate(acquire, policy);
}

}  // namespace ward::ike::service
