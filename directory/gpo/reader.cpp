#include "directory/gpo/reader.h"

#include <map>
#include <set>

#include "directory/gpo/dn.h"

namespace ward::gpo {
namespace {

constexpr std::uint32_t kPageSize = 500;
constexpr const char* kIpsecAssignmentPrefix = "cn=ipsec,cn=windows,cn=microsoft,cn=machine,";
constexpr const char* kIpsecOwnersReference = "ipsecOwnersReference";
constexpr std::uint32_t kDaclSecurityInformation = 0x4;  // SD flags: the DACL only

GpoError from_ldap(const ldap::LdapError& e) { return GpoError{e.dn, "", e.to_string()}; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      auto byte = static_cast<unsigned char>(c);
      out += '\\';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

std::string rdn_value(std::string_view rdn) {
  auto eq = rdn.find('=');
  std::string_view raw = eq == std::string_view::npos ? rdn : rdn.substr(eq + 1);
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      int hi = hex_value(raw[i + 1]);
      int lo = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += raw[i + 1];
        ++i;
      }
    } else {
      out += raw[i];
    }
  }
  return out;
}

Expected<std::string, GpoError> find_computer_by_account(ldap::Session& session, std::string_view domain_dn,
                                                         std::string_view account) {
  std::string name(account);
  if (name.empty()) return unexpected(GpoError{std::string(domain_dn), "sAMAccountName", "empty account name"});
  if (name.back() != '$') name += '$';
  ldap::SearchRequest request;
  request.base = std::string(domain_dn);
  request.scope = ldap::Scope::kSubtree;
  request.filter = "(&(objectClass=computer)(sAMAccountName=" + escape_filter_value(name) + "))";
  request.attributes = {"1.1"};  // no attributes: DNs only
  auto found = session.search(request);
  if (!found) return unexpected(from_ldap(found.error()));
  if (found->size() != 1) {
    return unexpected(GpoError{std::string(domain_dn), "sAMAccountName",
                               std::to_string(found->size()) + " computer objects named '" + name +
                                   "' (exactly one expected)"});
  }
  return (*found)[0].dn;
}

Expected<ComputerScope, GpoError> read_computer_scope(ldap::Session& session, std::string_view computer_dn,
                                                      const std::optional<std::string>& site_dn) {
  return read_computer_scope(session, computer_dn, ScopeOptions{site_dn, false, std::nullopt});
}

