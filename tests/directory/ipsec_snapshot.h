// Snapshots of Windows' default IP Security objects (every attribute, every ipsecData byte) and
// what changed between two: the byte-exact write-back checks of windows_write_back.h (gtest) and
// of the editor's Active Directory test (Qt Test) share them.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "directory/adblob/ad_object.h"
#include "directory/ldap/session.h"
#include "directory/store/ad_entry.h"

namespace ward::test {

// normalized DN -> attribute -> values (a set: AD does not keep the order of multi-valued ones)
using Snapshot = std::map<std::string, std::map<std::string, std::set<std::string>>>;

// The GUID families of Windows' 22 default objects (other tests' policies share the container).
inline bool is_windows_default(const std::string& normalized_dn) {
  for (const char* family : {"-70fa-11d1-864c-14a300000000}", "-5ee3-11d2-ace8-0060b0ecca17}",
                             "-071d-11d3-ad22-0060b0ecca17}", "-72b7-11d2-acf0-0060b0ecca17}"}) {
    if (normalized_dn.find(family) != std::string::npos) return true;
  }
  return false;
}

// The Windows default objects under CN=IP Security, every IPsec attribute; nullopt (and `error`
// set) when the search fails.
inline std::optional<Snapshot> try_snapshot(ldap::Session& session, const std::string& domain_dn, std::string* error = nullptr) {
  auto attributes = store::ipsec_attribute_names();
  auto entries = session.search({adblob::ip_security_container(domain_dn), ldap::Scope::kOneLevel, "(objectClass=*)",
                                 attributes, 500});
  if (!entries) {
    if (error != nullptr) *error = entries.error().to_string();
    return std::nullopt;
  }
  Snapshot out;
  for (const auto& entry : *entries) {
    if (!is_windows_default(adblob::normalized_dn(entry.dn))) continue;
    auto& object = out[adblob::normalized_dn(entry.dn)];
    for (const auto& [name, values] : entry.attributes) {
      std::string key = name;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      for (const auto& value : values) {
        // DN values compare normalized (AD may return another case or spacing).
        const bool dn_valued = key.find("reference") != std::string::npos;
        object[key].insert(dn_valued ? adblob::normalized_dn(value) : value);
      }
    }
  }
  return out;
}

// What changed between two snapshots: "dn|attribute" for every attribute that differs.
inline std::set<std::string> differences(const Snapshot& before, const Snapshot& after) {
  std::set<std::string> out;
  std::set<std::string> dns;
  for (const auto& [dn, _] : before) dns.insert(dn);
  for (const auto& [dn, _] : after) dns.insert(dn);
  for (const auto& dn : dns) {
    const auto b = before.find(dn);
    const auto a = after.find(dn);
    if (b == before.end() || a == after.end()) {
      out.insert(dn + "|" + (b == before.end() ? "(added)" : "(deleted)"));
      continue;
    }
    std::set<std::string> names;
    for (const auto& [name, _] : b->second) names.insert(name);
    for (const auto& [name, _] : a->second) names.insert(name);
    for (const auto& name : names) {
      const auto bv = b->second.find(name);
      const auto av = a->second.find(name);
      const bool same = (bv == b->second.end() && av == a->second.end()) ||
                        (bv != b->second.end() && av != a->second.end() && bv->second == av->second);
      if (!same) out.insert(dn + "|" + name);
    }
  }
  return out;
}

inline std::vector<std::byte> blob(const Snapshot& s, const std::string& dn) {
  const auto& values = s.at(adblob::normalized_dn(dn)).at("ipsecdata");
  const std::string& text = *values.begin();
  std::vector<std::byte> out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

inline std::string ip_security_dn(const std::string& rdn, const std::string& domain_dn) {
  return "CN=" + rdn + "," + adblob::ip_security_container(domain_dn);
}

}  // namespace ward::test
