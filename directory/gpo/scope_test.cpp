// GPO scoping: gPLink parsing, processing order, blocking, enforcement, and the IPsec winner.
#include "directory/gpo/scope.h"
#include "directory/gpo/site.h"

#include <gtest/gtest.h>

#include "directory/gpo/dn.h"

namespace ward::gpo {
namespace {

const std::string kDomain = "DC=ward,DC=test";
std::string gpo_dn(const std::string& guid) { return "CN={" + guid + "},CN=Policies,CN=System," + kDomain; }
std::string policy_dn(const std::string& name) {
  return "CN=ipsecPolicy{" + name + "},CN=IP Security,CN=System," + kDomain;
}
// gPLink text as AD writes it (lowercase prefix parts, as in the MS examples).
std::string link(const std::string& guid, int options) {
  return "[LDAP://cn={" + guid + "},cn=policies,cn=system,DC=ward,DC=test;" + std::to_string(options) + "]";
}

Som som(const std::string& dn, SomKind kind, const std::string& gplink, bool block = false) {
  auto made = make_som(dn, kind, gplink, block ? std::optional<std::string>("1") : std::nullopt);
  EXPECT_TRUE(made) << made.error().to_string();
  return made ? *made : Som{};
}

GpoObject gpo(const std::string& guid, const std::string& name, std::optional<std::string> policy,
              std::uint32_t flags = 0) {
  return GpoObject{gpo_dn(guid), name, flags, std::move(policy), std::nullopt};
}

// The example directory: domain policy "Domain Isolation" assigned at the domain; OU=Legal
// has its own policy; OU=Sales has none; OU=Lab blocks inheritance.
class ScopeTest : public ::testing::Test {
 protected:
  std::vector<GpoObject> gpos = {
      gpo("D0", "Default Domain Policy", std::nullopt),
      gpo("D1", "Domain Isolation", policy_dn("DOMAIN")),
      gpo("L1", "Legal IPsec", policy_dn("LEGAL")),
      gpo("S1", "Sales Desktop", std::nullopt),
      gpo("B1", "Lab IPsec", policy_dn("LAB")),
      gpo("E1", "Enforced Baseline", policy_dn("BASELINE")),
      gpo("X1", "Computer Disabled", policy_dn("DISABLED"), kGpoFlagComputerSettingsDisabled),
      gpo("SITE", "Site Policy", policy_dn("SITE")),
  };
  Som domain = som(kDomain, SomKind::kDomain, link("D1", 0) + link("D0", 0));

  std::optional<IpsecAssignment> winner(std::vector<Som> ous, std::optional<Som> site = std::nullopt) {
    ScopeInput input;
    input.site = std::move(site);
    input.domain_and_ous.push_back(domain);
    for (auto& ou : ous) input.domain_and_ous.push_back(std::move(ou));
    input.gpos = gpos;
    last = compute_scope(input);
    return pick_ipsec_winner(last);
  }
  ScopeResult last;
};

TEST_F(ScopeTest, ComputerInLegalGetsLegalPolicy) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("LEGAL"));
  EXPECT_EQ(w->gpo_dn, "cn={L1},cn=policies,cn=system,DC=ward,DC=test");
  EXPECT_EQ(w->gpo_display_name, "Legal IPsec");
  EXPECT_EQ(w->som_dn, "OU=Legal," + kDomain);
  ASSERT_EQ(last.applied.size(), 3u);  // D1, D0 (domain, string order), then L1
  EXPECT_EQ(last.applied[0].display_name, "Domain Isolation");
  EXPECT_EQ(last.applied[1].display_name, "Default Domain Policy");
  EXPECT_EQ(last.applied[2].display_name, "Legal IPsec");
}

