// The IKE process's message bodies: what is encoded decodes alike, and a body that is short,
// long, or out of range is refused with the field and byte offset (the parent reads what a
// possibly compromised child sends).
#include "agent/ikeproc/wire.h"

#include <gtest/gtest.h>

namespace ward::agent::ikeproc {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

driver::SaInstall sample_sa() {
  driver::SaInstall sa;
  sa.params.spi = 0x11223344;
  sa.params.direction = driver::crypto::Direction::Inbound;
  sa.params.mode = driver::crypto::Mode::Tunnel;
  sa.params.tunnel = driver::crypto::TunnelEndpoints{driver::crypto::IpAddress::v4(10, 0, 0, 1),
                                                     driver::crypto::IpAddress::v4(10, 0, 0, 2)};
  sa.params.cipher = driver::crypto::Cipher::AesCbc256;
  sa.params.integrity = driver::crypto::Integrity::HmacSha256_128;
  const std::vector<std::byte> key(32, std::byte{0x5a});
  sa.params.encryption_key = driver::crypto::SecureBytes(key);
  sa.params.integrity_key = driver::crypto::SecureBytes(std::span(key).first(16));
  sa.params.udp_encapsulation = driver::crypto::UdpEncapsulation{4500, 4501};
  sa.filter_id = 42;
  sa.peer = ip("2001:db8::7");
  sa.lifetime.soft_time = std::chrono::seconds(3000);
  sa.lifetime.hard_time = std::chrono::seconds(3600);
  sa.lifetime.hard_bytes = 1 << 30;
  sa.bundled_ah = driver::crypto::SaParams{};
  sa.bundled_ah->protocol = driver::crypto::SecurityProtocol::Ah;
  sa.bundled_ah->spi = 99;
  sa.dynamic = driver::DynamicSelector{ip("2001:db8::1"), ip("2001:db8::7"), 6, 443, 50000};
  return sa;
}

TEST(IkeprocWire, SaInstallRoundTrips) {
  const auto sa = sample_sa();
  Encoder e;
  encode(e, sa);
  auto back = decode_sa_install(e.body());
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
  driver::DataplaneCounters c;
  c.filters.push_back({5, 10, 1000});
  driver::SaCounters sa;
  sa.spi = 7;
  sa.dynamic_filter_id = driver::kFirstDynamicFilterId;
  sa.peer = ip("10.0.0.2");
  c.sas.push_back(sa);
  c.dynamic_filters.push_back({driver::kFirstDynamicFilterId, 9, {ip("10.0.0.1"), ip("10.0.0.2"), 1, 0, 0}, 2, 3, 300});
  c.soft_associations.push_back({5, ip("10.0.0.3"), 4, 400, std::chrono::seconds(12), std::chrono::seconds(288)});
  c.unsecured_accepted = 17;
  c.acquires = 2;
  Encoder e;
  encode(e, c);
  auto back = decode_counters(e.body());
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
  encode(soft, driver::SoftAssociation{5, ip("10.0.0.3"), std::chrono::seconds(300)});
  auto association = decode_soft_association(soft.body());
  ASSERT_TRUE(association) << association.error();
  EXPECT_EQ(association->filter_id, 5u);
  EXPECT_EQ(association->idle_lifetime, std::chrono::seconds(300));
}

TEST(IkeprocWire, PoliciesEventsAndSnapshotsRoundTrip) {
  ike::service::QuickModePolicy qm;
  qm.proposals = {ike::sa::EspProposal{driver::crypto::Cipher::AesGcm256, driver::crypto::Integrity::None},
                  ike::sa::ProtectionSuite(ike::sa::AhProposal{driver::crypto::Integrity::HmacSha1_96},
                                           ike::sa::EspProposal{driver::crypto::Cipher::AesCbc128,
                                                                driver::crypto::Integrity::HmacSha1_96})};
  qm.pfs_group = IkeGroupDescription::Ecp256;
  qm.local.prefix = *IpPrefix::parse("10.1.0.0/16");
  qm.remote.prefix = IpPrefix::host(ip("10.2.0.9"));
  qm.remote.protocol = 6;
  qm.remote.port = 443;
  qm.filter_id = 7;
  qm.tunnel_endpoint = ip("192.0.2.1");
  qm.default_response = true;
  qm.fallback_to_clear = true;
  Encoder e;
  encode(e, qm);
  auto q = decode_quick_mode_policy(e.body());
  ASSERT_TRUE(q) << q.error();
  EXPECT_EQ(q->proposals, qm.proposals);
  EXPECT_EQ(q->pfs_group, qm.pfs_group);
  EXPECT_EQ(q->local.prefix.to_string(), "10.1.0.0/16");
  EXPECT_EQ(q->remote.port, 443);
  EXPECT_EQ(q->tunnel_endpoint, qm.tunnel_endpoint);
  EXPECT_TRUE(q->default_response);
  EXPECT_TRUE(q->fallback_to_clear);

  RemotePhase1Policy p1;
  p1.auth = {{IkeAuthenticationMethod::PreSharedKey, 3}};
  p1.proposals.push_back({});
  p1.quick_mode_limit = 1;
  Encoder e1;
  encode(e1, p1);
  auto p = decode_phase1_policy(e1.body());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->auth[0].handle, 3u);
  EXPECT_EQ(p->proposals.size(), 1u);

