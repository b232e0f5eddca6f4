// The IKE process's message bodies: what is encoded decodes alike, and a body that is short,
// long, or out of range is refused with the field and byte offset (the parent reads what a
// possibly compromised child sends).
#include "agent/ikeproc/wire.h"

#include <cstring>
#include <tuple>
#include <utility>

#include "agent/ikeproc/wire_samples.h"

#include <gtest/gtest.h>

namespace ward::agent::ikeproc {
namespace {

using samples::ip;

driver::SaInstall sample_sa() { return samples::sample<driver::SaInstall>(); }

// Every body, encoded from its sample, decodes and encodes back to the same bytes.
template <std::size_t... I>
void every_body_round_trips(std::index_sequence<I...>) {
  (
      [] {
        using T = std::tuple_element_t<I, samples::Bodies>;
        const auto body = encode(samples::sample<T>());
        auto back = decode<T>(body);
        ASSERT_TRUE(back) << "body " << I << ": " << back.error();
        EXPECT_EQ(encode(*back), body) << "body " << I;
      }(),
      ...);
}

TEST(IkeprocWire, EveryBodyRoundTripsToTheSameBytes) {
  every_body_round_trips(std::make_index_sequence<std::tuple_size_v<samples::Bodies>>{});
}

TEST(IkeprocWire, SaInstallRoundTrips) {
  const auto sa = sample_sa();
  Encoder e;
  encode(e, sa);
  auto back = decode<driver::SaInstall>(e.body());
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->params.spi, sa.params.spi);
  EXPECT_EQ(back->params.direction, sa.params.direction);
  ASSERT_TRUE(back->params.tunnel);
  EXPECT_EQ(back->params.tunnel->remote, sa.params.tunnel->remote);
  EXPECT_EQ(back->params.cipher, sa.params.cipher);
  EXPECT_TRUE(std::ranges::equal(back->params.encryption_key.reveal(), sa.params.encryption_key.reveal()));
  EXPECT_TRUE(std::ranges::equal(back->params.integrity_key.reveal(), sa.params.integrity_key.reveal()));
  ASSERT_TRUE(back->params.udp_encapsulation);
  EXPECT_EQ(back->params.udp_encapsulation->remote_port, 4501);
  EXPECT_EQ(back->filter_id, 42u);
  EXPECT_EQ(back->peer, sa.peer);
  EXPECT_EQ(back->lifetime.hard_bytes, sa.lifetime.hard_bytes);
  ASSERT_TRUE(back->bundled_ah);
  EXPECT_EQ(back->bundled_ah->spi, 99u);
  ASSERT_TRUE(back->dynamic);
  EXPECT_EQ(*back->dynamic, *sa.dynamic);
}

TEST(IkeprocWire, CountersAndSoftAssociationsRoundTrip) {
  const auto c = samples::sample<driver::DataplaneCounters>();
  Encoder e;
  encode(e, c);
  auto back = decode<driver::DataplaneCounters>(e.body());
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->sas[0].dynamic_filter_id, driver::kFirstDynamicFilterId);
  ASSERT_EQ(back->dynamic_filters.size(), 1u);
  EXPECT_EQ(back->dynamic_filters[0].selector, c.dynamic_filters[0].selector);
  EXPECT_EQ(back->dynamic_filters[0].sas, 2u);
  ASSERT_EQ(back->soft_associations.size(), 1u);
  EXPECT_EQ(back->soft_associations[0].peer, ip("10.0.0.3"));
  EXPECT_EQ(back->soft_associations[0].expires_in, std::chrono::seconds(288));
  EXPECT_EQ(back->unsecured_accepted, 17u);
  EXPECT_EQ(back->acquires, 2u);

  Encoder soft;
  encode(soft, samples::sample<driver::SoftAssociation>());
  auto association = decode<driver::SoftAssociation>(soft.body());
  ASSERT_TRUE(association) << association.error();
  EXPECT_EQ(association->filter_id, 5u);
  EXPECT_EQ(association->idle_lifetime, std::chrono::seconds(300));
}

