// The PolicyLookup's answers (IKEv1's vocabulary: phase 1 proposals, quick mode protection suites
// and selectors) as IKEv2 configuration, so both versions negotiate from the same policy.
//   phase 1 AES-CBC-n / hash H / group G  ->  IKE SA ENCR AES-CBC-n, INTEG HMAC-H, PRF HMAC-H, G
//   ESP suites                            ->  CHILD_SA ESP proposals (AH suites are left out:
//                                             Ward's IKEv2 negotiates ESP only)
//   quick mode IDs (prefix, protocol, port) <-> traffic selectors (a range that is a prefix)
// 3DES and HMAC-MD5 (IKEv1's legacy algorithms for Windows peers) are never IKEv2 proposals.
#pragma once

#include <optional>
#include <vector>

#include "ike/service/ike_service.h"
#include "ike/v2/ike_auth.h"

namespace ward::ike::service {

std::vector<v2::IkeProposal> ikev2_proposals(const std::vector<sa::Phase1Proposal>& phase1);
std::vector<v2::ChildProposal> ikev2_child_proposals(const std::vector<sa::ProtectionSuite>& suites);
v2::TrafficSelector to_ikev2(const sa::TrafficSelector& selector);
// Nothing when the range is not one prefix or the ports are a range (quick mode IDs cannot say it).
std::optional<sa::TrafficSelector> to_ikev1(const v2::TrafficSelector& selector);
// The CHILD_SA for a quick mode policy between `local` and `peer` (tunnel mode when the policy
// names a tunnel endpoint).
v2::ChildSaConfig ikev2_child(const QuickModePolicy& policy, const IpAddress& local, const IpAddress& peer);
// The IKEv1 hash whose HMAC is `prf` (PresharedKeyProvider::skeyid computes prf(key, ...) with it).
std::optional<IkeHashAlgorithm> hash_of(v2::PrfId prf);
// The address ID (ID_IPV4_ADDR / ID_IPV6_ADDR) of `address`.
v2::IdPayload address_id(const IpAddress& address, bool initiator);

}  // namespace ward::ike::service