  ike::service::IkeEvent ev;
  ev.kind = ike::service::IkeEvent::Kind::SoftAssociation;
  ev.peer = ip("10.0.0.9");
  ev.reason = "no answer";
  ev.failure = ike::service::FailureKind::NoResponse;
  ev.unverified = true;
  Encoder ee;
  encode(ee, ev);
  auto event = decode_event(ee.body());
  ASSERT_TRUE(event) << event.error();
  EXPECT_EQ(event->kind, ev.kind);
  EXPECT_EQ(event->failure, ev.failure);
  EXPECT_EQ(event->reason, "no answer");
  EXPECT_TRUE(event->unverified);

  ike::service::IkeSnapshot snap;
  snap.main_modes.push_back({});
  snap.main_modes[0].peer = ip("10.0.0.2");
  snap.main_modes[0].state = "established";
  snap.main_modes[0].status = ike::service::NegotiationState::Established;
  snap.negotiating.push_back({ip("10.0.0.4"), ike::auth::Role::Responder, 8, "QuickMode2Sent", true});
  snap.failures.push_back({ip("10.0.0.5"), ike::auth::Role::Initiator, true, 5, ike::service::FailureKind::NoResponse,
                           "no answer after 3 sends", std::chrono::seconds(9)});
  snap.quick_modes.push_back({});
  snap.quick_modes[0].ah = driver::crypto::Integrity::HmacSha256_128;
  snap.counters.datagrams_received = 12;
  snap.counters.nat_keepalives_sent = 5;
  Encoder e2;
  encode(e2, snap);
  auto s = decode_snapshot(e2.body());
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
  auto shorter = decode_sa_install(std::span(body).first(body.size() - 1));
  ASSERT_FALSE(shorter);
  EXPECT_NE(shorter.error().find("SA install: "), std::string::npos) << shorter.error();
  EXPECT_NE(shorter.error().find(" at byte "), std::string::npos) << shorter.error();
  body.push_back(0);
  auto longer = decode_sa_install(body);
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().find("1 bytes left over"), std::string::npos) << longer.error();
  // The direction (third field, a u64 after the protocol and the SPI) out of its enum's range.
  auto bad = e.body();
  bad[8 + 4] = 7;
  auto ranged = decode_sa_install(bad);
  ASSERT_FALSE(ranged);
  EXPECT_NE(ranged.error().find("direction at byte 12: value out of range"), std::string::npos) << ranged.error();
  // A count larger than the body could hold is refused before anything is allocated for it.
  Encoder counts;
  counts.u32(0x7fffffff);
  auto huge = decode_counters(counts.body());
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().find("exceeds the body"), std::string::npos) << huge.error();
}

}  // namespace
}  // namespace ward::agent::ikeproc
