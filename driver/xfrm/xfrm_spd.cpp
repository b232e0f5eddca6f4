#include "driver/xfrm/xfrm_spd.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace ward::driver::xfrm {

namespace {

constexpr std::uint32_t kSoftSlot = 0;
constexpr std::uint32_t kPeerSlot = 1;
constexpr std::uint32_t kFilterSlot = 2;

std::uint16_t family_of(const DriverFilter& filter) { return filter.source.family() == IpFamily::V4 ? AF_INET : AF_INET6; }

std::vector<std::uint8_t> directions_for(bool tunnel) {
  if (tunnel) return {XFRM_POLICY_OUT, XFRM_POLICY_IN, XFRM_POLICY_FWD};
  return {XFRM_POLICY_OUT, XFRM_POLICY_IN};
}

}  // namespace

std::vector<KernelPolicy> Spd::table_policies(const Entry& entry) const {
  const auto& filter = entry.filter;
  const auto selector = selector_for(filter, entry.source_port, entry.destination_port);
  std::vector<KernelPolicy> out;
  for (const auto direction : directions_for(filter.tunnel_endpoint.has_value())) {
    KernelPolicy policy;
    policy.selector = selector;
    policy.direction = direction;
    policy.priority = base_ + entry.rank * kSlotsPerRank + kFilterSlot;
    policy.block = filter.action == FilterAction::Block;
    if (filter.action == FilterAction::Negotiate) {
      policy.templates = templates_for(Protection{true, false, filter.tunnel_endpoint}, family_of(filter), direction, filter.id,
                                       filter.accept_unsecured && direction == XFRM_POLICY_IN);
    }
    out.push_back(std::move(policy));
  }
  return out;
}

std::vector<KernelPolicy> Spd::narrowed_policies(const Entry& entry, const IpAddress& peer, Kind kind,
                                                 const Protection* protection) const {
  const auto& filter = entry.filter;
  if (filter.source.family() != peer.family()) return {};
  const bool tunnel = kind == Kind::Soft ? filter.tunnel_endpoint.has_value() : protection->tunnel_endpoint.has_value();
  std::vector<KernelPolicy> out;
  for (const auto direction : directions_for(tunnel)) {
    DriverFilter narrowed = filter;
    // Transport mode: outbound traffic goes to the peer, inbound comes from it. A tunnel carries
    // the filter's whole traffic to its gateway.
    if (!tunnel) {
      auto& side = direction == XFRM_POLICY_OUT ? narrowed.destination : narrowed.source;
      if (!side.contains(peer)) continue;
      side = IpPrefix::host(peer);
    }
    KernelPolicy policy;
    policy.selector = selector_for(narrowed, entry.source_port, entry.destination_port);
    policy.direction = direction;
    policy.priority = base_ + entry.rank * kSlotsPerRank + (kind == Kind::Soft ? kSoftSlot : kPeerSlot);
    if (kind == Kind::Peer) {
      policy.templates = templates_for(*protection, family_of(filter), direction, filter.id,
                                       filter.accept_unsecured && direction == XFRM_POLICY_IN);
    }
    out.push_back(std::move(policy));
  }
  return out;
}

std::vector<KernelPolicy> Spd::peer_claim(std::uint32_t filter_id, const IpAddress& peer, const Protection& protection) const {
  std::vector<KernelPolicy> out;
  for (const auto& entry : entries_) {
    if (entry.filter.id != filter_id || entry.filter.action != FilterAction::Negotiate) continue;
    for (auto& policy : narrowed_policies(entry, peer, Kind::Peer, &protection)) out.push_back(std::move(policy));
    if (protection.tunnel_endpoint) {
      for (auto& policy : tunnel_return_policies(entry, protection)) out.push_back(std::move(policy));
    }
  }
  return out;
}