TEST_F(ScopeTest, ComputerInSalesGetsDomainPolicy) {
  auto w = winner({som("OU=Sales," + kDomain, SomKind::kOrganizationalUnit, link("S1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("DOMAIN"));
  EXPECT_EQ(w->som_dn, kDomain);
  EXPECT_EQ(w->gpo_display_name, "Domain Isolation");
}

TEST_F(ScopeTest, BlockedInheritanceGivesOnlyTheOusOwnLinks) {
  auto w = winner({som("OU=Lab," + kDomain, SomKind::kOrganizationalUnit, link("S1", 0), /*block=*/true)});
  ASSERT_EQ(last.applied.size(), 1u);
  EXPECT_EQ(last.applied[0].display_name, "Sales Desktop");
  EXPECT_FALSE(w) << "no IPsec GPO left after blocking";
  std::size_t blocked = 0;
  for (const auto& s : last.skipped) blocked += s.reason == SkipReason::kBlockedByInheritance;
  EXPECT_EQ(blocked, 2u);  // D0 and D1

  auto own = winner({som("OU=Lab," + kDomain, SomKind::kOrganizationalUnit, link("B1", 0), true)});
  ASSERT_TRUE(own);
  EXPECT_EQ(own->policy_dn, policy_dn("LAB"));
}

TEST_F(ScopeTest, BlockingAlsoDropsSiteLinks) {
  Som site = som("CN=HQ,CN=Sites,CN=Configuration," + kDomain, SomKind::kSite, link("SITE", 0));
  auto w = winner({som("OU=Lab," + kDomain, SomKind::kOrganizationalUnit, "", true)}, site);
  EXPECT_FALSE(w);
  EXPECT_TRUE(last.applied.empty());
}

TEST_F(ScopeTest, EnforcedDomainLinkBeatsOuLinkEvenWhenBlocked) {
  domain = som(kDomain, SomKind::kDomain, link("E1", 2) + link("D1", 0));
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("BASELINE"));
  EXPECT_EQ(w->som_dn, kDomain);
  EXPECT_TRUE(last.applied.back().enforced);

  auto blocked = winner({som("OU=Lab," + kDomain, SomKind::kOrganizationalUnit, link("B1", 0), true)});
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->policy_dn, policy_dn("BASELINE"));
}

TEST_F(ScopeTest, HigherEnforcedLinkBeatsLowerEnforcedLink) {
  domain = som(kDomain, SomKind::kDomain, link("E1", 2));
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 2))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("BASELINE"));
  Som site = som("CN=HQ,CN=Sites,CN=Configuration," + kDomain, SomKind::kSite, link("SITE", 2));
  auto s = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 2))}, site);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->policy_dn, policy_dn("SITE"));
}

TEST_F(ScopeTest, SiteLinksHaveLowestPrecedence) {
  Som site = som("CN=HQ,CN=Sites,CN=Configuration," + kDomain, SomKind::kSite, link("SITE", 0));
  auto w = winner({som("OU=Sales," + kDomain, SomKind::kOrganizationalUnit, "")}, site);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("DOMAIN"));
  EXPECT_EQ(last.applied.front().display_name, "Site Policy");
  domain = som(kDomain, SomKind::kDomain, "");
  auto only_site = winner({}, site);
  ASSERT_TRUE(only_site);
  EXPECT_EQ(only_site->policy_dn, policy_dn("SITE"));
}

TEST_F(ScopeTest, DisabledLinksAreIgnored) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 1))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("DOMAIN"));
  ASSERT_FALSE(last.skipped.empty());
  EXPECT_EQ(last.skipped[0].reason, SkipReason::kLinkDisabled);
  // Disabled wins over enforced (options 3).
  auto both = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 3))});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->policy_dn, policy_dn("DOMAIN"));
}

TEST_F(ScopeTest, ComputerDisabledGposAreIgnored) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("X1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("DOMAIN"));
  EXPECT_EQ(last.skipped.back().reason, SkipReason::kComputerSettingsDisabled);
  // User-settings-disabled (flags 1) still applies to computers.
  gpos.push_back(gpo("U1", "User Disabled", policy_dn("USERDIS"), kGpoFlagUserSettingsDisabled));
  auto u = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("U1", 0))});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->policy_dn, policy_dn("USERDIS"));
}

