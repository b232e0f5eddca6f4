#include "directory/ldap/entry.h"

#include <gtest/gtest.h>

namespace ward::ldap {
namespace {

TEST(Entry, ObjectClassesCompareAsLdapNamesWithoutRegardToCase) {
  Entry gpo;
  gpo.attributes["objectclass"] = {"top", "container", "groupPolicyContainer"};
  EXPECT_TRUE(gpo.has_object_class("groupPolicyContainer"));
  EXPECT_TRUE(gpo.has_object_class("GROUPPOLICYCONTAINER"));
  EXPECT_FALSE(gpo.has_object_class("groupPolicy"));
  EXPECT_FALSE(gpo.has_object_class("groupPolicyContainers"));
  EXPECT_FALSE(Entry{}.has_object_class("top"));
}

}  // namespace
}  // namespace ward::ldap
