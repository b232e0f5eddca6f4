#include "directory/model/policy_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "directory/model/test_support.h"

namespace ward::model {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

TEST(PolicyJson, TheLegalExampleRoundTripsExactly) {
  const auto text = testing::read_text(testing::source_dir() + "/schemas/examples/legal-policy.json");
  const auto policy = policy_from_json(text);
  ASSERT_TRUE(policy.has_value()) << policy.error().front().to_string();
  EXPECT_EQ(policy->name, "Communication for the Legal Department");
  ASSERT_EQ(policy->rules.size(), 2u);
  ASSERT_EQ(policy->filter_lists.size(), 2u);
  EXPECT_EQ(policy->filter_lists[0].filters[0].source.prefix, IpPrefix::parse("10.20.1.0/24"));

  // Export is the canonical form, and the shipped file is written in it.
  EXPECT_EQ(policy_to_json(*policy), text);
  const auto again = policy_from_json(policy_to_json(*policy));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *policy);
}

TEST(PolicyJson, EveryFieldSurvivesTheRoundTrip) {
  Policy policy = testing::load_example_policy("legal-policy.json");
  policy.allow_legacy_algorithms = true;
  policy.key_exchange.master_key_pfs = true;
  policy.key_exchange.quick_mode_limit = 1;
  policy.key_exchange.methods.push_back({Cipher::TripleDes, Integrity::Sha384, DhGroup::Ecp384});
  auto& filter = policy.filter_lists[0].filters[0];
  filter.protocol = ip_protocol::kTcp;
  filter.source_ports = {1024, 65535};
  filter.destination_ports = PortRange::single(445);
  filter.mirrored = false;
  policy.filter_lists[1].filters.push_back(
      Filter{Guid::random(), "to the file server", AddressSpec::my_address(), AddressSpec::dns("files.example.test"), 47,
             PortRange::any(), PortRange::any(), true});
  policy.filter_lists[1].filters.push_back(
      Filter{Guid::random(), "v6", AddressSpec::host(*IpAddress::parse("2001:db8::1")),
             AddressSpec::subnet(*IpPrefix::parse("2001:db8:1::/48")), ip_protocol::kIcmpV6, PortRange::any(), PortRange::any(), true});
  policy.filter_lists[1].filters.push_back(Filter{Guid::random(), "", AddressSpec{AddressKind::DefaultGateway, {}, {}},
                                                  AddressSpec::my_address(), 0, PortRange::any(), PortRange::any(), true});
  auto& action = policy.filter_actions[0];
  action.security_methods[1].esp = EspTransform{Cipher::Aes128Cbc, Integrity::Sha1};
  action.accept_unsecured = action.fallback_to_unsecured = action.quick_mode_pfs = true;
  const Guid negotiate_id = action.id;
  policy.filter_actions.push_back(FilterAction{Guid::random(), "Block", "", ActionKind::Block, {}, false, false, false});
  auto& rule = policy.rules[0];
  rule.auth_methods = {AuthMethod::certificate("CN=Example Root CA,O=Example"), AuthMethod::preshared("a long enough preshared key"),
                       AuthMethod::kerberos()};
  rule.tunnel_endpoint = IpAddress::parse("192.0.2.1");
  rule.connection_type = ConnectionType::Lan;
  rule.active = false;
  policy.rules.push_back(Rule{Guid::random(), "<Dynamic>", "default response", std::nullopt, negotiate_id, {AuthMethod::kerberos()},
                              std::nullopt, ConnectionType::All, true, true});

  const auto again = policy_from_json(policy_to_json(policy));
  ASSERT_TRUE(again.has_value()) << again.error().front().to_string();
  EXPECT_EQ(*again, policy);
}

TEST(PolicyJson, RedactedExportHidesPresharedKeys) {
  Policy policy = testing::load_example_policy("legal-policy.json");
  policy.rules[0].auth_methods = {AuthMethod::preshared("do-not-print-this-key")};
  EXPECT_THAT(policy_to_json(policy), HasSubstr("do-not-print-this-key"));
  const auto redacted = policy_to_json(policy, SecretHandling::Redact);
  EXPECT_THAT(redacted, ::testing::Not(HasSubstr("do-not-print-this-key")));
  EXPECT_THAT(redacted, HasSubstr("<redacted>"));
}

TEST(PolicyJson, RulesMayReferToListsAndActionsByName) {
  auto text = testing::read_text(testing::source_dir() + "/schemas/examples/legal-policy.json");
  const std::string by_id = "\"filter_list\": \"{2FB40BF6-43C8-446C-9F0D-50EEB641579A}\"";
  text.replace(text.find(by_id), by_id.size(), "\"filter_list\": \"Legal intra-department traffic\"");
  const auto policy = policy_from_json(text);
  ASSERT_TRUE(policy.has_value()) << policy.error().front().to_string();
  EXPECT_EQ(policy->rules[0].filter_list, policy->filter_lists[0].id);
}

auto at(const std::string& path, const std::string& message_part) {
  return AllOf(Field(&Problem::field, path), Field(&Problem::message, HasSubstr(message_part)));
}

TEST(PolicyJson, ErrorsNameTheJsonPathOfEveryBadValue) {
  auto text = testing::read_text(testing::source_dir() + "/schemas/examples/legal-policy.json");
  auto replace = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  replace("\"cipher\": \"aes256-gcm\"", "\"cipher\": \"rot13\"");
  replace("\"polling_interval_minutes\": 180", "\"polling_interval_minutes\": -5");
  replace("\"address\": \"10.20.1.0/24\"", "\"address\": \"10.20.1.9/24\"");
  replace("\"mirrored\": true", "\"mirored\": true");
  replace("\"type\": \"kerberos\"", "\"type\": \"kerb\"");
  const auto result = policy_from_json(text);
  ASSERT_FALSE(result.has_value());
  const auto& problems = result.error();
  EXPECT_EQ(problems.size(), 5u);
  EXPECT_THAT(problems, Contains(at("/filter_actions/1/security_methods/0/esp/cipher", "unknown value \"rot13\"")));
  EXPECT_THAT(problems, Contains(at("/polling_interval_minutes", "non-negative integer")));
  EXPECT_THAT(problems, Contains(at("/filter_lists/0/filters/0/source/address", "host bits must be zero")));
  EXPECT_THAT(problems, Contains(at("/filter_lists/0/filters/0/mirored", "unknown key")));
  EXPECT_THAT(problems, Contains(at("/rules/0/auth_methods/0/type", "accepted: kerberos, certificate, preshared-key")));
}

TEST(PolicyJson, SyntaxErrorsGiveTheByteOffset) {
  const auto result = policy_from_json("{\"format\": \"ward-policy/1\",\n \"name\": }");
  ASSERT_FALSE(result.has_value());
  ASSERT_EQ(result.error().size(), 1u);
  EXPECT_EQ(result.error()[0].field, "byte offset 37");  // the closing brace where a value belongs
}

TEST(PolicyJson, WrongShapesAreErrorsNotCrashes) {
  for (const char* text : {"[]", "42", "{\"format\": \"ward-policy/1\", \"rules\": {}}", "{\"format\": 7}",
                           "{\"format\": \"ward-policy/2\"}", "{\"filter_lists\": [[]]}"}) {
    const auto result = policy_from_json(text);
    EXPECT_FALSE(result.has_value()) << text;
  }
}

}  // namespace
}  // namespace ward::model
