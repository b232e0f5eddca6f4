// Distinguished-name helpers for scoping: split into RDNs (honouring RFC 4514 escapes),
// normalise for comparison, walk to the parent, find the domain part.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ward::gpo {

// The RDNs of `dn`, leftmost first, each trimmed of surrounding spaces; nullopt when an
// escape or quote is unterminated or an RDN is empty.
std::optional<std::vector<std::string>> split_dn(std::string_view dn);

// A comparison key: RDNs trimmed, spaces around '=' removed, ASCII letters lowercased
// (AD's naming attributes and the DNs in gPLink compare case-insensitively).
std::string normalize_dn(std::string_view dn);

// Everything after the first RDN ("" for a single-RDN DN or an unparsable one).
std::string parent_dn(std::string_view dn);

// The trailing run of DC= RDNs, e.g. "DC=ward,DC=test" for "CN=x,OU=y,DC=ward,DC=test".
std::string domain_dn(std::string_view dn);

// The attribute type of an RDN, lowercased: "ou" for "OU=Legal".
std::string rdn_type(std::string_view rdn);

}  // namespace ward::gpo