Expected<ComputerScope, GpoError> read_computer_scope(ldap::Session& session, std::string_view computer_dn,
                                                      const ScopeOptions& options) {
  const std::optional<std::string>& site_dn = options.site_dn;
  const std::uint64_t start_round_trips = session.round_trips();
  ComputerScope out;
  out.computer_dn = std::string(computer_dn);
  const std::string domain = domain_dn(computer_dn);
  auto rdns = split_dn(computer_dn);
  if (domain.empty() || !rdns || rdns->size() < 2) {
    return unexpected(GpoError{out.computer_dn, "", "not a computer DN inside a DC= domain"});
  }

  out.container_dn = options.placement_dn ? *options.placement_dn : parent_dn(computer_dn);
  if (options.placement_dn && normalize_dn(domain_dn(*options.placement_dn)) != normalize_dn(domain)) {
    return unexpected(GpoError{*options.placement_dn, "", "cannot model " + out.computer_dn +
                                                              " there: not a container of its domain " + domain});
  }

  // The chain of SOMs from the domain down to the computer's OU (CN= containers hold no links).
  std::vector<std::string> ou_dns;  // child -> parent for now
  std::string filter = "(|(&(objectClass=computer)(cn=" + escape_filter_value(rdn_value((*rdns)[0])) + "))";
  std::set<std::string> ou_names;
  for (std::string dn = out.container_dn; !dn.empty() && normalize_dn(dn) != normalize_dn(domain);
       dn = parent_dn(dn)) {
    auto parts = split_dn(dn);
    if (!parts || parts->empty()) break;
    if (rdn_type((*parts)[0]) != "ou") continue;
    ou_dns.push_back(dn);
    ou_names.insert(rdn_value((*parts)[0]));
  }
  for (const auto& name : ou_names) filter += "(ou=" + escape_filter_value(name) + ")";
  auto domain_rdns = split_dn(domain);
  filter += "(dc=" + escape_filter_value(rdn_value((*domain_rdns)[0])) + "))";

  ldap::SearchRequest request;
  request.base = domain;
  request.scope = ldap::Scope::kSubtree;
  request.filter = filter;
  request.attributes = {"gPLink", "gPOptions"};
  request.page_size = kPageSize;
  auto found = session.search(request);
  if (!found) return unexpected(from_ldap(found.error()));
  std::map<std::string, const ldap::Entry*> by_dn;
  for (const auto& e : *found) by_dn[normalize_dn(e.dn)] = &e;
  if (by_dn.find(normalize_dn(computer_dn)) == by_dn.end()) {
    return unexpected(GpoError{out.computer_dn, "", "computer object not found under " + domain});
  }
  auto som_from = [&](const std::string& dn, SomKind kind) -> Expected<Som, GpoError> {
    auto it = by_dn.find(normalize_dn(dn));
    if (it == by_dn.end()) {
      return unexpected(GpoError{dn, "", std::string(options.placement_dn ? "container to model " : "container of computer ") +
                                             out.computer_dn + " not found (or not readable); cannot scope its GPOs"});
    }
    return make_som(dn, kind, it->second->first("gPLink"), it->second->first("gPOptions"));
  };
  auto domain_som = som_from(domain, SomKind::kDomain);
  if (!domain_som) return unexpected(domain_som.error());
  out.input.domain_and_ous.push_back(std::move(*domain_som));
  for (auto it = ou_dns.rbegin(); it != ou_dns.rend(); ++it) {
    auto som = som_from(*it, SomKind::kOrganizationalUnit);
    if (!som) return unexpected(som.error());
    out.input.domain_and_ous.push_back(std::move(*som));
  }

  if (site_dn) {
    ldap::SearchRequest site_request{*site_dn, ldap::Scope::kBase, "(objectClass=*)", {"gPLink", "gPOptions"}, 0};
    auto site = session.search(site_request);
    if (!site) return unexpected(from_ldap(site.error()));
    if (site->size() != 1) return unexpected(GpoError{*site_dn, "", "site object not found"});
    auto som = make_som(*site_dn, SomKind::kSite, (*site)[0].first("gPLink"), (*site)[0].first("gPOptions"));
    if (!som) return unexpected(som.error());
    out.input.site = std::move(*som);
  }

  if (options.security_filtering) {
    auto token = read_computer_token(session, out.computer_dn);
    if (!token) return unexpected(token.error());
    out.token = std::move(*token);
  }
  std::map<std::string, std::optional<std::string>> descriptors;  // normalized GPO DN -> nTSecurityDescriptor

  // Linked GPOs, grouped by the container they live in.
  std::map<std::string, std::pair<std::string, std::set<std::string>>> containers;  // norm -> (dn, cn values)
  auto collect = [&](const Som& som) {
    for (const auto& link : som.links) {  // disabled links too: their GPOs' names are shown
      auto parts = split_dn(link.gpo_dn);
      if (!parts || parts->size() < 2) continue;
      std::string parent = parent_dn(link.gpo_dn);
      auto& slot = containers[normalize_dn(parent)];
      slot.first = parent;
      slot.second.insert(rdn_value((*parts)[0]));
    }
  };
  if (out.input.site) collect(*out.input.site);
  for (const auto& som : out.input.domain_and_ous) collect(som);

  for (const auto& [key, container] : containers) {
    std::string gpo_filter = "(|(&(objectClass=groupPolicyContainer)(|";
    for (const auto& cn : container.second) gpo_filter += "(cn=" + escape_filter_value(cn) + ")";
    gpo_filter += "))(&(objectClass=ipsecPolicy)(cn=IPSEC)))";
    ldap::SearchRequest gpo_request{container.first, ldap::Scope::kSubtree, gpo_filter,
                                    {"objectClass", "displayName", "flags", kIpsecOwnersReference}, kPageSize};
    if (out.token) {
      gpo_request.attributes.push_back("nTSecurityDescriptor");
      gpo_request.sd_flags = kDaclSecurityInformation;
    }
    auto gpo_entries = session.search(gpo_request);
    if (!gpo_entries) return unexpected(from_ldap(gpo_entries.error()));
    std::map<std::string, std::string> assignments;  // normalized GPO DN -> policy DN
    for (const auto& e : *gpo_entries) {
      const std::string norm = normalize_dn(e.dn);
      if (norm.rfind(kIpsecAssignmentPrefix, 0) == 0) {
        if (auto policy = e.first(kIpsecOwnersReference)) {
          assignments[norm.substr(std::char_traits<char>::length(kIpsecAssignmentPrefix))] = *policy;
        }
      }
    }
    for (const auto& e : *gpo_entries) {
      const std::string norm = normalize_dn(e.dn);
      if (norm.rfind(kIpsecAssignmentPrefix, 0) == 0 || normalize_dn(parent_dn(e.dn)) != key) continue;
      GpoObject gpo;
      gpo.dn = e.dn;
      gpo.display_name = e.first("displayName").value_or("");
      if (auto flags = e.first("flags")) {
        auto parsed = parse_gpo_flags(*flags, e.dn);
        if (!parsed) return unexpected(parsed.error());
        gpo.flags = *parsed;
      }
      if (auto it = assignments.find(norm); it != assignments.end()) gpo.ipsec_policy_dn = it->second;
      if (out.token) descriptors[norm] = e.first("nTSecurityDescriptor");
      out.input.gpos.push_back(std::move(gpo));
    }
  }

  if (out.token) {
    std::vector<security::Sid> to_name;
    for (const auto& [dn, descriptor] : descriptors) {
      for (auto& sid : deciding_sids(descriptor, *out.token)) to_name.push_back(std::move(sid));
    }
    const auto names = sid_names(session, domain, to_name);
    for (auto& gpo : out.input.gpos) {
      auto why = security_filter(gpo.dn, descriptors[normalize_dn(gpo.dn)], *out.token, names);
      if (!why) return unexpected(why.error());
      gpo.filtered_out = std::move(*why);
    }
  }

  out.scope = compute_scope(out.input);
  out.winner = pick_ipsec_winner(out.scope);
  out.round_trips = session.round_trips() - start_round_trips;
  return out;
}

}  // namespace ward::gpo
