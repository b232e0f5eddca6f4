#include "directory/store/gpo_admin.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "directory/adblob/ad_object.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/gplink.h"
#include "directory/gpo/reader.h"
#include "directory/model/guid.h"
#include "directory/store/directory_dialect.h"
#include "directory/store/policy_store.h"

namespace ward::store {

namespace {

constexpr std::string_view kMachineExtensions = "gPCMachineExtensionNames";
constexpr std::string_view kVersionNumber = "versionNumber";
// versionNumber: the user settings' version in the high 16 bits, the computer's in the low.
constexpr std::uint32_t kComputerVersionMask = 0xFFFF;
constexpr std::string_view kGpcFunctionalityVersion = "2";
constexpr std::string_view kFileSysPath = "gPCFileSysPath";

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// "DC=ward,DC=test" -> "ward.test"
std::string dns_name_of(std::string_view domain_dn) {
  std::string out;
  for (const auto& rdn : gpo::split_dn(domain_dn).value_or(std::vector<std::string>{})) {
    if (gpo::rdn_type(rdn) != "dc") continue;
    if (!out.empty()) out += ".";
    out += gpo::rdn_value(rdn);
  }
  return out;
}

Expected<ldap::Entry, StoreError> read_one(ldap::Session& session, std::string_view dn,
                                           std::vector<std::string> attributes) {
  ldap::SearchRequest request{std::string(dn), ldap::Scope::kBase, "(objectClass=*)", std::move(attributes), 0};
  auto entries = session.search(request);
  if (!entries) return unexpected(from_ldap(entries.error(), dn));
  if (entries->size() != 1) return unexpected(StoreError{std::string(dn), {}, "no such object"});
  return std::move(entries->front());
}

Expected<void, StoreError> add_container(ldap::Session& session, const std::string& dn) {
  const auto rdns = gpo::split_dn(dn);
  const std::string cn = rdns && !rdns->empty() ? gpo::rdn_value(rdns->front()) : std::string();
  auto added = session.add(dn, {{"objectClass", {"container"}}, {"cn", {cn}}});
  if (!added && added.error().result_code != ldap::result_code::kAlreadyExists) {
    return unexpected(from_ldap(added.error(), dn));
  }
  return {};
}

std::string format_gplink(const std::vector<gpo::GpLink>& links) {
  std::string out;
  for (const auto& link : links) out += "[LDAP://" + link.gpo_dn + ";" + std::to_string(link.options) + "]";
  return out;
}

// Writes gPLink/gPOptions on a SOM, with what the directory needs for the SOM to carry them.
Expected<void, StoreError> write_som(ldap::Session& session, const ldap::Entry& som, std::string_view attribute,
                                     const std::string& value) {
  auto dialect = DirectoryDialect::detect(session);
  if (!dialect) return unexpected(dialect.error());
  std::vector<ldap::Modification> changes;
  if (!value.empty() || som.values(attribute)) changes = dialect->som_class_changes(som);
  if (value.empty()) {
    if (som.values(attribute)) changes.push_back({ldap::Modification::Op::kDelete, std::string(attribute), {}});
  } else {
    changes.push_back({ldap::Modification::Op::kReplace, std::string(attribute), {value}});
  }
  if (changes.empty()) return {};
  if (auto changed = session.modify(som.dn, changes); !changed) {
    return unexpected(from_ldap(changed.error(), som.dn, attribute));
  }
  return {};
}

Expected<std::uint32_t, StoreError> version_of(const ldap::Entry& gpo_entry) {
  std::uint32_t version = 0;
  if (const auto text = gpo_entry.first(kVersionNumber)) {
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), version);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return unexpected(StoreError{gpo_entry.dn, std::string(kVersionNumber), "not a decimal: '" + *text + "'"});
    }
  }
  return version;
}

// The GPO's folder on SYSVOL, from its gPCFileSysPath.
Expected<UncPath, StoreError> gpt_folder(const ldap::Entry& gpo_entry) {
  const auto path = gpo_entry.first(kFileSysPath);
  if (!path) return unexpected(StoreError{gpo_entry.dn, std::string(kFileSysPath), "missing: the GPO has no SYSVOL folder"});
  auto unc = UncPath::parse(*path);
  if (!unc) return unexpected(StoreError{gpo_entry.dn, std::string(kFileSysPath), unc.error()});
  return std::move(*unc);
}

StoreError no_sysvol(std::string_view dn) {
  return StoreError{std::string(dn), std::string(kFileSysPath),
                    "Active Directory keeps half of a GPO on SYSVOL (GPT.INI) and Ward was given no way to "
                    "reach it (ward-dir: SMB to the DC with Kerberos, or --sysvol-path DIR)"};
}

