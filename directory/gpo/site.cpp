#include "directory/gpo/site.h"

#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"

namespace ward::gpo {

std::optional<SubnetSite> pick_site(const std::vector<SubnetSite>& subnets, const std::vector<IpAddress>& addresses) {
  const SubnetSite* best = nullptr;
  for (const auto& address : addresses) {
    for (const auto& subnet : subnets) {
      if (subnet.subnet.family() != address.family() || !subnet.subnet.contains(address)) continue;
      if (best == nullptr || subnet.subnet.length() > best->subnet.length()) best = &subnet;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

Expected<std::vector<SubnetSite>, GpoError> read_subnets(ldap::Session& session, const std::string& configuration_dn) {
  const std::string container = "CN=Subnets,CN=Sites," + configuration_dn;
  auto found = session.search({container, ldap::Scope::kOneLevel, "(objectClass=subnet)", {"cn", "siteObject"}, 0});
  if (!found) {
    if (found.error().result_code == ldap::result_code::kNoSuchObject) return std::vector<SubnetSite>{};
    return unexpected(GpoError{container, "", found.error().to_string()});
  }
  std::vector<SubnetSite> out;
  for (const auto& entry : *found) {
    const auto site = entry.first("siteObject");
    auto rdns = split_dn(entry.dn);
    if (!site || !rdns || rdns->empty()) continue;
    auto prefix = IpPrefix::parse(rdn_value((*rdns)[0]));
    if (!prefix) continue;
    out.push_back({*prefix, entry.dn, *site});
  }
  return out;
}

}  // namespace ward::gpo