TEST_F(ScopeTest, NestedOusChildWinsOverParent) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0)),
                   som("OU=Contracts,OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("B1", 0)),
                   som("OU=Archive,OU=Contracts,OU=Legal," + kDomain, SomKind::kOrganizationalUnit, "")});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("LAB"));
  EXPECT_EQ(w->som_dn, "OU=Contracts,OU=Legal," + kDomain);
  // Without an IPsec GPO in the child, the parent's wins.
  auto p = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0)),
                   som("OU=Contracts,OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("S1", 0))});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->policy_dn, policy_dn("LEGAL"));
}

TEST_F(ScopeTest, LinkOrderOneIsTheLastInTheString) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("B1", 0) + link("L1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("LEGAL"));
  auto r = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0) + link("B1", 0))});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy_dn, policy_dn("LAB"));
}

TEST_F(ScopeTest, MissingGpoIsSkippedAndReported) {
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("GONE", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->policy_dn, policy_dn("DOMAIN"));
  EXPECT_EQ(last.skipped.back().reason, SkipReason::kGpoNotFound);
  EXPECT_STREQ(skip_reason_name(SkipReason::kGpoNotFound), "GPO not found");
}

TEST(GpLink, ParsesLinksInStringOrder) {
  auto links = parse_gplink(
      "[LDAP://cn={A},cn=policies,cn=system,DC=x,DC=y;0][ldap://CN={B},CN=Policies,CN=System,DC=x,DC=y;2] "
      "[LDAP://cn={C},cn=policies,cn=system,DC=x,DC=y;3]",
      "OU=o,DC=x,DC=y");
  ASSERT_TRUE(links) << links.error().to_string();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].gpo_dn, "cn={A},cn=policies,cn=system,DC=x,DC=y");
  EXPECT_FALSE((*links)[0].enforced());
  EXPECT_TRUE((*links)[1].enforced());
  EXPECT_FALSE((*links)[1].disabled());
  EXPECT_TRUE((*links)[2].enforced());
  EXPECT_TRUE((*links)[2].disabled());
}

TEST(GpLink, EmptyAndSpaceMeanNoLinks) {
  EXPECT_TRUE(parse_gplink("", "OU=o")->empty());
  EXPECT_TRUE(parse_gplink(" ", "OU=o")->empty());
}

TEST(GpLink, MalformedValuesNameDnAttributeAndOffset) {
  struct Case {
    const char* value;
    const char* expect;
  };
  for (const Case& c : {Case{"[LDAP://cn={A},DC=x;0", "no closing ']'"},
                        Case{"LDAP://cn={A},DC=x;0]", "expected '['"},
                        Case{"[cn={A},DC=x;0]", "does not start with 'LDAP://'"},
                        Case{"[LDAP://cn={A},DC=x]", "no ';<options>'"},
                        Case{"[LDAP://;0]", "empty GPO DN"},
                        Case{"[LDAP://cn={A},DC=x;zero]", "not a decimal number"},
                        Case{"[LDAP://cn={A},DC=x;-1]", "not a decimal number"},
                        Case{"[LDAP://cn={A},DC=x;99999999999]", "not a decimal number"}}) {
    auto links = parse_gplink(c.value, "OU=Legal,DC=ward,DC=test");
    ASSERT_FALSE(links) << c.value;
    EXPECT_EQ(links.error().dn, "OU=Legal,DC=ward,DC=test");
    EXPECT_EQ(links.error().attribute, "gPLink");
    EXPECT_NE(links.error().message.find(c.expect), std::string::npos) << links.error().to_string();
    EXPECT_NE(links.error().message.find("offset"), std::string::npos);
  }
}