TEST(IkeprocWire, PoliciesEventsAndSnapshotsRoundTrip) {
  const auto qm = samples::sample<ike::service::QuickModePolicy>();
  Encoder e;
  encode(e, qm);
  auto q = decode<ike::service::QuickModePolicy>(e.body());
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->proposals, qm.proposals);
  EXPECT_EQ(q->pfs_group, qm.pfs_group);
  EXPECT_EQ(q->local.prefix.to_string(), "10.1.0.0/16");
  EXPECT_EQ(q->remote.port, 443);
  EXPECT_EQ(q->tunnel_endpoint, qm.tunnel_endpoint);
  EXPECT_TRUE(q->default_response);
  EXPECT_TRUE(q->fallback_to_clear);

  const auto p1 = samples::sample<RemotePhase1Policy>();
  Encoder e1;
  encode(e1, p1);
  auto p = decode<RemotePhase1Policy>(e1.body());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->auth[0].handle, 3u);
  ASSERT_EQ(p->auth.size(), 2u);
  EXPECT_EQ(p->auth[1].ca_name, "CN=Ward Root, O=Ward");
  EXPECT_EQ(p->proposals.size(), 1u);

  const auto ev = samples::sample<ike::service::IkeEvent>();
  Encoder ee;
  encode(ee, ev);
  auto event = decode<ike::service::IkeEvent>(ee.body());
  ASSERT_TRUE(event) << event.error();
  EXPECT_EQ(event->kind, ev.kind);
  EXPECT_EQ(event->failure, ev.failure);
  EXPECT_EQ(event->reason, "no answer");
  EXPECT_TRUE(event->unverified);

  const auto snap = samples::sample<ike::service::IkeSnapshot>();
  Encoder e2;
  encode(e2, snap);
  auto s = decode<ike::service::IkeSnapshot>(e2.body());
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->main_modes[0].state, "established");
  EXPECT_EQ(s->main_modes[0].status, ike::service::NegotiationState::Established);
  ASSERT_EQ(s->negotiating.size(), 1u);
  EXPECT_EQ(s->negotiating[0].state, "QuickMode2Sent");
  EXPECT_TRUE(s->negotiating[0].default_response);
  ASSERT_EQ(s->failures.size(), 1u);
  EXPECT_EQ(s->failures[0].kind, ike::service::FailureKind::NoResponse);
  EXPECT_EQ(s->failures[0].reason, "no answer after 3 sends");
  EXPECT_EQ(s->quick_modes[0].ah, snap.quick_modes[0].ah);
  EXPECT_FALSE(s->quick_modes[0].pfs_group);
  EXPECT_EQ(s->counters.datagrams_received, 12u);
  EXPECT_EQ(s->counters.nat_keepalives_sent, 5u);
}

TEST(IkeprocWire, RefusesShortLongAndOutOfRangeBodies) {
  Encoder e;
  encode(e, sample_sa());
  auto body = e.body();
  auto shorter = decode<driver::SaInstall>(std::span(body).first(body.size() - 1));
  ASSERT_FALSE(shorter);
  EXPECT_NE(shorter.error().find("SA install: "), std::string::npos) << shorter.error();
  EXPECT_NE(shorter.error().find(" at byte "), std::string::npos) << shorter.error();
  body.push_back(0);
  auto longer = decode<driver::SaInstall>(body);
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().find("1 bytes left over"), std::string::npos) << longer.error();
  // The direction (third field, a u64 after the protocol and the SPI) out of its enum's range.
  auto bad = e.body();
  bad[8 + 4] = 7;
  auto ranged = decode<driver::SaInstall>(bad);
  ASSERT_FALSE(ranged);
  EXPECT_NE(ranged.error().find("SA install: params.direction at byte 12: value out of range"), std::string::npos) << ranged.error();
  // A count larger than the body could hold is refused before anything is allocated for it.
  Encoder counts;
  counts.u32(0x7fffffff);
  auto huge = decode<driver::DataplaneCounters>(counts.body());
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().find("exceeds the body"), std::string::npos) << huge.error();
}

TEST(IkeprocWire, RefusesWhatHasAnotherEncoding) {
  // A boolean other than 0 or 1, an IPv4 address with bytes after its fourth, a prefix with host
  // bits: each a value the encoder never writes, so a body holding one was not written by Ward.
  auto with_byte = [](std::vector<std::uint8_t> body, std::size_t at, std::uint8_t value) {
    body.at(at) = value;
    return body;
  };
  const auto note = encode(samples::sample<Phase1Request>());   // local, peer (17 bytes each), optional filter
  auto flag = decode<Phase1Request>(with_byte(note, 34, 2));
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().find("phase 1 request: filter_id at byte 34: not a boolean"), std::string::npos) << flag.error();
  auto v4 = decode<Phase1Request>(with_byte(note, 1 + 4, 1));
  ASSERT_FALSE(v4);
  EXPECT_NE(v4.error().find("local at byte 0: IPv4 address with bytes after the fourth"), std::string::npos) << v4.error();
  auto family = decode<Phase1Request>(with_byte(note, 17, 5));
  ASSERT_FALSE(family);
  EXPECT_NE(family.error().find("peer at byte 17: address family 5"), std::string::npos) << family.error();
  const auto request = encode(samples::sample<QuickModePeerRequest>());   // peer_side: 10.2.0.9/32 at byte 34
  auto prefix = decode<QuickModePeerRequest>(with_byte(request, 34 + 17, 24));
  ASSERT_FALSE(prefix);
  EXPECT_NE(prefix.error().find("quick mode request: peer_side.prefix at byte 34: not a prefix: 10.2.0.9/24"), std::string::npos) << prefix.error();
}

