// The IKE process's phase 1 answers from wardd's table (phase1_table.h) on a hand-built table
// (wire_samples.h: phase1_table()); that they equal PolicyBridge's for real policies is
// agent/daemon/ike_phase1_table_test.cpp's. And the table's wire: a rule index past its rules is refused.
#include "agent/ikeproc/phase1_table.h"

#include <gtest/gtest.h>

#include "agent/ikeproc/wire_samples.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::agent::ikeproc::phase1_table_test {
namespace {

using samples::ip;

const IpAddress kLocal = ip("10.1.0.5");

std::vector<std::pair<IkeAuthenticationMethod, std::uint32_t>> methods(const RemotePhase1Policy& p) {
  std::vector<std::pair<IkeAuthenticationMethod, std::uint32_t>> out;
  for (const auto& a : p.auth) out.emplace_back(a.method, a.handle);
  return out;
}

using M = IkeAuthenticationMethod;

TEST(IkeProcessPhase1Table, CoveringRulesThenTheDefaultResponseFirstMethodOfEachKindWins) {
  const auto table = samples::phase1_table();
  auto p = answer_phase1(table, kLocal, ip("10.2.7.7"), std::nullopt);
  ASSERT_TRUE(p) << p.error();
  // Rule 0's preshared key (3) and Kerberos; the default response rule's key (4) is a second PSK.
  EXPECT_EQ(methods(*p), (std::vector<std::pair<M, std::uint32_t>>{{M::PreSharedKey, 3}, {M::Kerberos, 0}}));
  EXPECT_EQ(p->proposals.size(), 1U);
  EXPECT_TRUE(p->allow_legacy);
  EXPECT_EQ(p->quick_mode_limit, 1U);

  // Rule 1's empty key is skipped; its certificate, then the default response rule's key.
  auto other = answer_phase1(table, kLocal, ip("10.3.0.1"), std::nullopt);
  ASSERT_TRUE(other) << other.error();
  EXPECT_EQ(methods(*other), (std::vector<std::pair<M, std::uint32_t>>{{M::RsaSignatures, 1}, {M::PreSharedKey, 4}}));
  EXPECT_EQ(other->auth[0].ca_name, "CN=Ward Root, O=Ward");

  // Outside every filter: the default response rule alone.
  auto outside = answer_phase1(table, kLocal, ip("10.99.0.1"), std::nullopt);
  ASSERT_TRUE(outside) << outside.error();
  EXPECT_EQ(methods(*outside), (std::vector<std::pair<M, std::uint32_t>>{{M::PreSharedKey, 4}}));
}

TEST(IkeProcessPhase1Table, ATunnelRuleCoversItsEndpointWhateverItsSubnets) {
  const auto table = samples::phase1_table();
  auto p = answer_phase1(table, ip("10.1.0.5"), ip("192.0.2.1"), std::nullopt);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(methods(*p), (std::vector<std::pair<M, std::uint32_t>>{{M::RsaSignatures, 1}, {M::PreSharedKey, 4}}));
  auto other_local = answer_phase1(table, ip("10.1.0.77"), ip("10.9.1.1"), std::nullopt);   // inside the subnets: covered too
  ASSERT_TRUE(other_local) << other_local.error();
  EXPECT_EQ(other_local->auth[0].method, M::RsaSignatures);
}

TEST(IkeProcessPhase1Table, RefusesAsTheBridgeDoes) {
  auto table = samples::phase1_table();
  table.default_response_rule.reset();
  auto uncovered = answer_phase1(table, kLocal, ip("10.99.0.1"), std::nullopt);
  ASSERT_FALSE(uncovered);
  EXPECT_EQ(uncovered.error(), "no negotiate rule covers 10.1.0.5 <-> 10.99.0.1");
  auto from_another_host = answer_phase1(table, ip("10.1.1.5"), ip("10.2.0.1"), std::nullopt);
  ASSERT_FALSE(from_another_host);

  // Rule 1 through the tunnel, its certificate refused too: every refusal, in order.
  table.rules[1].auth[1] = std::string("rule \"tunnel\": no certificate");
  auto none = answer_phase1(table, kLocal, ip("192.0.2.1"), std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "no usable authentication method for 192.0.2.1; rule \"tunnel\": the preshared key is empty; rule \"tunnel\": no certificate");

  table.proposals.clear();
  table.no_proposals = "no usable key exchange method: every negotiate rule fails closed (no rule negotiates)";
  auto closed = answer_phase1(table, kLocal, ip("10.2.0.1"), std::nullopt);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error(), table.no_proposals);
}