// Raises the computer half of versionNumber by one, with `also` in the same modify; on AD
// GPT.INI's Version first (the Group Policy engine compares the two), put back if the GPO's
// modify fails.
Expected<void, StoreError> bump_computer_version(ldap::Session& session, const ldap::Entry& gpo_entry, Sysvol* sysvol,
                                                 std::vector<ldap::Modification> also) {
  auto dialect = DirectoryDialect::detect(session);
  if (!dialect) return unexpected(dialect.error());
  auto version = version_of(gpo_entry);
  if (!version) return unexpected(version.error());
  const std::uint32_t computer = ((*version & kComputerVersionMask) + 1) & kComputerVersionMask;
  const std::uint32_t bumped = (*version & ~kComputerVersionMask) | computer;
  std::optional<UncPath> folder;
  if (dialect->gpos_have_sysvol()) {
    if (sysvol == nullptr) return unexpected(no_sysvol(gpo_entry.dn));
    auto unc = gpt_folder(gpo_entry);
    if (!unc) return unexpected(unc.error());
    folder = std::move(*unc);
    if (auto set = set_gpt_version(*sysvol, *folder, bumped); !set) return unexpected(set.error());
  }
  also.push_back({ldap::Modification::Op::kReplace, std::string(kVersionNumber), {std::to_string(bumped)}});
  if (auto changed = session.modify(gpo_entry.dn, also); !changed) {
    StoreError error = from_ldap(changed.error(), gpo_entry.dn, also.front().attribute);
    if (folder) {
      if (auto restored = set_gpt_version(*sysvol, *folder, *version); !restored) {
        error.message += "; putting GPT.INI's Version back to " + std::to_string(*version) +
                         " also failed: " + restored.error().to_string();
      }
    }
    return unexpected(error);
  }
  return {};
}

Expected<std::vector<gpo::GpLink>, StoreError> read_links(const ldap::Entry& som) {
  const auto value = som.first(gpo::kGpLinkAttribute);
  if (!value) return std::vector<gpo::GpLink>{};
  auto links = gpo::parse_gplink(*value, som.dn);
  if (!links) return unexpected(StoreError{links.error().dn, links.error().attribute, links.error().message});
  return std::move(*links);
}

}  // namespace

std::string assignment_dn(std::string_view gpo_dn) {
  return "CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine," + std::string(gpo_dn);
}

std::string add_extension_pair(std::string_view names, std::string_view cse, std::string_view tool) {
  // Groups: "[{cse}{tool}...]"; each a list of braced GUIDs.
  std::vector<std::vector<std::string>> groups;
  std::size_t pos = 0;
  while ((pos = names.find('[', pos)) != std::string_view::npos) {
    const auto end = names.find(']', pos);
    if (end == std::string_view::npos) break;
    std::vector<std::string> guids;
    std::size_t at = pos;
    while ((at = names.find('{', at)) != std::string_view::npos && at < end) {
      const auto close = names.find('}', at);
      if (close == std::string_view::npos || close > end) break;
      guids.emplace_back(names.substr(at, close - at + 1));
      at = close + 1;
    }
    if (!guids.empty()) groups.push_back(std::move(guids));
    pos = end + 1;
  }
  auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return upper(g.front()) == upper(cse); });
  if (group == groups.end()) {
    groups.push_back({std::string(cse)});
    group = groups.end() - 1;
  }
  if (std::none_of(group->begin() + 1, group->end(), [&](const std::string& g) { return upper(g) == upper(tool); })) {
    group->emplace_back(tool);
    std::sort(group->begin() + 1, group->end(), [](const auto& a, const auto& b) { return upper(a) < upper(b); });
  }
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return upper(a.front()) < upper(b.front()); });
  std::string out;
  for (const auto& g : groups) {
    out += "[";
    for (const auto& guid : g) out += guid;
    out += "]";
  }
  return out;
}

