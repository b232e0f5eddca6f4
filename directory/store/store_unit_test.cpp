// Pure parts of the store: the extension-name list and the AdObject <-> entry conversion.
#include <gtest/gtest.h>

#include "directory/store/ad_entry.h"
#include "directory/store/gpo_admin.h"

namespace ward::store {
namespace {

TEST(ExtensionNames, AddsIpsecPairSortedAndOnce) {
  const std::string pair = "[{E437BC1C-AA7D-11D2-A382-00C04F991E27}{DEA8AFA0-CC85-11D0-9CE2-0080C7221EBD}]";
  EXPECT_EQ(add_extension_pair("", kIpsecCseGuid, kIpsecToolGuid), pair);
  EXPECT_EQ(add_extension_pair(pair, kIpsecCseGuid, kIpsecToolGuid), pair);
  const std::string security = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]";
  EXPECT_EQ(add_extension_pair(security, kIpsecCseGuid, kIpsecToolGuid), security + pair);
}

TEST(AdEntry, RoundTripsThroughAttributes) {
  adblob::AdObject object;
  object.dn = "CN=ipsecNFA{11111111-2222-3333-4444-555555555555},CN=IP Security,CN=System,DC=ward,DC=test";
  object.object_class = adblob::AdClass::Nfa;
  object.ipsec_name = "rule";
  object.ipsec_id = "{11111111-2222-3333-4444-555555555555}";
  object.ipsec_data = {std::byte{0}, std::byte{0xFF}, std::byte{7}};
  object.filter_references = {"CN=f,DC=x"};
  object.negotiation_policy_reference = "CN=n,DC=x";
  object.owners_references = {"CN=p,DC=x"};
  ldap::Entry entry;
  entry.dn = object.dn;
  for (const auto& attribute : to_attributes(object)) entry.attributes[attribute.name] = attribute.values;
  EXPECT_EQ(entry.first("cn"), "ipsecNFA{11111111-2222-3333-4444-555555555555}");
  auto back = from_entry(entry);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, object);
  EXPECT_TRUE(modifications(object, *back).empty());
  auto changed = object;
  changed.description = "new";
  changed.filter_references.clear();
  const auto mods = modifications(object, changed);
  ASSERT_EQ(mods.size(), 2u);
  EXPECT_EQ(mods[0].attribute, "description");
  EXPECT_EQ(mods[1].op, ldap::Modification::Op::kDelete);
}

}  // namespace
}  // namespace ward::store