// Windows tunnel rules come in unmirrored pairs (ours -> theirs through their endpoint, theirs ->
// ours through ours), and quick mode negotiates the SA pair for the outbound one: what its inbound
// SA delivers is the filter's reply direction, which the partner rule's filter covers with a
// template of its own (its reqid, our endpoint). The reply direction therefore gets inbound and
// forward policies for the SA pair's templates, at the filter's rank or the partner's if that comes
// first (as driver/engine accepts what an inbound tunnel SA delivers when its reverse matches the
// SA's filter). For a mirrored filter these repeat the policies of its generated reply entry.
std::vector<KernelPolicy> Spd::tunnel_return_policies(const Entry& entry, const Protection& protection) const {
  DriverFilter reply = entry.filter;
  std::swap(reply.source, reply.destination);
  std::swap(reply.source_ports, reply.destination_ports);
  std::uint32_t rank = entry.rank;
  for (const auto& other : entries_) {
    const auto& f = other.filter;
    if (f.source == reply.source && f.destination == reply.destination && f.protocol == reply.protocol &&
        f.source_ports == reply.source_ports && f.destination_ports == reply.destination_ports) {
      rank = std::min(rank, other.rank);
    }
  }
  std::vector<KernelPolicy> out;
  for (const auto direction : {std::uint8_t{XFRM_POLICY_IN}, std::uint8_t{XFRM_POLICY_FWD}}) {
    KernelPolicy policy;
    policy.selector = selector_for(reply, entry.destination_port, entry.source_port);
    policy.direction = direction;
    policy.priority = base_ + rank * kSlotsPerRank + kPeerSlot;
    policy.templates = templates_for(protection, family_of(entry.filter), direction, entry.filter.id, false);
    out.push_back(std::move(policy));
  }
  return out;
}

std::vector<KernelPolicy> Spd::soft_claim(std::uint32_t filter_id, const IpAddress& peer) const {
  std::vector<KernelPolicy> out;
  for (const auto& entry : entries_) {
    if (entry.filter.id != filter_id || entry.filter.action != FilterAction::Negotiate) continue;
    for (auto& policy : narrowed_policies(entry, peer, Kind::Soft, nullptr)) out.push_back(std::move(policy));
  }
  return out;
}

std::set<PolicyKey> Spd::claim(const Owner& owner, std::vector<KernelPolicy> policies) {
  std::set<PolicyKey> touched;
  if (auto previous = claims_.find(owner); previous != claims_.end()) {
    for (const auto& policy : previous->second) {
      const auto key = policy.key();
      touched.insert(key);
      auto& at_key = candidates_[key];
      at_key.erase({policy.priority, owner});
      if (at_key.empty()) candidates_.erase(key);
    }
    claims_.erase(previous);
  }
  for (const auto& policy : policies) {
    const auto key = policy.key();
    touched.insert(key);
    candidates_[key][{policy.priority, owner}] = policy;
  }
  if (!policies.empty()) claims_[owner] = std::move(policies);
  return touched;
}

Expected<std::pair<std::size_t, std::size_t>, std::string> Spd::apply(const std::set<PolicyKey>& keys) {
  std::vector<const KernelPolicy*> upserts;
  std::vector<PolicyKey> deletes;
  for (const auto& key : keys) {
    const auto wanted = candidates_.find(key);
    const auto held = installed_.find(key);
    if (wanted != candidates_.end()) {
      const KernelPolicy& winner = wanted->second.begin()->second;
      if (held == installed_.end() || !held->second.same_as(winner)) upserts.push_back(&winner);
    } else if (held != installed_.end()) {
      deletes.push_back(key);
    }
  }
  std::stable_sort(upserts.begin(), upserts.end(), [](const KernelPolicy* a, const KernelPolicy* b) { return a->priority < b->priority; });
  const auto fail_after = std::exchange(fail_after_, std::nullopt);
  for (std::size_t i = 0; i < upserts.size(); ++i) {
    const KernelPolicy* policy = upserts[i];
    if (fail_after && i == *fail_after) return unexpected("injected_failure after " + std::to_string(i) + " XFRM policies (a test's)");
    if (auto put = put_policy(socket_, *policy); !put) return unexpected(put.error());
    installed_[policy->key()] = *policy;
  }
  for (const auto& key : deletes) {
    if (auto deleted = delete_policy(socket_, key); !deleted) return unexpected(deleted.error());
    installed_.erase(key);
  }
  return std::pair{upserts.size(), deletes.size()};
}