Expected<std::string, StoreError> create_gpo(ldap::Session& session, std::string_view domain_dn,
                                             std::string_view display_name, Sysvol* sysvol) {
  const std::string container = policies_container(domain_dn);
  if (display_name.empty()) return unexpected(StoreError{container, "displayName", "a GPO needs a display name"});
  auto dialect = DirectoryDialect::detect(session);
  if (!dialect) return unexpected(dialect.error());
  if (dialect->gpos_have_sysvol() && sysvol == nullptr) return unexpected(no_sysvol(container));
  ldap::SearchRequest request{container, ldap::Scope::kOneLevel,
                              "(&(objectClass=groupPolicyContainer)(displayName=" +
                                  gpo::escape_filter_value(display_name) + "))",
                              {"displayName"}, 0};
  auto existing = session.search(request);
  if (!existing) return unexpected(from_ldap(existing.error(), container));
  if (!existing->empty()) {
    return unexpected(StoreError{existing->front().dn, "displayName",
                                 "a GPO named '" + std::string(display_name) + "' exists already"});
  }
  const std::string guid = model::Guid::random().to_string();
  const std::string dn = "CN=" + guid + "," + container;
  const std::string dns = dns_name_of(domain_dn);
  const std::string file_sys_path = "\\\\" + dns + "\\SysVol\\" + dns + "\\Policies\\" + guid;
  auto added = session.add(dn, {{"objectClass", {"groupPolicyContainer"}},
                                {"cn", {guid}},
                                {"displayName", {std::string(display_name)}},
                                {"flags", {"0"}},
                                {std::string(kVersionNumber), {"0"}},
                                {"gPCFunctionalityVersion", {std::string(kGpcFunctionalityVersion)}},
                                {std::string(kFileSysPath), {file_sys_path}}});
  if (!added) return unexpected(from_ldap(added.error(), dn));
  // What is made so far, undone if a later step fails: no half GPO stays behind.
  std::vector<std::string> made{dn};
  const auto undo = [&](StoreError error) -> Expected<std::string, StoreError> {
    for (auto it = made.rbegin(); it != made.rend(); ++it) (void)session.remove(*it);
    return unexpected(std::move(error));
  };
  for (const auto* child : {"CN=Machine,", "CN=User,"}) {
    if (auto child_made = add_container(session, child + dn); !child_made) return undo(child_made.error());
    made.push_back(child + dn);
  }
  if (dialect->gpos_have_sysvol()) {
    auto folder = UncPath::parse(file_sys_path);
    if (!folder) return undo(StoreError{dn, std::string(kFileSysPath), folder.error()});
    if (auto files = create_gpt(*sysvol, *folder); !files) {
      remove_gpt(*sysvol, *folder);
      return undo(files.error());
    }
  }
  return dn;
}

Expected<std::string, StoreError> resolve_gpo(ldap::Session& session, std::string_view domain_dn,
                                              std::string_view name) {
  if (name.find('=') != std::string_view::npos) return std::string(name);
  const std::string container = policies_container(domain_dn);
  std::string filter = "(&(objectClass=groupPolicyContainer)(|(displayName=" + gpo::escape_filter_value(name) + ")";
  if (model::Guid::parse(name)) filter += "(cn=" + model::Guid::parse(name)->to_string() + ")";
  filter += "))";
  auto found = session.search({container, ldap::Scope::kOneLevel, filter, {"displayName"}, 0});
  if (!found) return unexpected(from_ldap(found.error(), container));
  if (found->size() != 1) {
    return unexpected(StoreError{container, "displayName",
                                 std::to_string(found->size()) + " GPOs match '" + std::string(name) + "' (want one)"});
  }
  return found->front().dn;
}

Expected<void, StoreError> link_gpo(ldap::Session& session, std::string_view container_dn, std::string_view gpo_dn,
                                    LinkOptions options) {
  if (auto gpo_entry = read_one(session, gpo_dn, {"objectClass"}); !gpo_entry) {
    return unexpected(gpo_entry.error());
  } else if (!gpo_entry->has_object_class("groupPolicyContainer")) {
    return unexpected(StoreError{std::string(gpo_dn), "objectClass", "not a groupPolicyContainer"});
  }
  auto som = read_one(session, container_dn, {"objectClass", gpo::kGpLinkAttribute});
  if (!som) return unexpected(som.error());
  auto links = read_links(*som);
  if (!links) return unexpected(links.error());
  const std::uint32_t flags = (options.enforced ? gpo::kLinkOptionEnforced : 0U) |
                              (options.disabled ? gpo::kLinkOptionDisabled : 0U);
  const auto same = std::find_if(links->begin(), links->end(), [&](const gpo::GpLink& link) {
    return gpo::normalize_dn(link.gpo_dn) == gpo::normalize_dn(gpo_dn);
  });
  if (same != links->end()) {
    same->options = flags;
  } else {
    links->insert(links->begin(), gpo::GpLink{std::string(gpo_dn), flags});
  }
  return write_som(session, *som, gpo::kGpLinkAttribute, format_gplink(*links));
}

Expected<void, StoreError> unlink_gpo(ldap::Session& session, std::string_view container_dn, std::string_view gpo_dn) {
  auto som = read_one(session, container_dn, {"objectClass", gpo::kGpLinkAttribute});
  if (!som) return unexpected(som.error());
  auto links = read_links(*som);
  if (!links) return unexpected(links.error());
  const auto before = links->size();
  std::erase_if(*links, [&](const gpo::GpLink& link) {
    return gpo::normalize_dn(link.gpo_dn) == gpo::normalize_dn(gpo_dn);
  });
  if (links->size() == before) {
    return unexpected(StoreError{std::string(container_dn), gpo::kGpLinkAttribute,
                                 "no link to '" + std::string(gpo_dn) + "'"});
  }
  return write_som(session, *som, gpo::kGpLinkAttribute, format_gplink(*links));
}

