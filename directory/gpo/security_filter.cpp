#include "directory/gpo/security_filter.h"

#include <algorithm>
#include <cctype>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/reader.h"
#include "directory/security/access_check.h"

namespace ward::gpo {
namespace {

constexpr const char* kNtSecurityDescriptor = "nTSecurityDescriptor";

std::string netbios_domain(const std::string& dn) {
  const std::string domain = domain_dn(dn);
  auto rdns = split_dn(domain);
  if (!rdns || rdns->empty()) return "";
  std::string label = rdn_value((*rdns)[0]);
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return label;
}

const std::map<std::string, std::string>& well_known_names() {
  static const std::map<std::string, std::string> names = {
      {security::kEveryone, "Everyone"},
      {security::kAuthenticatedUsers, "NT AUTHORITY\\Authenticated Users"},
      {"S-1-5-18", "NT AUTHORITY\\SYSTEM"},
      {"S-1-5-9", "Enterprise Domain Controllers"},
  };
  return names;
}

std::string name_or_sid(const security::Sid& sid, const std::map<std::string, std::string>& names) {
  const std::string text = sid.to_string();
  if (auto it = names.find(text); it != names.end()) return it->second + " (" + text + ")";
  if (auto it = well_known_names().find(text); it != well_known_names().end()) return it->second;
  return text;
}

std::string escaped_sid(const security::Sid& sid) {
  ByteWriter out;
  out.u8(sid.revision);
  out.u8(static_cast<std::uint8_t>(sid.sub_authorities.size()));
  for (int shift = 40; shift >= 0; shift -= 8) out.u8(static_cast<std::uint8_t>(sid.authority >> shift));
  for (auto sub : sid.sub_authorities) out.u32_le(sub);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::byte b : out.written()) {
    const auto v = std::to_integer<unsigned>(b);
    text += '\\';
    text += kHex[v >> 4];
    text += kHex[v & 0xf];
  }
  return text;
}

struct Verdict {
  security::AccessResult read;
  security::AccessResult apply;
};

Expected<std::optional<Verdict>, GpoError> evaluate(const std::string& gpo_dn, const std::optional<std::string>& descriptor,
                                                    const ComputerToken& token) {
  if (!descriptor) return std::optional<Verdict>{};
  auto sd = security::parse_security_descriptor(as_bytes(*descriptor));
  if (!sd) return unexpected(GpoError{gpo_dn, kNtSecurityDescriptor, sd.error().to_string()});
  Verdict verdict;
  verdict.read = security::check_access(*sd, token.sids, security::right::kReadProperty);
  verdict.apply = security::check_access(*sd, token.sids, security::right::kControlAccess,
                                         security::Guid::from_string(security::kApplyGroupPolicyRight));
  return std::optional<Verdict>(verdict);
}

}  // namespace

Expected<ComputerToken, GpoError> read_computer_token(ldap::Session& session, const std::string& computer_dn) {
  auto found = session.search({computer_dn, ldap::Scope::kBase, "(objectClass=*)",
                               {"objectSid", "tokenGroups", "sAMAccountName"}, 0});
  if (!found) return unexpected(GpoError{computer_dn, "", found.error().to_string()});
  if (found->empty()) return unexpected(GpoError{computer_dn, "", "computer object not found"});
  const ldap::Entry& entry = found->front();
  ComputerToken token;
  token.account = netbios_domain(computer_dn) + "\\" + entry.first("sAMAccountName").value_or("?");
  const auto own = entry.first("objectSid");
  if (!own) return unexpected(GpoError{computer_dn, "objectSid", "not readable: cannot evaluate GPO security filtering"});
  auto sid = security::parse_sid(as_bytes(*own));
  if (!sid) return unexpected(GpoError{computer_dn, "objectSid", sid.error().to_string()});
  token.sids.push_back(std::move(*sid));
  if (const auto* groups = entry.values("tokenGroups")) {
    for (const auto& value : *groups) {
      auto group = security::parse_sid(as_bytes(value));
      if (!group) return unexpected(GpoError{computer_dn, "tokenGroups", group.error().to_string()});
      if (std::find(token.sids.begin(), token.sids.end(), *group) == token.sids.end()) token.sids.push_back(std::move(*group));
    }
  } else {
    return unexpected(GpoError{computer_dn, "tokenGroups", "not readable: cannot evaluate GPO security filtering"});
  }
  for (const char* text : {security::kEveryone, security::kAuthenticatedUsers}) {
    auto well_known = *security::Sid::from_string(text);
    if (std::find(token.sids.begin(), token.sids.end(), well_known) == token.sids.end()) token.sids.push_back(well_known);
  }
  return token;
}

std::vector<security::Sid> deciding_sids(const std::optional<std::string>& descriptor, const ComputerToken& token) {
  auto verdict = evaluate("", descriptor, token);
  std::vector<security::Sid> out;
  if (!verdict || !*verdict) return out;
  for (const auto* result : {&(*verdict)->apply, &(*verdict)->read}) {
    if (!result->granted && result->sid) out.push_back(*result->sid);
  }
  return out;
}

Expected<std::optional<std::string>, GpoError> security_filter(const std::string& gpo_dn,
                                                               const std::optional<std::string>& descriptor,
                                                               const ComputerToken& token,
                                                               const std::map<std::string, std::string>& names) {
  auto verdict = evaluate(gpo_dn, descriptor, token);
  if (!verdict) return unexpected(verdict.error());
  if (!*verdict) {
    return std::optional<std::string>("security filtering: " + token.account +
                                      " may not read the GPO's security descriptor (no Read permission)");
  }
  const auto explain = [&](const security::AccessResult& result, const char* right) -> std::optional<std::string> {
    if (result.granted) return std::nullopt;
    if (result.denied_by_ace && result.sid) {
      const bool self = *result.sid == token.sids.front();
      return std::string("security filtering denies ") + right + " to " + token.account +
             (self ? " itself" : " via group " + name_or_sid(*result.sid, names)) + " (ACE " +
             std::to_string(*result.ace_index + 1) + " of the DACL)";
    }
    return std::string("security filtering: no ACE grants ") + right + " to " + token.account + " or any of its " +
           std::to_string(token.sids.size() - 1) + " groups";
  };
  if (auto why = explain((*verdict)->apply, "Apply Group Policy")) return std::optional<std::string>(*why);
  if (auto why = explain((*verdict)->read, "Read")) return std::optional<std::string>(*why);
  return std::optional<std::string>{};
}

std::map<std::string, std::string> sid_names(ldap::Session& session, const std::string& domain_dn,
                                             const std::vector<security::Sid>& sids) {
  std::map<std::string, std::string> out;
  std::string filter = "(|";
  std::size_t wanted = 0;
  for (const auto& sid : sids) {
    if (well_known_names().contains(sid.to_string())) continue;
    filter += "(objectSid=" + escaped_sid(sid) + ")";
    ++wanted;
  }
  filter += ")";
  if (wanted == 0) return out;
  auto found = session.search({domain_dn, ldap::Scope::kSubtree, filter, {"objectSid", "sAMAccountName"}, 0});
  if (!found) return out;  // names only decorate the explanation
  for (const auto& entry : *found) {
    const auto sid = entry.first("objectSid");
    const auto name = entry.first("sAMAccountName");
    if (!sid || !name) continue;
    auto parsed = security::parse_sid(as_bytes(*sid));
    if (parsed) out[parsed->to_string()] = netbios_domain(entry.dn) + "\\" + *name;
  }
  return out;
}

}  // namespace ward::gpo
