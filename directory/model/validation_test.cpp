#include "directory/model/validation.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::model {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::AllOf;
using ::testing::HasSubstr;

auto problem(const std::string& object, const std::string& field) {
  return AllOf(Field(&Problem::severity, Severity::Error), Field(&Problem::object, object), Field(&Problem::field, field));
}

class ValidationTest : public ::testing::Test {
 protected:
  Policy policy = testing::load_example_policy("legal-policy.json");
  FilterAction& outside() { return policy.filter_actions[1]; }
  FilterList& legal_list() { return policy.filter_lists[0]; }
  Rule& legal_rule() { return policy.rules[0]; }
};

TEST_F(ValidationTest, TheLegalExampleIsClean) {
  const auto problems = validate(policy);
  EXPECT_TRUE(problems.empty()) << problems.front().to_string();
}

TEST_F(ValidationTest, ReportsEveryProblemWithObjectAndField) {
  policy.polling_interval_minutes = 0;
  policy.key_exchange.methods[0].cipher = Cipher::Des;
  outside().security_methods[0].esp->integrity = Integrity::Sha256;  // GCM brings its own
  legal_list().filters[0].protocol = ip_protocol::kIcmp;
  legal_list().filters[0].destination_ports = PortRange::single(80);
  legal_rule().auth_methods.push_back(AuthMethod::certificate(""));

  const auto problems = validate(policy);
  EXPECT_TRUE(has_errors(problems));
  EXPECT_EQ(problems.size(), 5u);
  const std::string policy_name = "policy \"Communication for the Legal Department\"";
  EXPECT_THAT(problems, Contains(problem(policy_name, "polling_interval_minutes")));
  EXPECT_THAT(problems, Contains(problem("key exchange settings of " + policy_name, "methods[0].cipher")));
  EXPECT_THAT(problems, Contains(problem("filter action \"Secure traffic outside the Legal department\"",
                                         "security_methods[0].esp.integrity")));
  EXPECT_THAT(problems, Contains(problem("filter list \"Legal intra-department traffic\"", "filters[0].destination_ports")));
  EXPECT_THAT(problems, Contains(problem("rule \"Legal intra-department communications\"", "auth_methods[1].ca_name")));
}

TEST_F(ValidationTest, DanglingReferencesAreErrors) {
  legal_rule().filter_list = Guid::random();
  policy.rules[1].filter_action = Guid::random();
  const auto problems = validate(policy);
  EXPECT_THAT(problems, Contains(problem("rule \"Legal intra-department communications\"", "filter_list")));
  EXPECT_THAT(problems, Contains(problem("rule \"Inter-department communications\"", "filter_action")));
}

TEST_F(ValidationTest, LegacyAlgorithmsNeedTheOptIn) {
  policy.key_exchange.methods[0] = {Cipher::TripleDes, Integrity::Md5, DhGroup::Modp1024};
  EXPECT_EQ(validate(policy).size(), 3u);
  policy.allow_legacy_algorithms = true;
  EXPECT_TRUE(validate(policy).empty());
  policy.key_exchange.methods[0].dh_group = DhGroup::Modp768;  // broken even with the opt-in
  EXPECT_THAT(validate(policy), Contains(problem("key exchange settings of policy \"Communication for the Legal Department\"",
                                                 "methods[0].dh_group")));
}

TEST_F(ValidationTest, DuplicateIdsAndNamesAreErrors) {
  policy.filter_actions[1].id = policy.filter_actions[0].id;
  policy.rules[1].name = policy.rules[0].name;
  const auto problems = validate(policy);
  EXPECT_THAT(problems, Contains(problem("filter action \"Secure traffic outside the Legal department\"", "id")));
  EXPECT_THAT(problems, Contains(problem("rule \"Legal intra-department communications\"", "name")));
}

TEST_F(ValidationTest, TunnelRulesNeedUnmirroredFilters) {
  legal_rule().tunnel_endpoint = IpAddress::parse("192.0.2.1");
  EXPECT_THAT(validate(policy), Contains(problem("rule \"Legal intra-department communications\"", "tunnel_endpoint")));
  legal_list().filters[0].mirrored = false;
  EXPECT_TRUE(validate(policy).empty());
}

TEST_F(ValidationTest, DefaultResponseRuleHasNoFilterListAndMustNegotiate) {
  Rule response;
  response.id = Guid::random();
  response.name = "<Dynamic>";
  response.default_response = true;
  response.filter_action = policy.filter_actions[0].id;
  response.auth_methods = {AuthMethod::kerberos()};
  policy.rules.push_back(response);
  EXPECT_TRUE(validate(policy).empty());

  policy.rules.back().filter_list = legal_list().id;
  EXPECT_THAT(validate(policy), Contains(problem("rule \"<Dynamic>\"", "filter_list")));
}

// As Windows writes them: no ipsecName on the default response rule nor on its own filter action.
TEST_F(ValidationTest, TheDefaultResponseRuleAndItsOwnActionMayBeUnnamed) {
  FilterAction own = policy.filter_actions[0];
  own.id = Guid::random();
  own.name.clear();
  policy.filter_actions.push_back(own);
  Rule response;
  response.id = Guid::random();
  response.default_response = true;
  response.filter_action = own.id;
  response.auth_methods = {AuthMethod::kerberos()};
  policy.rules.push_back(response);
  EXPECT_TRUE(validate(policy).empty());

  // Another rule's action, or another rule, still needs a name.
  legal_rule().filter_action = own.id;
  EXPECT_THAT(validate(policy), Contains(problem("filter action " + own.id.to_string(), "name")));
  legal_rule().filter_action = policy.filter_actions[0].id;
  legal_rule().name.clear();
  EXPECT_THAT(validate(policy), Contains(problem("rule " + legal_rule().id.to_string(), "name")));
}

TEST_F(ValidationTest, NegotiatingRulesNeedAuthenticationAndSecretsAreChecked) {
  legal_rule().auth_methods.clear();
  policy.rules[1].auth_methods = {AuthMethod::preshared("")};
  const auto problems = validate(policy);
  EXPECT_THAT(problems, Contains(problem("rule \"Legal intra-department communications\"", "auth_methods")));
  EXPECT_THAT(problems, Contains(problem("rule \"Inter-department communications\"", "auth_methods[0].preshared_key")));
}

TEST_F(ValidationTest, WarningsAloneAreNotErrors) {
  FilterList unused{Guid::random(), "Unused", "", legal_list().filters};
  unused.filters[0].id = Guid::random();
  policy.filter_lists.push_back(unused);
  const auto problems = validate(policy);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].severity, Severity::Warning);
  EXPECT_THAT(problems[0].message, HasSubstr("no rule uses it"));
  EXPECT_FALSE(has_errors(problems));
}

TEST(Secret, ComparesInConstantTimeAndKeepsItsValue) {
  const Secret a("correct horse battery staple");
  Secret b = a;
  EXPECT_EQ(a, b);
  b = Secret("correct horse battery stapl!");
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a.reveal(), "correct horse battery staple");
}

}  // namespace
}  // namespace ward::model