TEST(GpLink, MakeSomReportsBadGpOptions) {
  auto s = make_som("OU=Lab,DC=x", SomKind::kOrganizationalUnit, std::nullopt, std::string("yes"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().attribute, "gPOptions");
  EXPECT_EQ(s.error().dn, "OU=Lab,DC=x");
  auto f = parse_gpo_flags("x", "CN={G},DC=x");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().attribute, "flags");
  EXPECT_EQ(*parse_gpo_flags("3", "CN={G}"), 3u);
}

TEST(Dn, SplitsNormalizesAndWalks) {
  EXPECT_EQ(normalize_dn("CN={A}, CN=Policies ,cn = System,DC=Ward,DC=Test"), "cn={a},cn=policies,cn=system,dc=ward,dc=test");
  EXPECT_EQ(parent_dn("CN=pc1,OU=Legal,DC=ward,DC=test"), "OU=Legal,DC=ward,DC=test");
  EXPECT_EQ(parent_dn("DC=test"), "");
  EXPECT_EQ(domain_dn("CN=pc1,OU=Legal,DC=ward,DC=test"), "DC=ward,DC=test");
  auto rdns = split_dn("CN=a\\,b,OU=x");
  ASSERT_TRUE(rdns);
  ASSERT_EQ(rdns->size(), 2u);
  EXPECT_EQ((*rdns)[0], "CN=a\\,b");
  EXPECT_FALSE(split_dn("CN=a,,OU=x"));
  EXPECT_FALSE(split_dn("CN=a\\"));
  EXPECT_EQ(rdn_type(" OU =Legal"), "ou");
}

// A GPO that security filtering leaves out is skipped with the reason; the next GPO down wins.
TEST_F(ScopeTest, SecurityFilteredGpoIsSkippedWithItsReason) {
  for (auto& g : gpos) {
    if (g.display_name == "Legal IPsec") g.filtered_out = "security filtering denies Apply Group Policy to WARD\\PC1$";
  }
  auto w = winner({som("OU=Legal," + kDomain, SomKind::kOrganizationalUnit, link("L1", 0))});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->gpo_display_name, "Domain Isolation");
  ASSERT_EQ(last.skipped.size(), 1u);
  EXPECT_EQ(last.skipped[0].reason, SkipReason::kSecurityFiltering);
  EXPECT_EQ(last.skipped[0].display_name, "Legal IPsec");
  EXPECT_EQ(last.skipped[0].detail, "security filtering denies Apply Group Policy to WARD\\PC1$");
}

// Site from subnets: the most specific subnet holding one of the addresses names the site.
TEST(SiteFromSubnets, MostSpecificSubnetWins) {
  const auto subnet = [](const char* prefix, const char* site) {
    return SubnetSite{*IpPrefix::parse(prefix), std::string("CN=") + prefix + ",CN=Subnets", std::string("CN=") + site};
  };
  const std::vector<SubnetSite> subnets{subnet("10.0.0.0/8", "Campus"), subnet("10.20.1.0/24", "Legal-Floor"),
                                        subnet("10.20.0.0/16", "HQ"), subnet("2001:db8::/32", "V6")};
  const auto at = [&](std::vector<const char*> addresses) {
    std::vector<IpAddress> parsed;
    for (const char* a : addresses) parsed.push_back(*IpAddress::parse(a));
    return pick_site(subnets, parsed);
  };
  EXPECT_EQ(at({"10.20.1.10"})->site_dn, "CN=Legal-Floor");
  EXPECT_EQ(at({"10.20.2.10"})->site_dn, "CN=HQ");
  EXPECT_EQ(at({"10.99.0.1"})->site_dn, "CN=Campus");
  EXPECT_EQ(at({"10.99.0.1", "10.20.1.7"})->site_dn, "CN=Legal-Floor") << "any address, most specific subnet";
  EXPECT_EQ(at({"2001:db8::5"})->site_dn, "CN=V6");
  EXPECT_FALSE(at({"192.0.2.1", "::1"}));
  EXPECT_FALSE(pick_site({}, {*IpAddress::parse("10.20.1.10")}));
}

}  // namespace
}  // namespace ward::gpo
