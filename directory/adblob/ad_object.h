// One IPsec object of Active Directory's IP Security container, as Ward reads and writes it over
// LDAP: DN, class, the common attributes, the ipsecData bytes and the references.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "directory/model/guid.h"

namespace ward::adblob {

enum class AdClass : std::uint8_t { Policy, IsakmpPolicy, Nfa, NegotiationPolicy, Filter };

inline constexpr std::array<std::pair<AdClass, std::string_view>, 5> kAdClassNames{{
    {AdClass::Policy, "ipsecPolicy"},
    {AdClass::IsakmpPolicy, "ipsecISAKMPPolicy"},
    {AdClass::Nfa, "ipsecNFA"},
    {AdClass::NegotiationPolicy, "ipsecNegotiationPolicy"},
    {AdClass::Filter, "ipsecFilter"},
}};
static_assert(kAdClassNames.size() == static_cast<std::size_t>(AdClass::Filter) + 1);

std::string_view class_name(AdClass value);
std::optional<AdClass> class_from_name(std::string_view name);  // case-insensitive

// ipsecDataType: the spec says 256; every Windows-made object carries 598 (0x256), FINDINGS.md.
inline constexpr std::uint32_t kIpsecDataTypeWindows = 598;
inline constexpr std::uint32_t kIpsecDataTypeSpec = 256;
// The blobs count seconds where Ward's model counts minutes (polling interval, main mode lifetime).
inline constexpr std::uint32_t kSecondsPerMinute = 60;

// LDAP attribute names, as AD spells them.
namespace attr {
inline constexpr std::string_view kObjectClass = "objectClass";
inline constexpr std::string_view kName = "ipsecName";
inline constexpr std::string_view kDescription = "description";
inline constexpr std::string_view kId = "ipsecID";
inline constexpr std::string_view kDataType = "ipsecDataType";
inline constexpr std::string_view kData = "ipsecData";
inline constexpr std::string_view kIsakmpReference = "ipsecISAKMPReference";
inline constexpr std::string_view kNfaReference = "ipsecNFAReference";
inline constexpr std::string_view kFilterReference = "ipsecFilterReference";
inline constexpr std::string_view kNegotiationPolicyReference = "ipsecNegotiationPolicyReference";
inline constexpr std::string_view kOwnersReference = "ipsecOwnersReference";
inline constexpr std::string_view kNegotiationPolicyType = "iPSECNegotiationPolicyType";
inline constexpr std::string_view kNegotiationPolicyAction = "iPSECNegotiationPolicyAction";
}  // namespace attr

struct AdObject {
  std::string dn;
  AdClass object_class = AdClass::Policy;
  std::string ipsec_name;   // empty: attribute absent
  std::string description;  // empty: attribute absent
  std::string ipsec_id;     // "{GUID}"
  std::uint32_t ipsec_data_type = kIpsecDataTypeWindows;
  std::vector<std::byte> ipsec_data;
  std::optional<std::string> isakmp_reference;                // ipsecPolicy
  std::vector<std::string> nfa_references;                    // ipsecPolicy
  std::vector<std::string> filter_references;                 // ipsecNFA
  std::optional<std::string> negotiation_policy_reference;    // ipsecNFA
  std::vector<std::string> owners_references;                 // all but ipsecPolicy
  std::string negotiation_policy_type;                        // ipsecNegotiationPolicy
  std::string negotiation_policy_action;                      // ipsecNegotiationPolicy

  friend bool operator==(const AdObject&, const AdObject&) = default;
};

// "CN=IP Security,CN=System,<domain DN>"
std::string ip_security_container(std::string_view domain_dn);
// "CN=<class>{GUID},CN=IP Security,CN=System,<domain DN>"
std::string ipsec_dn(AdClass object_class, const model::Guid& id, std::string_view domain_dn);
// DNs compare case-insensitively and ignore spaces after separators ("CN=a, DC=b").
std::string normalized_dn(std::string_view dn);

// A problem with one object of the directory form; blob errors also carry the byte offset.
struct MappingError {
  std::string dn;
  std::string attribute;
  std::optional<std::size_t> offset;
  std::string message;

  std::string to_string() const;
};

}  // namespace ward::adblob
