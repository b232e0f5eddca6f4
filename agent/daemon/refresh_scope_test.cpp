#include "agent/daemon/refresh_scope.h"

#include <gtest/gtest.h>

namespace ward::agent::daemon {
namespace {

TEST(RefreshScope, ObjectsMatchExactlyAndSubtreesMatchBelow) {
  RefreshScope scope;
  scope.add_object("OU=Legal,DC=example,DC=test");
  scope.add_subtree("CN={G1},CN=Policies,CN=System,DC=example,DC=test");
  EXPECT_TRUE(scope.affected_by("ou=legal, dc=Example,dc=test"));
  EXPECT_FALSE(scope.affected_by("CN=pc9,OU=Legal,DC=example,DC=test")) << "an object is not a subtree";
  EXPECT_TRUE(scope.affected_by("CN={G1},CN=Policies,CN=System,DC=example,DC=test"));
  EXPECT_TRUE(scope.affected_by("CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,CN={G1},CN=Policies,CN=System,DC=example,DC=test"));
  EXPECT_FALSE(scope.affected_by("CN={G2},CN=Policies,CN=System,DC=example,DC=test"));
  EXPECT_FALSE(scope.affected_by("OU=Sales,DC=example,DC=test"));
  EXPECT_FALSE(scope.affected_by("DC=example,DC=test"));
}

TEST(RefreshScope, EverythingBeforeAFetch) {
  EXPECT_TRUE(RefreshScope::everything().affected_by("CN=anything,DC=example,DC=test"));
  EXPECT_FALSE(RefreshScope().affected_by("CN=anything,DC=example,DC=test"));
}

}  // namespace
}  // namespace ward::agent::daemon
