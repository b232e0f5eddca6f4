// The GPO reader against a real slapd holding an AD-shaped test directory.
#include "directory/gpo/reader.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "directory/gpo/dn.h"
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

TEST(GpoReaderHelpers, EscapesFilterValuesAndUnescapesRdns) {
  EXPECT_EQ(escape_filter_value("a*b(c)\\"), "a\\2ab\\28c\\29\\5c");
  EXPECT_EQ(rdn_value("OU=A\\,B"), "A,B");
  EXPECT_EQ(rdn_value("CN=x\\2Cy"), "x,y");
}

}  // namespace
}  // namespace ward::gpo
