#include "ike/service/ikev2_policy.h"

#include <algorithm>

namespace ward::ike::service {

std::optional<IkeHashAlgorithm> hash_of(v2::PrfId prf) {
  switch (prf) {
    case v2::PrfId::HmacSha1: return IkeHashAlgorithm::Sha;
    case v2::PrfId::HmacSha2_256: return IkeHashAlgorithm::Sha2_256;
    case v2::PrfId::HmacSha2_384: return IkeHashAlgorithm::Sha2_384;
  }
  return std::nullopt;
}

std::vector<v2::IkeProposal> ikev2_proposals(const std::vector<sa::Phase1Proposal>& phase1) {
  std::vector<v2::IkeProposal> out;
  for (const auto& p : phase1) {
    if (p.cipher != IkeEncryptionAlgorithm::AesCbc) continue;
    v2::IkeProposal v;
    v.encryption = v2::EncryptionId::AesCbc;
    v.key_bits = p.key_bits;
    v.group = p.group;
    switch (p.hash) {
      case IkeHashAlgorithm::Sha: v.integrity = v2::IntegrityId::HmacSha1_96; v.prf = v2::PrfId::HmacSha1; break;
      case IkeHashAlgorithm::Sha2_256: v.integrity = v2::IntegrityId::HmacSha2_256_128; v.prf = v2::PrfId::HmacSha2_256; break;
      case IkeHashAlgorithm::Sha2_384: v.integrity = v2::IntegrityId::HmacSha2_384_192; v.prf = v2::PrfId::HmacSha2_384; break;
      default: continue;
    }
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

std::vector<v2::ChildProposal> ikev2_child_proposals(const std::vector<sa::ProtectionSuite>& suites) {
  std::vector<v2::ChildProposal> out;
  for (const auto& s : suites) {
    if (s.ah || !s.esp || s.legacy()) continue;
    out.push_back(v2::ChildProposal{s.esp->cipher, s.esp->integrity});
  }
  return out;
}

v2::TrafficSelector to_ikev2(const sa::TrafficSelector& selector) {
  return v2::TrafficSelector::of(selector.prefix, selector.protocol,
                                 selector.port == 0 ? PortRange::any() : PortRange::single(selector.port));
}

std::optional<sa::TrafficSelector> to_ikev1(const v2::TrafficSelector& selector) {
  if (selector.start.family() != selector.end.family()) return std::nullopt;
  std::uint16_t port = 0;
  if (!selector.ports.is_any()) {
    if (!selector.ports.is_single()) return std::nullopt;
    port = selector.ports.first;
  }
  // The longest prefix whose first address is start and last is end.
  const unsigned width = selector.start.bit_width();
  for (unsigned length = 0; length <= width; ++length) {
    auto prefix = IpPrefix::make(selector.start, length);
    if (!prefix) continue;
    if (v2::TrafficSelector::of(*prefix).end == selector.end) return sa::TrafficSelector{*prefix, selector.ip_protocol, port};
  }
  return std::nullopt;
}

v2::ChildSaConfig ikev2_child(const QuickModePolicy& policy, const IpAddress& local, const IpAddress& peer) {
  v2::ChildSaConfig c;
  c.proposals = ikev2_child_proposals(policy.proposals);
  c.local = to_ikev2(policy.local);
  c.remote = to_ikev2(policy.remote);
  if (policy.tunnel_endpoint) {
    c.mode = driver::crypto::Mode::Tunnel;
    c.tunnel = sa::tunnel_endpoints(local, *policy.tunnel_endpoint);
  } else {
    c.mode = driver::crypto::Mode::Transport;
  }
  c.filter_id = policy.filter_id;
  c.peer = peer;
  c.lifetime = policy.lifetime;
  c.pfs_group = policy.pfs_group;   // CREATE_CHILD_SA only: IKE_AUTH has no PFS (1.2)
  return c;
}

v2::IdPayload address_id(const IpAddress& address, bool initiator) {
  const bool v4 = address.family() == IpFamily::V4;
  v2::Bytes data;
  for (std::size_t i = 0; i < (v4 ? 4U : 16U); ++i) data.push_back(std::byte{address.bytes()[i]});
  return v2::IdPayload{initiator, v4 ? v2::IdType::Ipv4Address : v2::IdType::Ipv6Address, std::move(data)};
}

}  // namespace ward::ike::service
