#include "directory/gpo/scope.h"

#include <map>

#include "directory/gpo/dn.h"

namespace ward::gpo {

const char* skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::kLinkDisabled: return "link disabled";
    case SkipReason::kBlockedByInheritance: return "blocked by inheritance";
    case SkipReason::kComputerSettingsDisabled: return "computer settings disabled";
    case SkipReason::kGpoNotFound: return "GPO not found";
    case SkipReason::kSecurityFiltering: return "security filtering";
  }
  return "unknown";
}

Expected<Som, GpoError> make_som(std::string dn, SomKind kind, const std::optional<std::string>& gplink,
                                 const std::optional<std::string>& gpoptions) {
  Som som;
  som.kind = kind;
  if (gplink) {
    auto links = parse_gplink(*gplink, dn);
    if (!links) return unexpected(links.error());
    som.links = std::move(*links);
  }
  if (gpoptions) {
    auto block = parse_gpoptions(*gpoptions, dn);
    if (!block) return unexpected(block.error());
    som.block_inheritance = *block;
  }
  som.dn = std::move(dn);
  return som;
}

ScopeResult compute_scope(const ScopeInput& input) {
  std::vector<const Som*> chain;  // site, domain, OUs parent -> child
  if (input.site) chain.push_back(&*input.site);
  for (const auto& som : input.domain_and_ous) chain.push_back(&som);

  std::map<std::string, const GpoObject*> gpos;
  for (const auto& gpo : input.gpos) gpos[normalize_dn(gpo.dn)] = &gpo;

  // Non-enforced links of SOMs above the deepest blocking SOM are dropped.
  std::size_t first_inherited = 0;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (chain[i]->block_inheritance && chain[i]->kind != SomKind::kSite) first_inherited = i;
  }

  ScopeResult result;
  auto apply = [&](const Som& som, const GpLink& link) {
    auto it = gpos.find(normalize_dn(link.gpo_dn));
    if (it == gpos.end()) {
      result.skipped.push_back({link.gpo_dn, som.dn, SkipReason::kGpoNotFound, {}, {}});
      return;
    }
    const GpoObject& gpo = *it->second;
    if ((gpo.flags & kGpoFlagComputerSettingsDisabled) != 0) {
      result.skipped.push_back({link.gpo_dn, som.dn, SkipReason::kComputerSettingsDisabled, gpo.display_name, {}});
      return;
    }
    if (gpo.filtered_out) {
      result.skipped.push_back({link.gpo_dn, som.dn, SkipReason::kSecurityFiltering, gpo.display_name, *gpo.filtered_out});
      return;
    }
    result.applied.push_back({link.gpo_dn, gpo.display_name, som.dn, link.enforced(), gpo.ipsec_policy_dn});
  };

  const auto name_of = [&](const GpLink& link) {
    const auto it = gpos.find(normalize_dn(link.gpo_dn));
    return it == gpos.end() ? std::string() : it->second->display_name;
  };
  for (std::size_t i = 0; i < chain.size(); ++i) {
    for (const auto& link : chain[i]->links) {
      if (link.disabled()) {
        result.skipped.push_back({link.gpo_dn, chain[i]->dn, SkipReason::kLinkDisabled, name_of(link), {}});
      } else if (link.enforced()) {
        continue;  // applied in the enforced pass below
      } else if (i < first_inherited) {
        result.skipped.push_back({link.gpo_dn, chain[i]->dn, SkipReason::kBlockedByInheritance, name_of(link),
                                  "blocked by inheritance: " + chain[first_inherited]->dn + " blocks inheritance"});
      } else {
        apply(*chain[i], link);
      }
    }
  }
  for (std::size_t i = chain.size(); i-- > 0;) {
    for (const auto& link : chain[i]->links) {
      if (link.enforced() && !link.disabled()) apply(*chain[i], link);
    }
  }
  return result;
}

std::optional<IpsecAssignment> pick_ipsec_winner(const ScopeResult& scope) {
  for (auto it = scope.applied.rbegin(); it != scope.applied.rend(); ++it) {
    if (it->ipsec_policy_dn && !it->ipsec_policy_dn->empty()) {
      return IpsecAssignment{*it->ipsec_policy_dn, it->gpo_dn, it->display_name, it->som_dn};
    }
  }
  return std::nullopt;
}

}  // namespace ward::gpo