// kSocket: one socket of a group (an engine's), fd00::1 (17 bytes), port (u16) at 17, engine (u32)
// at 19, engines (u32) at 23. A group of none or of more than kMaxSocketGroup, an engine past the
// last, or past its own group is refused, naming the field and its byte.
TEST(IkeprocWire, SocketNotesCarryTheirPlaceInABoundedGroup) {
  const SocketNote last{*IpAddress::parse("fd00::1"), 500, {kMaxSocketGroup - 1}, {kMaxSocketGroup}};
  auto back = decode<SocketNote>(encode(last));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->engine.value, kMaxSocketGroup - 1);
  EXPECT_EQ(back->engines.value, kMaxSocketGroup);
  const auto note = encode(samples::sample<SocketNote>());
  ASSERT_EQ(note.size(), 27U);
  auto with_u32 = [&](std::size_t at, std::uint32_t value) {
    auto body = note;
    std::memcpy(body.data() + at, &value, sizeof value);
    return decode<SocketNote>(body);
  };
  const std::pair<std::uint32_t, std::string> refused_groups[] = {
      {0, "socket: engines at byte 23: 0 out of range (1..16)"}, {17, "socket: engines at byte 23: 17 out of range (1..16)"}};
  for (const auto& [engines, why] : refused_groups) {
    auto bad = with_u32(23, engines);
    ASSERT_FALSE(bad) << engines;
    EXPECT_EQ(bad.error(), why);
  }
  auto engine = with_u32(19, 16);
  ASSERT_FALSE(engine);
  EXPECT_EQ(engine.error(), "socket: engine at byte 19: 16 out of range (0..15)");
  auto outside = with_u32(19, 2);   // the sample's group has 2
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error(), "socket: body at byte 0: socket 2 of a group of 2");
  auto cut = decode<SocketNote>(std::span(note).first(note.size() - 1));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error(), "socket: engines at byte 23: needs 4 bytes, 3 left");
}

// kQuickModeForPeer's answer carries wardd's refusal typed: every RFC 2408 error type a refusal
// may name comes back as itself, with its reason; a policy comes back as the policy.
TEST(IkeprocWire, QuickModeAnswersCarryTheRefusalTypeOrThePolicy) {
  using ike::NotifyMessageType;
  for (auto n = static_cast<std::uint16_t>(NotifyMessageType::InvalidPayloadType);
       n <= static_cast<std::uint16_t>(NotifyMessageType::UnequalPayloadLengths); ++n) {
    const ike::service::PolicyRefusal refusal{static_cast<NotifyMessageType>(n), "reason " + std::to_string(n)};
    auto back = decode<QuickModePeerAnswer>(encode(QuickModePeerAnswer{refusal}));
    ASSERT_TRUE(back) << n << ": " << back.error();
    const auto* refused = std::get_if<ike::service::PolicyRefusal>(&back->answer);
    ASSERT_NE(refused, nullptr) << n;
    EXPECT_EQ(*refused, refusal);
  }
  const auto policy = samples::sample<ike::service::QuickModePolicy>();
  auto back = decode<QuickModePeerAnswer>(encode(QuickModePeerAnswer{policy}));
  ASSERT_TRUE(back) << back.error();
  const auto* answered = std::get_if<ike::service::QuickModePolicy>(&back->answer);
  ASSERT_NE(answered, nullptr);
  EXPECT_EQ(encode(*answered), encode(policy));
}

// The answer's layout: the alternative (u8: 0 policy, 1 refusal) at byte 0, then the refusal's
// type (u64) at byte 1 and its reason (u32 length, bytes) at byte 9.
TEST(IkeprocWire, RefusesAQuickModeAnswerWithAnUnknownAlternativeOrType) {
  const auto answer = encode(samples::sample<QuickModePeerAnswer>());
  auto with_type = [&](std::uint64_t type) {
    auto body = answer;
    std::memcpy(body.data() + 1, &type, sizeof type);
    return decode<QuickModePeerAnswer>(body);
  };
  // 0 is no type, 31 past the last RFC 2408 error type Ward names, 16384 (CONNECTED) a status.
  for (const std::uint64_t type : {0ULL, 31ULL, 16384ULL, 1ULL << 40}) {
    auto bad = with_type(type);
    ASSERT_FALSE(bad) << type;
    EXPECT_NE(bad.error().find("quick mode answer: answer.type at byte 1: value out of range"), std::string::npos) << bad.error();
  }
  ASSERT_TRUE(with_type(14)) << "NO-PROPOSAL-CHOSEN";
  auto alternative = answer;
  alternative[0] = 2;
  auto unknown = decode<QuickModePeerAnswer>(alternative);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("quick mode answer: answer at byte 0: alternative 2 out of range (0..1)"), std::string::npos)
      << unknown.error();
  auto cut = decode<QuickModePeerAnswer>(std::span(answer).first(answer.size() - 1));
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().find("quick mode answer: answer.reason at byte 9: count "), std::string::npos) << cut.error();
}

}  // namespace
}  // namespace ward::agent::ikeproc
