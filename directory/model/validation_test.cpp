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
  policy.key_exchange.methods[0].cipher = Cipher::Aes128Gcm;  // not for main mode
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

auto warning(const std::string& object, const std::string& field, const std::string& message) {
  return AllOf(Field(&Problem::severity, Severity::Warning), Field(&Problem::object, object), Field(&Problem::field, field),
               Field(&Problem::message, message));
}

const std::string kKeyExchange = "key exchange settings of policy \"Communication for the Legal Department\"";

// Weak offers are skipped with a warning naming the offer (offer_strength.h): broken ones always,
// legacy ones without the policy's opt-in; the policy stays valid.
TEST_F(ValidationTest, WeakOffersAreSkippedWithAWarningNotAnError) {
  policy.key_exchange.methods.push_back({Cipher::TripleDes, Integrity::Md5, DhGroup::Modp1024});
  policy.key_exchange.methods.push_back({Cipher::Des, Integrity::Sha1, DhGroup::Modp768});
  outside().security_methods.push_back({std::nullopt, EspTransform{Cipher::Des, Integrity::Md5}, 100000, 900});
  outside().security_methods.push_back({AhTransform{Integrity::Md5}, std::nullopt, 100000, 900});
  auto problems = validate(policy);
  EXPECT_FALSE(has_errors(problems)) << problems.front().to_string();
  EXPECT_EQ(problems.size(), 4u);
  EXPECT_THAT(problems, Contains(warning(kKeyExchange, "methods[2]",
                                         "key exchange method 3 (3DES/MD5/group 2) skipped: 3DES is legacy and legacy algorithms are not allowed")));
  EXPECT_THAT(problems, Contains(warning(kKeyExchange, "methods[3]", "key exchange method 4 (DES/SHA-1/group 1) skipped: DES is broken")));
  const std::string action = "filter action \"Secure traffic outside the Legal department\"";
  EXPECT_THAT(problems, Contains(warning(action, "security_methods[2]", "security method 3 (ESP DES/MD5) skipped: DES is broken")));
  EXPECT_THAT(problems, Contains(warning(action, "security_methods[3]",
                                         "security method 4 (AH MD5) skipped: MD5 is legacy and legacy algorithms are not allowed")));

  policy.allow_legacy_algorithms = true;   // legacy offers are used; broken ones never
  problems = validate(policy);
  EXPECT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems, Contains(warning(kKeyExchange, "methods[3]", "key exchange method 4 (DES/SHA-1/group 1) skipped: DES is broken")));
}

TEST_F(ValidationTest, AnObjectLeftWithNoUsableOfferIsWarnedToFailClosed) {
  policy.key_exchange.methods = {{Cipher::Des, Integrity::Md5, DhGroup::Modp768}};
  outside().security_methods = {{std::nullopt, EspTransform{Cipher::TripleDes, Integrity::Sha1}, 100000, 900}};
  const auto problems = validate(policy);
  EXPECT_FALSE(has_errors(problems));
  EXPECT_THAT(problems, Contains(AllOf(Field(&Problem::severity, Severity::Warning), Field(&Problem::object, kKeyExchange),
                                       Field(&Problem::field, "methods"), Field(&Problem::message, HasSubstr("fail closed")))));
  EXPECT_THAT(problems, Contains(AllOf(Field(&Problem::object, "filter action \"Secure traffic outside the Legal department\""),
                                       Field(&Problem::field, "security_methods"), Field(&Problem::message, HasSubstr("fail closed")))));
  // Malformed offers stay errors.
  policy.key_exchange.methods = {{Cipher::Aes128Gcm, Integrity::None, DhGroup::Ecp256}};
  EXPECT_TRUE(has_errors(validate(policy)));
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

// Windows' default response rule and its filter action have no name (FINDINGS.md): valid, and
// called "<default response>" in messages; any other unnamed rule or action is an error.
TEST_F(ValidationTest, UnnamedDefaultResponseRuleAndItsActionAreValid) {
  FilterAction action = outside();
  action.id = Guid::random();
  action.name.clear();
  Rule response;
  response.id = Guid::random();
  response.default_response = true;
  response.filter_action = action.id;
  response.auth_methods = {AuthMethod::kerberos()};
  policy.filter_actions.push_back(action);
  policy.rules.push_back(response);
  EXPECT_TRUE(validate(policy).empty()) << validate(policy).front().to_string();
  EXPECT_EQ(display_name(policy.rules.back()), "<default response>");
  EXPECT_EQ(display_name(policy, policy.filter_actions.back()), "<default response>");
  EXPECT_EQ(policy.rules.back().name, "") << "the stored name is unchanged";

  policy.filter_actions.back().security_methods.clear();   // messages name it
  EXPECT_THAT(validate(policy), Contains(problem("filter action \"<default response>\"", "security_methods")));
  policy.filter_actions.back().security_methods = outside().security_methods;
  legal_rule().filter_action = action.id;   // also used by an ordinary rule: needs a name
  EXPECT_THAT(validate(policy), Contains(problem("filter action " + action.id.to_string(), "name")));
  legal_rule().filter_action = policy.filter_actions[0].id;
  legal_rule().name.clear();   // an ordinary rule needs one
  EXPECT_THAT(validate(policy), Contains(problem("rule " + legal_rule().id.to_string(), "name")));
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
