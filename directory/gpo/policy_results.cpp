#include "directory/gpo/policy_results.h"

#include <map>

#include "directory/gpo/dn.h"
#include "directory/gpo/site.h"
#include "directory/ldap/root_dse.h"

namespace ward::gpo {
namespace {

struct ComputerObject {
  std::string dn;
  std::optional<std::string> site_name;      // msDS-SiteName
  std::optional<std::string> dns_host_name;  // only when the query can resolve it
};

// The computer by DN (a base search) or by sAMAccountName (a subtree search of the domain), with
// its msDS-SiteName: one round trip.
Expected<ComputerObject, ResultsError> find_computer(ldap::Session& session, const ResultsQuery& query) {
  ldap::SearchRequest request;
  request.attributes = {"msDS-SiteName"};
  if (query.resolve) request.attributes.push_back("dNSHostName");
  std::string what;
  std::string attribute;
  if (!query.computer_dn.empty()) {
    request.base = query.computer_dn;
    request.scope = ldap::Scope::kBase;
    what = query.computer_dn;
  } else {
    std::string account = query.computer_account;
    if (!account.empty() && account.back() != '$') account += '$';
    request.base = query.domain_dn;
    request.scope = ldap::Scope::kSubtree;
    request.filter = "(&(objectClass=computer)(sAMAccountName=" + escape_filter_value(account) + "))";
    what = "sAMAccountName " + account + " under " + query.domain_dn;
    attribute = "sAMAccountName";
  }
  const std::string step = "finding computer " + what;
  auto entries = session.search(request);
  if (!entries) return unexpected(ResultsError{step, GpoError{request.base, "", entries.error().to_string()}});
  if (entries->size() != 1) {
    return unexpected(ResultsError{step, GpoError{request.base, attribute,
                                                  std::to_string(entries->size()) +
                                                      " computer objects found (exactly one expected)"}});
  }
  return ComputerObject{(*entries)[0].dn, (*entries)[0].first("msDS-SiteName"), (*entries)[0].first("dNSHostName")};
}

Expected<SiteResult, ResultsError> find_site(ldap::Session& session, const ResultsQuery& query,
                                             const ComputerObject& computer, const ldap::RootDse& root) {
  if (query.site_dn) return SiteResult{*query.site_dn, query.site_given_as};
  const std::string configuration = root.configuration_naming_context.empty()
                                        ? "CN=Configuration," + query.domain_dn
                                        : root.configuration_naming_context;
  if (computer.site_name) return SiteResult{"CN=" + *computer.site_name + ",CN=Sites," + configuration, "msDS-SiteName"};
  auto subnets = read_subnets(session, configuration);
  if (!subnets) return unexpected(ResultsError{"reading the subnets of the sites", subnets.error()});
  std::vector<IpAddress> addresses = query.addresses;
  std::string addresses_from = query.addresses_from;
  if (addresses.empty() && query.resolve && computer.dns_host_name && !subnets->empty()) {
    addresses = query.resolve(*computer.dns_host_name);
    addresses_from = "address of DNS name " + *computer.dns_host_name;
  }
  const auto picked = pick_site(*subnets, addresses);
  if (!picked) return SiteResult{};
  std::string from = "subnet " + picked->subnet.to_string();
  if (!addresses_from.empty()) from += " (" + addresses_from + ")";
  return SiteResult{picked->site_dn, from};
}

std::string label(const std::string& name, const std::string& dn) { return name.empty() ? dn : name; }

}  // namespace

std::string_view som_kind_name(SomKind kind) {
  switch (kind) {
    case SomKind::kSite: return "site";
    case SomKind::kDomain: return "domain";
    case SomKind::kOrganizationalUnit: return "OU";
  }
  return "?";
}

std::vector<GpoResult> describe_gpos(const ComputerScope& scope) {
  struct LinkFacts {
    SomKind kind;
    std::size_t order;
    bool enforced;
    bool enabled;
  };
  std::map<std::string, LinkFacts> links;  // "som|gpo", normalized
  const auto key = [](const std::string& som, const std::string& gpo) { return normalize_dn(som) + "|" + normalize_dn(gpo); };
  const auto add_som = [&](const Som& som) {
    for (std::size_t i = 0; i < som.links.size(); ++i) {
      const auto& link = som.links[i];
      links.emplace(key(som.dn, link.gpo_dn), LinkFacts{som.kind, som.links.size() - i, link.enforced(), !link.disabled()});
    }
  };
  if (scope.input.site) add_som(*scope.input.site);
  for (const auto& som : scope.input.domain_and_ous) add_som(som);
  std::map<std::string, const GpoObject*> gpos;
  for (const auto& gpo : scope.input.gpos) gpos[normalize_dn(gpo.dn)] = &gpo;
  const auto fill_link = [&](GpoResult& out) {
    if (const auto it = links.find(key(out.som_dn, out.dn)); it != links.end()) {
      out.som_kind = it->second.kind;
      out.link_order = it->second.order;
      out.enforced = it->second.enforced;
      out.link_enabled = it->second.enabled;
    }
    if (const auto it = gpos.find(normalize_dn(out.dn)); it != gpos.end()) {
      out.ipsec_policy_dn = it->second->ipsec_policy_dn;
      if (out.name.empty()) out.name = it->second->display_name;
    }
  };

  std::vector<GpoResult> out;
  const auto& applied = scope.scope.applied;
  std::optional<std::size_t> winner;  // the last applied GPO that assigns a policy wins
  for (std::size_t i = applied.size(); i-- > 0;) {
    if (applied[i].ipsec_policy_dn && !applied[i].ipsec_policy_dn->empty()) {
      winner = i;
      break;
    }
  }
  for (std::size_t i = 0; i < applied.size(); ++i) {
    const auto& gpo = applied[i];
    GpoResult result;
    result.name = gpo.display_name;
    result.dn = gpo.gpo_dn;
    result.som_dn = gpo.som_dn;
    fill_link(result);
    result.enforced = gpo.enforced;
    result.applied = true;
    result.precedence = applied.size() - i;
    result.ipsec_policy_dn = gpo.ipsec_policy_dn;
    if (winner && *winner == i) {
      result.wins = true;
      result.note = "its IPsec policy wins";
    } else if (!gpo.ipsec_policy_dn || gpo.ipsec_policy_dn->empty()) {
      result.note = "assigns no IPsec policy";
    } else {
      const auto& by = applied[*winner];  // a later one assigns a policy: it exists
      result.note = "its IPsec policy is overridden by GPO " + label(by.display_name, by.gpo_dn) + " (linked at " +
                    by.som_dn + ", precedence " + std::to_string(applied.size() - *winner) + ")";
    }
    out.push_back(std::move(result));
  }
  for (const auto& skipped : scope.scope.skipped) {
    GpoResult result;
    result.name = skipped.display_name;
    result.dn = skipped.gpo_dn;
    result.som_dn = skipped.som_dn;
    fill_link(result);
    result.note = skipped.detail.empty() ? skip_reason_name(skipped.reason) : skipped.detail;
    out.push_back(std::move(result));
  }
  return out;
}

Expected<PolicyResults, ResultsError> read_policy_results(ldap::Session& session, const ResultsQuery& query) {
  const std::uint64_t start = session.round_trips();
  auto root = session.root_dse();
  if (!root) return unexpected(ResultsError{"reading the root DSE", GpoError{"", "", root.error().to_string()}});
  const auto traits = ldap::traits_of(*root);
  PolicyResults out;
  out.directory = std::string(ldap::directory_kind_name(traits.kind));
  out.security_filtering = traits.security_filtering;
  out.modelled = query.placement_dn.has_value() || query.site_given_as == "modelled";

  auto computer = find_computer(session, query);
  if (!computer) return unexpected(computer.error());
  out.computer_dn = computer->dn;
  auto site = find_site(session, query, *computer, *root);
  if (!site) return unexpected(site.error());
  out.site = std::move(*site);

  ScopeOptions options;
  if (!out.site.dn.empty()) options.site_dn = out.site.dn;
  options.security_filtering = traits.security_filtering;
  options.placement_dn = query.placement_dn;
  auto scope = read_computer_scope(session, out.computer_dn, options);
  if (!scope) return unexpected(ResultsError{"scoping the GPOs of " + out.computer_dn, scope.error()});
  out.scope = std::move(*scope);
  out.container_dn = out.scope.container_dn;
  if (out.scope.token) out.account = out.scope.token->account;
  if (out.scope.input.site) {
    const auto& som = *out.scope.input.site;
    out.soms.push_back({som.dn, som.kind, som.block_inheritance, som.links.size()});
  }
  for (const auto& som : out.scope.input.domain_and_ous) {
    out.soms.push_back({som.dn, som.kind, som.block_inheritance, som.links.size()});
  }
  out.gpos = describe_gpos(out.scope);
  out.winner = out.scope.winner;
  out.round_trips = session.round_trips() - start;
  return out;
}

}  // namespace ward::gpo
