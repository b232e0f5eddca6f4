// The GPO reader against a real slapd holding an AD-shaped test directory.
#include "directory/gpo/reader.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "directory/gpo/dn.h"
#include "directory/gpo/policy_results.h"
#include "tests/harness/slapd_instance.h"

namespace ward::gpo {
namespace {

const std::string kDomain = "DC=ward,DC=test";
const std::string kSite = "CN=HQ,CN=Sites,CN=Configuration,DC=ward,DC=test";
const std::string kIpSecurity = "CN=IP Security,CN=System,DC=ward,DC=test";

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

std::string policy(const std::string& guid) { return "CN=ipsecPolicy{" + guid + "}," + kIpSecurity; }

class GpoReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::SlapdOptions options;
    options.suffix = "dc=ward,dc=test";
    options.create_suffix_entry = false;
    options.extra_schemas = {source_dir() / "schemas/openldap/ward-ad-ipsec.ldif"};
    options.initial_ldif = {source_dir() / "directory/gpo/testdata/gpo-directory.ldif"};
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = slapd->release();
  }
  static void TearDownTestSuite() {
    delete slapd_;
    slapd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(slapd_, nullptr);
    ldap::SessionOptions options;
    options.uris = {slapd_->ldap_uri()};
    options.bind = ldap::SimpleBind{slapd_->options().root_dn, model::Secret(slapd_->options().root_password)};
    auto session = ldap::Session::connect(options);
    ASSERT_TRUE(session) << session.error().to_string();
    session_ = std::move(*session);
  }

  static inline test::SlapdInstance* slapd_ = nullptr;
  std::unique_ptr<ldap::Session> session_;
};

TEST_F(GpoReaderTest, LegalComputerGetsLegalPolicyInTwoRoundTrips) {
  auto scope = read_computer_scope(*session_, "CN=LEGAL-PC1,OU=Legal," + kDomain, std::nullopt);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->policy_dn, policy("1E6A1000-0000-4000-8000-00000000001A"));
  EXPECT_EQ(scope->winner->gpo_display_name, "Legal IPsec");
  EXPECT_EQ(scope->winner->som_dn, "OU=Legal," + kDomain);
  EXPECT_EQ(scope->winner->gpo_dn, "cn={A1B2C3D4-0000-4000-8000-00000000001A},cn=policies,cn=system,DC=ward,DC=test");
  EXPECT_EQ(scope->round_trips, 2u);
  // The decoy OU=Legal,OU=Sales (linking "Lab IPsec") was not taken for OU=Legal.
  ASSERT_EQ(scope->scope.applied.size(), 3u);
  EXPECT_EQ(scope->scope.applied.back().display_name, "Legal IPsec");
}

TEST_F(GpoReaderTest, SalesComputerGetsDomainPolicy) {
  auto scope = read_computer_scope(*session_, "CN=SALES-PC1,OU=Sales," + kDomain, std::nullopt);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->policy_dn, policy("E514E247-80C3-429A-8D69-74BD54FEB31E"));
  EXPECT_EQ(scope->winner->som_dn, kDomain);
  EXPECT_EQ(scope->winner->gpo_display_name, "Domain Isolation");
}

TEST_F(GpoReaderTest, NestedOuInheritsParentPolicy) {
  auto scope = read_computer_scope(*session_, "CN=CONTRACT-PC1,OU=Contracts,OU=Legal," + kDomain, std::nullopt);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->gpo_display_name, "Legal IPsec");
  EXPECT_EQ(scope->input.domain_and_ous.size(), 3u);
  EXPECT_EQ(scope->round_trips, 2u);
}

TEST_F(GpoReaderTest, BlockingOuWithComputerDisabledGpoGetsOwnPolicy) {
  auto scope = read_computer_scope(*session_, "CN=LAB-PC1,OU=Lab," + kDomain, kSite);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->gpo_display_name, "Lab IPsec");  // the disabled one is listed later
  EXPECT_EQ(scope->scope.applied.size(), 1u);
  EXPECT_EQ(scope->round_trips, 3u);  // SOMs, site, GPOs
}