Expected<void, StoreError> set_block_inheritance(ldap::Session& session, std::string_view container_dn, bool block) {
  auto som = read_one(session, container_dn, {"objectClass", gpo::kGpOptionsAttribute});
  if (!som) return unexpected(som.error());
  return write_som(session, *som, gpo::kGpOptionsAttribute,
                   std::to_string(block ? gpo::kGpOptionsBlockInheritance : 0U));
}

Expected<void, StoreError> assign_policy(ldap::Session& session, std::string_view gpo_dn, std::string_view policy_dn,
                                         Sysvol* sysvol) {
  auto policy = read_one(session, policy_dn,
                         {"objectClass", std::string(adblob::attr::kName), std::string(adblob::attr::kDescription)});
  if (!policy) return unexpected(policy.error());
  if (!policy->has_object_class("ipsecPolicy")) {
    return unexpected(StoreError{std::string(policy_dn), "objectClass", "not an ipsecPolicy"});
  }
  auto gpo_entry = read_one(session, gpo_dn, {"objectClass", std::string(kMachineExtensions), std::string(kVersionNumber),
                                              std::string(kFileSysPath)});
  if (!gpo_entry) return unexpected(gpo_entry.error());
  if (!gpo_entry->has_object_class("groupPolicyContainer")) {
    return unexpected(StoreError{std::string(gpo_dn), "objectClass", "not a groupPolicyContainer"});
  }
  if (auto version = version_of(*gpo_entry); !version) return unexpected(version.error());

  std::string parent(gpo_dn);
  for (const auto* rdn : {"CN=Machine,", "CN=Microsoft,", "CN=Windows,"}) {
    parent = rdn + parent;
    if (auto made = add_container(session, parent); !made) return unexpected(made.error());
  }
  // [MS-GPIPSEC] 3.1.5.8: add the IPSEC object (class ipsecPolicy) when missing, then replace its
  // ipsecOwnersReference, ipsecName and description; optional ones that are not set not sent.
  const std::string dn = assignment_dn(gpo_dn);
  auto added = session.add(dn, {{"objectClass", {"ipsecPolicy"}}, {"cn", {"IPSEC"}}});
  if (!added && added.error().result_code != ldap::result_code::kAlreadyExists) {
    return unexpected(from_ldap(added.error(), dn));
  }
  std::vector<ldap::Modification> changes{
      {ldap::Modification::Op::kReplace, std::string(adblob::attr::kOwnersReference), {std::string(policy_dn)}}};
  for (const auto attribute : {adblob::attr::kName, adblob::attr::kDescription}) {
    const auto value = policy->first(attribute);
    if (value && !value->empty()) {
      changes.push_back({ldap::Modification::Op::kReplace, std::string(attribute), {*value}});
    } else if (!added) {  // an earlier assignment's value would describe another policy
      changes.push_back({ldap::Modification::Op::kDelete, std::string(attribute), {}});
    }
  }
  auto changed = session.modify(dn, changes);
  if (!changed && !added) {
    // Deleting a value the object does not have is refused by some servers: retry without deletes.
    std::erase_if(changes, [](const ldap::Modification& m) { return m.op == ldap::Modification::Op::kDelete; });
    changed = session.modify(dn, changes);
  }
  if (!changed) return unexpected(from_ldap(changed.error(), dn, adblob::attr::kOwnersReference));

  const std::string extensions = add_extension_pair(gpo_entry->first(kMachineExtensions).value_or(""), kIpsecCseGuid,
                                                    kIpsecToolGuid);
  return bump_computer_version(session, *gpo_entry, sysvol,
                               {{ldap::Modification::Op::kReplace, std::string(kMachineExtensions), {extensions}}});
}

Expected<void, StoreError> unassign_policy(ldap::Session& session, std::string_view gpo_dn, Sysvol* sysvol) {
  const std::string dn = assignment_dn(gpo_dn);
  auto removed = session.remove(dn);
  if (!removed) {
    if (removed.error().result_code == ldap::result_code::kNoSuchObject) return {};
    return unexpected(from_ldap(removed.error(), dn));
  }
  // The computers apply the GPO anew only when its version changes.
  auto gpo_entry = read_one(session, gpo_dn, {"objectClass", std::string(kVersionNumber), std::string(kFileSysPath)});
  if (!gpo_entry) return unexpected(gpo_entry.error());
  return bump_computer_version(session, *gpo_entry, sysvol, {});
}

}  // namespace ward::store
