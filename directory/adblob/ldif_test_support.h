// Test helper: reads the simple LDIF of tests/data/ad/ (entries separated by blank lines,
// "attr: value" and base64 "attr:: value", folded lines) into attribute maps. Not a general
// LDIF parser: production code talks to slapd through libldap.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "directory/adblob/ad_object.h"

namespace ward::adblob::testing {

struct LdifEntry {
  std::string dn;
  std::multimap<std::string, std::string> values;  // attribute (as written) -> value (decoded)

  std::vector<std::string> all(const std::string& attribute) const {
    std::vector<std::string> out;
    auto [first, last] = values.equal_range(attribute);
    for (auto it = first; it != last; ++it) out.push_back(it->second);
    return out;
  }
  std::string one(const std::string& attribute) const {
    const auto found = all(attribute);
    return found.empty() ? std::string() : found.front();
  }
};

inline std::string base64_decode(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("bad base64 in LDIF");
  std::size_t length = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --length;  // EVP counts padding
  out.resize(length);
  return out;
}

inline std::vector<LdifEntry> read_ldif(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == ' ' && !lines.empty()) {
      lines.back() += line.substr(1);
    } else {
      lines.push_back(line);
    }
  }
  std::vector<LdifEntry> entries;
  LdifEntry current;
  const auto flush = [&] {
    if (!current.dn.empty()) entries.push_back(current);
    current = {};
  };
  for (const auto& line : lines) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("LDIF line without a colon: " + line);
    const std::string attribute = line.substr(0, colon);
    const bool encoded = colon + 1 < line.size() && line[colon + 1] == ':';
    std::string value = line.substr(colon + (encoded ? 2 : 1));
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (encoded) value = base64_decode(value);
    if (attribute == "dn") {
      current.dn = value;
    } else {
      current.values.emplace(attribute, value);
    }
  }
  flush();
  return entries;
}

inline std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> out;
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

// tests/data/ad/windows-default-ipsec.ldif (the 22 objects a Windows domain starts with) as
// AdObjects, in file order. `path` is that file.
inline std::vector<AdObject> ad_objects_of(const std::string& path) {
  std::vector<AdObject> out;
  for (const auto& e : read_ldif(path)) {
    AdObject o;
    o.dn = e.dn;
    for (const auto& c : e.all("objectClass")) {
      if (const auto known = class_from_name(c)) o.object_class = *known;
    }
    o.ipsec_name = e.one("ipsecName");
    o.description = e.one("description");
    o.ipsec_id = e.one("ipsecID");
    o.ipsec_data_type = static_cast<std::uint32_t>(std::stoul(e.one("ipsecDataType")));
    o.ipsec_data = bytes_of(e.one("ipsecData"));
    if (!e.one("ipsecISAKMPReference").empty()) o.isakmp_reference = e.one("ipsecISAKMPReference");
    o.nfa_references = e.all("ipsecNFAReference");
    o.filter_references = e.all("ipsecFilterReference");
    if (!e.one("ipsecNegotiationPolicyReference").empty()) o.negotiation_policy_reference = e.one("ipsecNegotiationPolicyReference");
    o.owners_references = e.all("ipsecOwnersReference");
    o.negotiation_policy_type = e.one("iPSECNegotiationPolicyType");
    o.negotiation_policy_action = e.one("iPSECNegotiationPolicyAction");
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace ward::adblob::testing