Expected<SpdSummary, std::string> Spd::install_table(const FilterTable& table) {
  std::vector<Entry> entries;
  for (const auto& filter : table.filters) {
    if (filter.source.family() != filter.destination.family()) continue;
    for (const auto& source_port : port_range_to_masks(filter.source_ports)) {
      for (const auto& destination_port : port_range_to_masks(filter.destination_ports)) {
        if (entries.size() >= kMaxTableSelectors) {
          return unexpected("the table needs more than " + std::to_string(kMaxTableSelectors) + " XFRM selectors");
        }
        entries.push_back(Entry{filter, source_port, destination_port, static_cast<std::uint32_t>(entries.size())});
      }
    }
  }
  SpdSummary summary;
  const std::uint32_t needed = static_cast<std::uint32_t>(std::max<std::size_t>(entries.size(), 1) * kSlotsPerRank);
  if (options_.top - options_.floor < needed) return unexpected(std::string("the table does not fit Ward's XFRM priorities"));
  std::uint32_t base = (base_ == 0 ? options_.top : base_) - needed;
  if (base_ != 0 && (base_ < options_.floor + needed)) {
    base = options_.top - needed;  // wrapped: this one table goes in above the old one
    summary.consistent = false;
  }

  // Every claim that depends on the table: dropped, then made again at the new ranks.
  std::set<PolicyKey> touched;
  std::vector<Owner> soft, table_owned;
  for (const auto& [owner, policies] : claims_) {
    if (owner.kind == Kind::Soft) soft.push_back(owner);
    if (owner.kind != Kind::Dynamic) table_owned.push_back(owner);
  }
  for (const auto& owner : table_owned) touched.merge(claim(owner, {}));
  base_ = base;
  entries_ = std::move(entries);
  table_ = table;
  for (const auto& entry : entries_) {
    auto policies = table_policies(entry);
    auto& owned = claims_[Owner{Kind::Table, entry.filter.id, {}}];
    for (const auto& policy : policies) {
      touched.insert(policy.key());
      candidates_[policy.key()][{policy.priority, Owner{Kind::Table, entry.filter.id, {}}}] = policy;
      owned.push_back(policy);
    }
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto policies = peer_claim(it->first.id, it->first.peer, it->second);
    if (policies.empty()) {
      it = peers_.erase(it);  // its filter went away (IKE deletes its SAs)
      continue;
    }
    touched.merge(claim(it->first, std::move(policies)));
    ++it;
  }
  for (const auto& owner : soft) touched.merge(claim(owner, soft_claim(owner.id, owner.peer)));

  auto applied = apply(touched);
  if (!applied) return unexpected(applied.error());
  summary.policies_added = applied->first;
  summary.policies_removed = applied->second;
  summary.base = base_;
  return summary;
}

const DriverFilter* Spd::negotiate_filter(std::uint32_t id) const {
  for (const auto& filter : table_.filters) {
    if (filter.id == id && filter.action == FilterAction::Negotiate) return &filter;
  }
  return nullptr;
}

std::optional<std::uint32_t> Spd::filter_at(std::uint32_t priority) const {
  if (priority < base_) return std::nullopt;
  const std::uint32_t rank = (priority - base_) / kSlotsPerRank;
  if (rank >= entries_.size()) return std::nullopt;
  return entries_[rank].filter.id;
}