TEST_F(GpoReaderTest, DisabledLinkFallsBackToDomain) {
  auto scope = read_computer_scope(*session_, "CN=DIS-PC1,OU=Disabled," + kDomain, kSite);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->gpo_display_name, "Domain Isolation");
}

TEST_F(GpoReaderTest, ComputerInPlainContainerGetsDomainOverSite) {
  auto scope = read_computer_scope(*session_, "CN=PLAIN-PC1,CN=Computers," + kDomain, kSite);
  ASSERT_TRUE(scope) << scope.error().to_string();
  ASSERT_TRUE(scope->winner);
  EXPECT_EQ(scope->winner->gpo_display_name, "Domain Isolation");
  EXPECT_EQ(scope->scope.applied.front().display_name, "HQ Site IPsec");
}

TEST_F(GpoReaderTest, FindsComputerByAccountName) {
  auto dn = find_computer_by_account(*session_, kDomain, "legal-pc1");
  ASSERT_TRUE(dn) << dn.error().to_string();
  EXPECT_EQ(normalize_dn(*dn), normalize_dn("CN=LEGAL-PC1,OU=Legal," + kDomain));
  auto missing = find_computer_by_account(*session_, kDomain, "NOPE");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().attribute, "sAMAccountName");
}

TEST_F(GpoReaderTest, MissingComputerIsAnError) {
  auto scope = read_computer_scope(*session_, "CN=GHOST,OU=Legal," + kDomain, std::nullopt);
  ASSERT_FALSE(scope);
  EXPECT_NE(scope.error().message.find("not found"), std::string::npos) << scope.error().to_string();
}

TEST_F(GpoReaderTest, MalformedGpLinkInDirectoryNamesDnAndAttribute) {
  const std::string ou = "OU=Broken," + kDomain;
  ASSERT_TRUE(session_->add(ou, {{"objectClass", {"organizationalUnit", "wardGroupPolicyLinks"}},
                                 {"ou", {"Broken"}},
                                 {"gPLink", {"[LDAP://cn={X},cn=policies;notanumber]"}}}));
  ASSERT_TRUE(session_->add("CN=BROKEN-PC1," + ou, {{"objectClass", {"computer"}}, {"cn", {"BROKEN-PC1"}}}));
  auto scope = read_computer_scope(*session_, "CN=BROKEN-PC1," + ou, std::nullopt);
  ASSERT_FALSE(scope);
  EXPECT_EQ(scope.error().dn, ou);
  EXPECT_EQ(scope.error().attribute, "gPLink");
  ASSERT_TRUE(session_->remove("CN=BROKEN-PC1," + ou));
  ASSERT_TRUE(session_->remove(ou));
}

TEST_F(GpoReaderTest, EnforcedDomainLinkWinsAfterDirectoryChange) {
  auto domain = session_->search({kDomain, ldap::Scope::kBase, "(objectClass=*)", {"gPLink"}, 0});
  ASSERT_TRUE(domain) << domain.error().to_string();
  const std::string original = (*domain)[0].first("gPLink").value_or("");
  const std::string enforced =
      "[LDAP://cn={A1B2C3D4-0000-4000-8000-0000000000E1},cn=policies,cn=system,DC=ward,DC=test;2]" + original;
  ASSERT_TRUE(session_->modify(kDomain, {{ldap::Modification::Op::kReplace, "gPLink", {enforced}}}));
  auto legal = read_computer_scope(*session_, "CN=LEGAL-PC1,OU=Legal," + kDomain, std::nullopt);
  auto lab = read_computer_scope(*session_, "CN=LAB-PC1,OU=Lab," + kDomain, std::nullopt);
  ASSERT_TRUE(session_->modify(kDomain, {{ldap::Modification::Op::kReplace, "gPLink", {original}}}));
  ASSERT_TRUE(legal) << legal.error().to_string();
  ASSERT_TRUE(legal->winner);
  EXPECT_EQ(legal->winner->gpo_display_name, "Enforced Baseline");
  EXPECT_EQ(legal->winner->som_dn, kDomain);
  ASSERT_TRUE(lab) << lab.error().to_string();
  ASSERT_TRUE(lab->winner);
  EXPECT_EQ(lab->winner->gpo_display_name, "Enforced Baseline");  // blocking cannot stop it
}