TEST(IkeProcessPhase1Table, AnAcquiresFilterIdNamesItsRuleAlone) {
  const auto table = samples::phase1_table();
  auto p = answer_phase1(table, kLocal, ip("10.3.0.1"), 11);   // rule 0's filter, whatever the addresses
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(methods(*p), (std::vector<std::pair<M, std::uint32_t>>{{M::PreSharedKey, 3}, {M::Kerberos, 0}}));
  auto unknown = answer_phase1(table, kLocal, ip("10.3.0.1"), 99);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "filter 99 is not in the policy");
}

TEST(IkeProcessPhase1Table, TheSlotAnswersOnlyWhileItHoldsATable) {
  Phase1TableSlot slot;
  EXPECT_FALSE(slot.answer(kLocal, ip("10.2.0.1"), std::nullopt)) << "no table yet: ask wardd";
  slot.replace(samples::phase1_table());
  auto answered = slot.answer(kLocal, ip("10.2.0.1"), std::nullopt);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(*answered);
  auto table = samples::phase1_table();
  table.filters.clear();
  table.default_response_rule.reset();
  slot.replace(table);   // the next policy: no rule for the peer any more
  answered = slot.answer(kLocal, ip("10.2.0.1"), std::nullopt);
  ASSERT_TRUE(answered);
  EXPECT_FALSE(*answered);
  slot.replace(std::nullopt);   // too large to send: ask wardd again
  EXPECT_FALSE(slot.answer(kLocal, ip("10.2.0.1"), std::nullopt));
}

// Phase1TableNote: the optional's flag at byte 0, the table from byte 1. A filter, an origin or a
// default response naming a rule the table does not hold is refused.
TEST(IkeprocWire, RefusesAPhase1TableNamingARuleItDoesNotHold) {
  auto back = decode<Phase1TableNote>(encode(samples::sample<Phase1TableNote>()));
  ASSERT_TRUE(back) << back.error();
  ASSERT_TRUE(back->table);
  EXPECT_EQ(encode(*back->table), encode(samples::phase1_table()));

  const auto refused = [](auto&& change) {
    auto table = samples::phase1_table();
    change(table);
    auto bad = decode<Phase1TableNote>(encode(Phase1TableNote{table}));
    return bad ? std::string("decoded") : bad.error();
  };
  EXPECT_EQ(refused([](Phase1Table& t) { t.filters[2].rule = 3; }), "phase 1 table note: table at byte 1: rule 3 of a table of 3 rules");
  EXPECT_EQ(refused([](Phase1Table& t) { t.origins[0].rule = 7; }), "phase 1 table note: table at byte 1: rule 7 of a table of 3 rules");
  EXPECT_EQ(refused([](Phase1Table& t) { t.default_response_rule = 3; }), "phase 1 table note: table at byte 1: rule 3 of a table of 3 rules");
  EXPECT_EQ(refused([](Phase1Table& t) { t.rules.clear(); }), "phase 1 table note: table at byte 1: rule 2 of a table of 0 rules");

  // The no-table note: one byte.
  const auto none = encode(Phase1TableNote{});
  ASSERT_EQ(none.size(), 1U);
  auto empty = decode<Phase1TableNote>(none);
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_FALSE(empty->table);
}

}  // namespace
}  // namespace ward::agent::ikeproc::phase1_table_test