Expected<void, std::string> Spd::protect_peer(std::uint32_t filter_id, const IpAddress& peer, const Protection& protection) {
  const Owner owner{Kind::Peer, filter_id, peer};
  auto policies = peer_claim(filter_id, peer, protection);
  // No negotiate filter of the table covers the pair (the table changed while IKE negotiated): no
  // policy carries its traffic, and IKE deletes the SAs of filters that went away.
  if (policies.empty()) {
    peers_.erase(owner);
  } else {
    peers_[owner] = protection;
  }
  auto applied = apply(claim(owner, std::move(policies)));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<void, std::string> Spd::unprotect_peer(std::uint32_t filter_id, const IpAddress& peer) {
  const Owner owner{Kind::Peer, filter_id, peer};
  peers_.erase(owner);
  auto applied = apply(claim(owner, {}));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<void, std::string> Spd::add_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  auto policies = soft_claim(filter_id, peer);
  if (policies.empty()) {
    return unexpected("filter " + std::to_string(filter_id) + " is not a negotiate filter of the table covering " + peer.to_string());
  }
  auto applied = apply(claim(Owner{Kind::Soft, filter_id, peer}, std::move(policies)));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<void, std::string> Spd::remove_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  auto applied = apply(claim(Owner{Kind::Soft, filter_id, peer}, {}));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<std::map<std::pair<std::uint32_t, IpAddress>, std::uint64_t>, std::string> Spd::soft_association_use() {
  std::map<std::pair<std::uint32_t, IpAddress>, std::uint64_t> out;
  if (std::none_of(claims_.begin(), claims_.end(), [](const auto& c) { return c.first.kind == Kind::Soft; })) return out;
  auto listed = list_policies(socket_, options_.floor, options_.dynamic + kDynamicSlots);
  if (!listed) return unexpected(listed.error());
  std::map<PolicyKey, std::uint64_t> last_use;
  for (const auto& policy : *listed) last_use[policy.key] = std::max(policy.use_time, policy.add_time);
  for (const auto& [owner, policies] : claims_) {
    if (owner.kind != Kind::Soft) continue;
    std::uint64_t latest = 0;
    for (const auto& policy : policies) {
      if (auto found = last_use.find(policy.key()); found != last_use.end()) latest = std::max(latest, found->second);
    }
    out[{owner.id, owner.peer}] = latest;
  }
  return out;
}

Expected<void, std::string> Spd::add_dynamic(const DriverFilter& filter, const Protection& protection, std::uint32_t slot) {
  if (slot >= kDynamicSlots) return unexpected("more than " + std::to_string(kDynamicSlots) + " dynamic filters");
  std::vector<KernelPolicy> policies;
  for (const auto direction : {std::uint8_t{XFRM_POLICY_OUT}, std::uint8_t{XFRM_POLICY_IN}}) {
    DriverFilter written = filter;
    if (direction == XFRM_POLICY_IN) {
      std::swap(written.source, written.destination);
      std::swap(written.source_ports, written.destination_ports);
    }
    KernelPolicy policy;
    policy.selector = exact_selector(written);
    policy.direction = direction;
    policy.priority = options_.dynamic + slot;
    policy.templates = templates_for(protection, family_of(filter), direction, filter.id, false);
    policies.push_back(std::move(policy));
  }
  auto applied = apply(claim(Owner{Kind::Dynamic, filter.id, {}}, std::move(policies)));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<void, std::string> Spd::remove_dynamic(std::uint32_t id) {
  auto applied = apply(claim(Owner{Kind::Dynamic, id, {}}, {}));
  if (!applied) return unexpected(applied.error());
  return {};
}

Expected<std::size_t, std::string> Spd::remove_all() {
  claims_.clear();
  candidates_.clear();
  installed_.clear();
  peers_.clear();
  entries_.clear();
  table_ = {};
  base_ = 0;
  auto listed = list_policies(socket_, options_.floor, options_.dynamic + kDynamicSlots);
  if (!listed) return unexpected(listed.error());
  for (const auto& policy : *listed) {
    if (auto deleted = delete_policy(socket_, policy.key); !deleted) return unexpected(deleted.error());
  }
  return listed->size();
}

}  // namespace ward::driver::xfrm