// Policy results (the code wardd, ward-dir scope and the editor share): every link in the chain
// with its order, what became of it and why.
const GpoResult* result_named(const PolicyResults& results, const std::string& name, bool applied) {
  for (const auto& gpo : results.gpos) {
    if (gpo.name == name && gpo.applied == applied) return &gpo;
  }
  return nullptr;
}

TEST_F(GpoReaderTest, PolicyResultsSayWhyEachGpoLost) {
  ResultsQuery query;
  query.domain_dn = kDomain;
  query.computer_account = "lab-pc1";
  query.site_dn = kSite;
  auto results = read_policy_results(*session_, query);
  ASSERT_TRUE(results) << results.error().to_string();
  EXPECT_EQ(results->directory, "OpenLDAP");
  EXPECT_FALSE(results->security_filtering);
  EXPECT_TRUE(results->account.empty());
  EXPECT_EQ(normalize_dn(results->computer_dn), normalize_dn("CN=LAB-PC1,OU=Lab," + kDomain));
  EXPECT_EQ(results->site.from, "configured");
  ASSERT_EQ(results->soms.size(), 3u);  // site, domain, OU=Lab
  EXPECT_EQ(results->soms[0].kind, SomKind::kSite);
  EXPECT_TRUE(results->soms[2].block_inheritance);
  ASSERT_TRUE(results->winner);
  EXPECT_EQ(results->winner->gpo_display_name, "Lab IPsec");

  const auto* lab = result_named(*results, "Lab IPsec", true);
  ASSERT_NE(lab, nullptr);
  EXPECT_TRUE(lab->wins);
  EXPECT_EQ(lab->note, "its IPsec policy wins");
  EXPECT_EQ(lab->precedence, 1u);
  EXPECT_EQ(lab->link_order, 2u) << "first in OU=Lab's gPLink: the weaker of its two links";
  // The site's and the domain's links are blocked by OU=Lab, which names itself as the reason.
  const auto* site = result_named(*results, "HQ Site IPsec", false);
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->som_kind, SomKind::kSite);
  EXPECT_EQ(site->note, "blocked by inheritance: " + results->soms[2].dn + " blocks inheritance");
  EXPECT_EQ(normalize_dn(results->soms[2].dn), normalize_dn("OU=Lab," + kDomain));
  const auto* domain = result_named(*results, "Domain Isolation", false);
  ASSERT_NE(domain, nullptr);
  EXPECT_EQ(domain->note, site->note);
  const auto* disabled = result_named(*results, "Computer Settings Disabled", false);
  ASSERT_NE(disabled, nullptr) << "the GPO whose computer settings are disabled is named";
  EXPECT_EQ(disabled->note, "computer settings disabled");
  EXPECT_EQ(disabled->link_order, 1u);
}

TEST_F(GpoReaderTest, PolicyResultsNameTheOverriddenAssignment) {
  ResultsQuery query;
  query.domain_dn = kDomain;
  query.computer_dn = "CN=LEGAL-PC1,OU=Legal," + kDomain;
  auto results = read_policy_results(*session_, query);
  ASSERT_TRUE(results) << results.error().to_string();
  EXPECT_EQ(results->site.dn, "") << "no msDS-SiteName, no subnets, no addresses";
  const auto* domain = result_named(*results, "Domain Isolation", true);
  ASSERT_NE(domain, nullptr);
  EXPECT_FALSE(domain->wins);
  ASSERT_EQ(results->soms.size(), 2u);  // domain, OU=Legal (no site)
  EXPECT_EQ(domain->note, "its IPsec policy is overridden by GPO Legal IPsec (linked at " + results->soms[1].dn +
                              ", precedence 1)");
  const auto* legal = result_named(*results, "Legal IPsec", true);
  ASSERT_NE(legal, nullptr);
  EXPECT_TRUE(legal->wins);
  ASSERT_TRUE(legal->ipsec_policy_dn);
  EXPECT_EQ(*legal->ipsec_policy_dn, policy("1E6A1000-0000-4000-8000-00000000001A"));
}

