// What a policy's offers become on this host, decided once per policy apply:
//
//   KeyExchangeSettings.methods    -> phase 1 proposals (cipher/hash/group, lifetime)
//   FilterAction.security_methods  -> quick mode protection suites (ESP, AH, AH+ESP), lifetime,
//                                     PFS group
//
// An offer Ward will not use is skipped, with the sentence validation warns with
// (directory/model/offer_strength.h): DES and DH group 1 always; 3DES, HMAC-MD5 and group 2 unless
// legacy algorithms are allowed (the policy's allow_legacy_algorithms, and the host's
// `[ike] legacy_algorithms`, which can forbid them); what Ward's IKE or driver cannot do
// (AES-192, SHA-384 outside main mode). A rule left with no usable offer (in its filter action,
// or in the key exchange settings) fails closed: enforce_fail_closed() turns its negotiate
// filters into block filters, and the plan says why.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "directory/model/compile.h"
#include "directory/model/policy.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::agent::ikebridge {

struct Phase1Offers {
  std::vector<ike::sa::Phase1Proposal> proposals;   // usable, in the policy's order
  std::vector<std::string> skipped;                 // "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"
};
Phase1Offers phase1_proposals(const model::KeyExchangeSettings& settings, bool allow_legacy);

struct QuickModeProposals {
  std::vector<ike::sa::ProtectionSuite> proposals;   // the action's usable methods, in order
  std::chrono::seconds lifetime{3600};               // the first usable method's
  std::uint64_t lifetime_kilobytes = 0;
  std::optional<ike::IkeGroupDescription> pfs_group;
  bool allow_legacy = false;
  std::vector<std::string> skipped;                  // "security method 3 (ESP DES/SHA-1) skipped: DES is broken"
};
// `pfs_group` is set when the action asks for quick mode PFS or the key exchange settings for
// master key PFS; it is the group of the first usable key exchange method. An action whose every
// method is skipped gives no proposals (not an error); a non-negotiate action is an error.
Expected<QuickModeProposals, std::string> quick_mode_proposals(const model::FilterAction& action,
                                                               const model::KeyExchangeSettings& settings, bool allow_legacy);

struct SkippedOffer {
  std::string object;   // "key exchange settings", "filter action \"Require Security\""
  std::string text;     // "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken"
  friend bool operator==(const SkippedOffer&, const SkippedOffer&) = default;
};

struct FailClosedRule {
  std::size_t rule_index = 0;   // into Policy::rules
  std::string rule_name;        // display name
  std::string reason;           // "filter action \"Require Security\" has no usable security method"
  friend bool operator==(const FailClosedRule&, const FailClosedRule&) = default;
};

struct OfferPlan {
  bool allow_legacy = false;                             // the policy allows them and the host does not forbid them
  std::vector<ike::sa::Phase1Proposal> main_mode;        // empty: no rule can negotiate
  std::map<model::Guid, QuickModeProposals> actions;     // negotiate actions with a usable method
  std::map<model::Guid, std::string> unusable_actions;   // negotiate actions without one, and why
  std::vector<SkippedOffer> skipped;                     // every offer left out, in policy order
  std::vector<FailClosedRule> fail_closed;               // active negotiating rules that block instead

  const FailClosedRule* fail_closed_rule(std::size_t rule_index) const;
};

// `host_allows_legacy`: false for `[ike] legacy_algorithms = never`.
OfferPlan plan_offers(const model::Policy& policy, bool host_allows_legacy);

// The negotiate filters of fail-closed rules become block filters (the table is re-sorted so the
// precedence of equal weights, block before negotiate, still holds). Returns how many changed.
std::size_t enforce_fail_closed(model::CompiledTable& table, const OfferPlan& plan);

}  // namespace ward::agent::ikebridge
