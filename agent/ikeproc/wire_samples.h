// Every body that crosses between wardd and its IKE process, in a fixed order (the first byte of a
// wire_fuzz input picks one), with a filled-in value of each: the seeds of the fuzz corpus
// (wire_corpus_gen) and the round trips of wire_test.
#pragma once

#include <tuple>

#include "agent/ikeproc/wire_gss.h"

namespace ward::agent::ikeproc::samples {

// Append new bodies at the end: the committed corpus names bodies by their index here.
using Bodies = std::tuple<driver::SaInstall, SaDelete, driver::SoftAssociation, SoftAssociationDelete, ike::service::IkeEvent,
                          ike::service::IkeSnapshot, Phase1Request, QuickModePeerRequest, driver::Acquire, SkeyidRequest,
                          SignRequest, driver::DataplaneCounters, driver::SaExpiry, RemotePhase1Policy,
                          ike::service::QuickModePolicy, StartNote, SocketNote, RetainFilters, SnapshotRequest, CertificateNote,
                          GssOpen, GssExchange, GssTokens, GssAuthenticate, GssResult, SpiRequest, SpiReservation, ServicesNote,
                          QuickModePeerAnswer, Phase1TableNote, AlikeEvents>;

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

template <class T>
T sample() {
  return T{};
}

template <>
inline driver::SaInstall sample<driver::SaInstall>() {
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

template <>
inline SaDelete sample<SaDelete>() {
  return {0x1234, driver::crypto::Direction::Inbound};
}
template <>
inline driver::SoftAssociation sample<driver::SoftAssociation>() {
  return {5, ip("10.0.0.3"), std::chrono::seconds(300)};
}
template <>
inline SoftAssociationDelete sample<SoftAssociationDelete>() {
  return {5, ip("10.0.0.3")};
}

template <>
inline ike::service::IkeEvent sample<ike::service::IkeEvent>() {
  ike::service::IkeEvent ev;
  ev.kind = ike::service::IkeEvent::Kind::SoftAssociation;
  ev.peer = ip("10.0.0.9");
  ev.auth_method = "preshared key";
  ev.reason = "no answer";
  ev.failure = ike::service::FailureKind::NoResponse;
  ev.unverified = true;
  return ev;
}

template <>
inline AlikeEvents sample<AlikeEvents>() {
  AlikeEvents alike;
  alike.last = sample<ike::service::IkeEvent>();
  alike.last.kind = ike::service::IkeEvent::Kind::MainModeFailed;
  alike.last.role = ike::auth::Role::Responder;
  alike.last.reason = "no phase 1 policy for 10.0.0.9";
  alike.last.failure = ike::service::FailureKind::NoPolicy;
  alike.count.value = 4096;
  return alike;
}

template <>
inline ike::service::IkeSnapshot sample<ike::service::IkeSnapshot>() {
  ike::service::IkeSnapshot snap;
  snap.main_modes.push_back({});
  snap.main_modes[0].peer = ip("10.0.0.2");
  snap.main_modes[0].state = "established";
  snap.main_modes[0].status = ike::service::NegotiationState::Established;
  snap.main_modes[0].ike_version = 2;
  snap.main_modes[0].engine = 1;
  snap.engines = 2;
  snap.negotiating.push_back({ip("10.0.0.4"), ike::auth::Role::Responder, 8, "QuickMode2Sent", true});
  snap.failures.push_back({ip("10.0.0.5"), ike::auth::Role::Initiator, true, 5, ike::service::FailureKind::NoResponse,
                           "no answer after 3 sends", std::chrono::seconds(9)});
  snap.quick_modes.push_back({});
  snap.quick_modes[0].ah = driver::crypto::Integrity::HmacSha256_128;
  snap.counters.datagrams_received = 12;
  snap.counters.nat_keepalives_sent = 5;
  return snap;
}

template <>
inline Phase1Request sample<Phase1Request>() {
  return {ip("10.0.0.1"), ip("10.0.0.2"), 7};
}

template <>
inline ike::service::QuickModePolicy sample<ike::service::QuickModePolicy>() {
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
  return qm;
}

template <>
inline QuickModePeerRequest sample<QuickModePeerRequest>() {
  const auto qm = sample<ike::service::QuickModePolicy>();
  return {ip("10.0.0.1"), ip("10.2.0.9"), qm.remote, qm.local};
}

template <>
inline QuickModePeerAnswer sample<QuickModePeerAnswer>() {
  return {ike::service::PolicyRefusal{ike::NotifyMessageType::NoProposalChosen,
                                      "10.1.0.0/16 -> 10.2.0.9/32 falls under a block filter of rule \"r\" (it fails closed)"}};
}

template <>
inline driver::Acquire sample<driver::Acquire>() {
  return {7, ip("10.0.0.2"), ip("10.0.0.1"), ip("10.0.0.2"), 6, 40000, 443};
}

template <>
inline SkeyidRequest sample<SkeyidRequest>() {
  return {1, IkeHashAlgorithm::Sha2_256, std::vector<std::byte>(16, std::byte{1}), std::vector<std::byte>(16, std::byte{2})};
}

template <>
inline SignRequest sample<SignRequest>() {
  return {1, std::vector<std::byte>(32, std::byte{3})};
}

template <>
inline driver::DataplaneCounters sample<driver::DataplaneCounters>() {
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
  return c;
}

template <>
inline driver::SaExpiry sample<driver::SaExpiry>() {
  return {0x99, driver::crypto::Direction::Outbound, driver::ExpiryKind::Hard, 7, ip("10.0.0.2")};
}

template <>
inline RemotePhase1Policy sample<RemotePhase1Policy>() {
  RemotePhase1Policy p;
  p.auth = {{IkeAuthenticationMethod::PreSharedKey, 3, {}}, {IkeAuthenticationMethod::RsaSignatures, 1, "CN=Ward Root, O=Ward"}};
  p.proposals.push_back({});
  p.quick_mode_limit = 1;
  return p;
}

template <>
inline StartNote sample<StartNote>() {
  StartNote s;
  s.capabilities.userspace_crypto = true;
  s.capabilities.holds_packets = true;
  s.fallback_delay = std::chrono::milliseconds(3000);
  s.soft_association_lifetime = std::chrono::seconds(300);
  s.services.push_back({ip("10.0.0.1"), 500, true, 4500, std::chrono::milliseconds(500), 2, 4});
  s.dpd_idle = std::chrono::milliseconds(30000);
  s.dpd_retry = std::chrono::milliseconds(5000);
  s.dpd_probes = 3;
  s.ike_version = ike::service::IkeVersionPolicy::Ikev1;
  s.force_udp_encapsulation = true;
  s.ikev2_fragmentation = false;
  s.ikev2_fragment_size = 1200;
  return s;
}

template <>
inline ServicesNote sample<ServicesNote>() {
  return {{{ip("10.0.0.1"), 500, true, 4500, std::chrono::milliseconds(500), 2, 4},
           {ip("fd00::2"), 500, false, 0, std::chrono::milliseconds(250), 3, 5}}};
}

template <>
inline SocketNote sample<SocketNote>() {
  return {ip("fd00::1"), 4500, {1}, {2}};
}

template <>
inline RetainFilters sample<RetainFilters>() {
  return {{3, 5, 7}};
}

template <>
inline SnapshotRequest sample<SnapshotRequest>() {
  return {1};
}

template <>
inline CertificateNote sample<CertificateNote>() {
  return {1, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", {"-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n"},
          ike::auth::CertificateIdentity::Fqdn, "a.ward.test", ike::auth::RevocationCheck::Required};
}

template <>
inline GssOpen sample<GssOpen>() {
  return {ike::auth::Role::Responder, ip("10.0.0.2")};
}
template <>
inline GssExchange sample<GssExchange>() {
  return {9};
}
template <>
inline GssTokens sample<GssTokens>() {
  return {9, ike::auth::Role::Initiator, {std::vector<std::byte>(40, std::byte{0x60}), std::vector<std::byte>(3, std::byte{1})}};
}
template <>
inline GssAuthenticate sample<GssAuthenticate>() {
  GssAuthenticate a;
  a.exchange = 9;
  a.role = ike::auth::Role::Responder;
  a.transcript.skeyid = driver::crypto::SecureBytes(std::vector<std::byte>(32, std::byte{5}));
  a.transcript.g_xi = std::vector<std::byte>(64, std::byte{1});
  a.transcript.g_xr = std::vector<std::byte>(64, std::byte{2});
  a.transcript.cky_i = std::vector<std::byte>(8, std::byte{3});
  a.transcript.cky_r = std::vector<std::byte>(8, std::byte{4});
  a.transcript.sai_b = std::vector<std::byte>(48, std::byte{6});
  a.id_b = std::vector<std::byte>(8, std::byte{7});
  a.hash = std::vector<std::byte>(60, std::byte{8});
  return a;
}
template <>
inline GssResult sample<GssResult>() {
  return {std::vector<std::byte>(60, std::byte{8}), "host/a.ward.test@WARD.TEST"};
}

template <>
inline SpiRequest sample<SpiRequest>() {
  return {driver::crypto::SecurityProtocol::Ah, ip("2001:db8::7")};
}
template <>
inline SpiReservation sample<SpiReservation>() {
  return {0x8badf00d, driver::crypto::SecurityProtocol::Ah};
}

// Host 10.1.0.5: its filter to 10.2.0.0/16 negotiates with rule 0 (a preshared key, then
// Kerberos), to 10.3.0.0/16 and through a tunnel to 192.0.2.1 with rule 1 (an empty preshared key,
// unusable, then a certificate); rule 2 is the default response rule (another preshared key).
inline Phase1Table phase1_table() {
  Phase1Table t;
  const auto host = *IpPrefix::parse("10.1.0.5/32");
  t.filters = {{host, *IpPrefix::parse("10.2.0.0/16"), std::nullopt, 0},
               {host, *IpPrefix::parse("10.3.0.0/16"), std::nullopt, 1},
               {*IpPrefix::parse("10.1.0.0/24"), *IpPrefix::parse("10.9.0.0/16"), ip("192.0.2.1"), 1}};
  t.origins = {{11, 0}, {12, 1}, {13, 1}, {14, 2}};
  t.default_response_rule = 2;
  t.rules = {{{RemoteAuth{IkeAuthenticationMethod::PreSharedKey, 3, {}}, RemoteAuth{IkeAuthenticationMethod::Kerberos, 0, {}}}},
             {{std::string("rule \"tunnel\": the preshared key is empty"),
               RemoteAuth{IkeAuthenticationMethod::RsaSignatures, 1, "CN=Ward Root, O=Ward"}}},
             {{RemoteAuth{IkeAuthenticationMethod::PreSharedKey, 4, {}}}}};
  t.proposals.push_back({});
  t.allow_legacy = true;
  t.quick_mode_limit = 1;
  return t;
}
template <>
inline Phase1TableNote sample<Phase1TableNote>() {
  return {phase1_table()};
}

}  // namespace ward::agent::ikeproc::samples