// What if LEGAL-PC1 moved to OU=Sales, in site HQ: Sales' GPO (no IPsec) and the domain's apply.
TEST_F(GpoReaderTest, WhatIfModellingPlacesTheComputerElsewhere) {
  ResultsQuery query;
  query.domain_dn = kDomain;
  query.computer_account = "LEGAL-PC1$";
  query.placement_dn = "OU=Sales," + kDomain;
  query.site_dn = kSite;
  query.site_given_as = "modelled";
  auto results = read_policy_results(*session_, query);
  ASSERT_TRUE(results) << results.error().to_string();
  EXPECT_TRUE(results->modelled);
  EXPECT_EQ(results->container_dn, "OU=Sales," + kDomain);
  EXPECT_EQ(results->site.from, "modelled");
  ASSERT_TRUE(results->winner);
  EXPECT_EQ(results->winner->gpo_display_name, "Domain Isolation");
  EXPECT_EQ(result_named(*results, "Legal IPsec", true), nullptr);
  EXPECT_NE(result_named(*results, "Sales Desktop", true), nullptr);

  query.placement_dn = "OU=Nowhere," + kDomain;
  auto missing = read_policy_results(*session_, query);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().error.message.find("container to model"), std::string::npos) << missing.error().to_string();
  query.placement_dn = "OU=Legal,DC=other,DC=test";
  auto foreign = read_policy_results(*session_, query);
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().error.message.find("not a container of its domain"), std::string::npos);
}

// No site named: the subnet holding one of the addresses gives it, as the DC locator would.
TEST_F(GpoReaderTest, PolicyResultsFindTheSiteFromSubnets) {
  const std::string subnets = "CN=Subnets,CN=Sites,CN=Configuration," + kDomain;
  ASSERT_TRUE(session_->add(subnets, {{"objectClass", {"container"}}, {"cn", {"Subnets"}}}));
  const std::string subnet = "CN=10.20.0.0/16," + subnets;
  ASSERT_TRUE(session_->add(subnet, {{"objectClass", {"subnet"}}, {"cn", {"10.20.0.0/16"}}, {"siteObject", {kSite}}}));
  ResultsQuery query;
  query.domain_dn = kDomain;
  query.computer_account = "PLAIN-PC1";
  query.addresses = {*IpAddress::parse("192.0.2.1"), *IpAddress::parse("10.20.3.4")};
  query.addresses_from = "DNS name plain-pc1.ward.test";
  auto results = read_policy_results(*session_, query);
  ASSERT_TRUE(session_->remove(subnet));
  ASSERT_TRUE(session_->remove(subnets));
  ASSERT_TRUE(results) << results.error().to_string();
  EXPECT_EQ(normalize_dn(results->site.dn), normalize_dn(kSite));
  EXPECT_EQ(results->site.from, "subnet 10.20.0.0/16 (DNS name plain-pc1.ward.test)");
  EXPECT_NE(result_named(*results, "HQ Site IPsec", true), nullptr);
}

TEST_F(GpoReaderTest, PolicyResultsNameTheStepThatFailed) {
  ResultsQuery query;
  query.domain_dn = kDomain;
  query.computer_account = "NOPE";
  auto results = read_policy_results(*session_, query);
  ASSERT_FALSE(results);
  EXPECT_EQ(results.error().step, "finding computer sAMAccountName NOPE$ under " + kDomain);
  EXPECT_EQ(results.error().error.attribute, "sAMAccountName");
}

TEST(GpoReaderHelpers, EscapesFilterValuesAndUnescapesRdns) {
  EXPECT_EQ(escape_filter_value("a*b(c)\\"), "a\\2ab\\28c\\29\\5c");
  EXPECT_EQ(rdn_value("OU=A\\,B"), "A,B");
  EXPECT_EQ(rdn_value("CN=x\\2Cy"), "x,y");
}

}  // namespace
}  // namespace ward::gpo
