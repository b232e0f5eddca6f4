// The bodies of the messages between wardd and its IKE process (messages.h says which message
// carries which): one Wire<T> description per struct, in wire order, read by both encode() and
// decode<T>() (codec.h). A field added to a struct that crosses is one line here.
// Over 600 lines for that reason: every body that crosses is described in this one file, so a
// change of the wire is reviewed in one place (the Kerberos bodies are in wire_gss.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/ikeproc/codec.h"
#include "driver/api/dataplane.h"
#include "ike/auth/certificate_chain.h"
#include "ike/auth/certificate_identity.h"
#include "ike/service/ike_service.h"

namespace ward::agent::ikeproc {

using ike::IkeAuthenticationMethod;
using ike::IkeEncryptionAlgorithm;
using ike::IkeGroupDescription;
using ike::IkeHashAlgorithm;

// ---- bodies of Ward's own (the rest are driver:: and ike:: structs) -----------------------------

// A phase 1 policy with its auth providers named by handle (the keys stay with the parent).
// Certificates: `handle` names the parent's CertificateCredentials key (kSign), `ca_name` the CA
// the peer's certificate must chain to.
struct RemoteAuth {
  IkeAuthenticationMethod method = IkeAuthenticationMethod::PreSharedKey;
  std::uint32_t handle = 0;
  std::string ca_name;
};
struct RemotePhase1Policy {
  std::vector<RemoteAuth> auth;
  std::vector<ike::sa::Phase1Proposal> proposals;
  bool allow_legacy = false;
  std::uint32_t quick_mode_limit = 0;
};

// kPhase1Table: what PolicyBridge::phase1_for(local, peer, filter) reads of the policy wardd
// enforces, with the auth methods made as kPhase1For makes them (keys by handle), so that the IKE
// process answers every main mode 1 / IKE_SA_INIT itself (phase1_table.h) instead of asking wardd.
struct Phase1TableFilter {   // a negotiate filter, in precedence order
  IpPrefix local;
  IpPrefix peer;
  std::optional<IpAddress> tunnel_endpoint;   // tunnel mode: main mode runs with this peer
  std::uint32_t rule = 0;                     // index into Phase1Table::rules
};
struct Phase1TableOrigin {   // a filter id of the policy (what an acquire names) and its rule
  std::uint32_t filter_id = 0;
  std::uint32_t rule = 0;
};
// One of a rule's auth methods as wardd made it: the method (keys by handle), or why it is
// unusable ("rule \"name\": why", as a refusal names it).
using Phase1TableAuth = std::variant<RemoteAuth, std::string>;
struct Phase1TableRule {
  std::vector<Phase1TableAuth> auth;   // the rule's order
};
struct Phase1Table {
  std::vector<Phase1TableFilter> filters;
  std::vector<Phase1TableOrigin> origins;
  std::optional<std::uint32_t> default_response_rule;
  std::vector<Phase1TableRule> rules;   // the policy's, in its order
  std::vector<ike::sa::Phase1Proposal> proposals;
  std::string no_proposals;   // with no proposals: why (every negotiate rule fails closed)
  bool allow_legacy = false;
  std::uint32_t quick_mode_limit = 0;
};
struct Phase1TableNote {   // kPhase1Table
  // None: the table is larger than a message; the IKE process asks wardd (kPhase1For) per main mode.
  std::optional<Phase1Table> table;
};

struct Phase1Request {   // kPhase1For
  IpAddress local;
  IpAddress peer;
  std::optional<std::uint32_t> filter_id;
};
struct QuickModePeerRequest {   // kQuickModeForPeer
  IpAddress local;
  IpAddress peer;
  ike::sa::TrafficSelector peer_side;
  ike::sa::TrafficSelector our_side;
};
// kQuickModeForPeer's answer: the policy, or why wardd's policy refuses (the notify type the peer
// is told and the reason to log).
struct QuickModePeerAnswer {
  std::variant<ike::service::QuickModePolicy, ike::service::PolicyRefusal> answer;
};
struct SkeyidRequest {   // kSkeyid
  std::uint32_t handle = 0;
  IkeHashAlgorithm hash = IkeHashAlgorithm::Sha2_256;
  std::vector<std::byte> ni_b;
  std::vector<std::byte> nr_b;
};
struct SignRequest {   // kSign: a hash or DigestInfo signed (RSA PKCS#1 v1.5, ECDSA) by the key the parent holds
  std::uint32_t handle = 0;
  std::vector<std::byte> hash;
};
struct SaDelete {   // kDeleteSa
  std::uint32_t spi = 0;
  driver::crypto::Direction direction = driver::crypto::Direction::Outbound;
};
struct SoftAssociationDelete {   // kDeleteSoftAssociation
  std::uint32_t filter_id = 0;
  IpAddress peer;
};
struct SpiRequest {   // kAllocateSpi -> SpiReservation: an inbound SPI for an SA from `peer`
  driver::crypto::SecurityProtocol protocol = driver::crypto::SecurityProtocol::Esp;
  IpAddress peer;
};
struct SpiReservation {   // kAllocateSpi's answer; kReleaseSpi
  std::uint32_t spi = 0;
  driver::crypto::SecurityProtocol protocol = driver::crypto::SecurityProtocol::Esp;
};
// The most sockets wardd binds on one address and port for its IKE process: one per engine
// ([ike] engines, at most config::kMaxIkeEngines).
inline constexpr std::uint32_t kMaxSocketGroup = 16;
// kSocket: one socket of a group of `engines` on address:port (net::bind_group, the BPF program
// choosing by peer_engine), socket number `engine` in the group's order (the socket itself travels
// as the message's descriptor). Each socket of a group comes in a message of its own (a channel
// message carries one descriptor); a group is used once all of it came.
struct SocketNote {
  IpAddress address;
  std::uint16_t port = 0;
  Bounded<0, kMaxSocketGroup - 1> engine;
  Bounded<1, kMaxSocketGroup> engines;
};
// kAlikeEvents: `count` unverified IKE failures alike but for their (possibly forged) address,
// `last` the latest of them (agent/ikeproc/alike_events.h).
inline constexpr std::uint32_t kMaxAlikeEvents = 1'000'000'000;
struct AlikeEvents {
  ike::service::IkeEvent last;
  Bounded<1, kMaxAlikeEvents> count;
};
struct ServiceStart {
  IpAddress local;
  std::uint16_t port = 0;
  bool nat_traversal = false;
  std::uint16_t nat_t_port = 0;
  std::chrono::milliseconds first_interval{0};
  std::uint32_t factor = 0;
  std::uint32_t max_sends = 0;
};
struct StartNote {   // kStart
  driver::Capabilities capabilities;
  std::chrono::milliseconds fallback_delay{0};
  std::chrono::seconds soft_association_lifetime{0};
  std::vector<ServiceStart> services;
  // Dead peer detection ([ike] dpd_idle, dpd_retry, dpd_probes), as the in-process IKE applies it.
  std::chrono::milliseconds dpd_idle{0};
  std::chrono::milliseconds dpd_retry{0};
  std::uint32_t dpd_probes = 0;
  ike::service::IkeVersionPolicy ike_version = ike::service::IkeVersionPolicy::Ikev2First;   // [ike] version
  bool force_udp_encapsulation = false;   // [ike] udp_encapsulation = force
  bool ikev2_fragmentation = true;        // [ike] fragmentation
  std::uint32_t ikev2_fragment_size = 0;  // [ike] fragment_size (0: by address family)
};
struct ServicesNote {   // kServices: the services to run from now on, in this order
  std::vector<ServiceStart> services;
};
struct RetainFilters {   // kRetainFilters
  std::vector<std::uint32_t> filter_ids;
};
struct SnapshotRequest {   // kSnapshot
  std::uint32_t service = 0;
};
// The certificate material the IKE process may see (kCertificates): ours and its chain, the trust
// store, as PEM; never the private key.
struct CertificateNote {
  std::uint32_t handle = 0;
  std::string certificate_pem;
  std::vector<std::string> trust_pem;
  // [certificates] identity, fqdn and revocation: the child computes its own ID from the
  // certificate and checks peers' chains as wardd would (the first note's count).
  ike::auth::CertificateIdentity identity = ike::auth::CertificateIdentity::DistinguishedName;
  std::string fqdn;
  ike::auth::RevocationCheck revocation = ike::auth::RevocationCheck::IfPresent;
};

// ---- enums ----------------------------------------------------------------------------------------

template <>
struct Wire<driver::crypto::Direction> {
  static constexpr auto last = driver::crypto::Direction::Outbound;
};
template <>
struct Wire<ike::service::IkeVersionPolicy> {
  static constexpr auto last = ike::service::IkeVersionPolicy::Ikev2;
};
template <>
struct Wire<driver::crypto::SecurityProtocol> {
  static constexpr auto last = driver::crypto::SecurityProtocol::Ah;
};
template <>
struct Wire<driver::crypto::Mode> {
  static constexpr auto last = driver::crypto::Mode::Tunnel;
};
template <>
struct Wire<driver::crypto::Cipher> {
  static constexpr auto last = driver::crypto::Cipher::TripleDesCbc;
};
template <>
struct Wire<driver::crypto::Integrity> {
  static constexpr auto last = driver::crypto::Integrity::HmacMd5_96;
};
template <>
struct Wire<driver::ExpiryKind> {
  static constexpr auto last = driver::ExpiryKind::Hard;
};
template <>
struct Wire<ike::auth::Role> {
  static constexpr auto last = ike::auth::Role::Responder;
};
template <>
struct Wire<ike::auth::CertificateIdentity> {
  static constexpr auto last = ike::auth::CertificateIdentity::Fqdn;
};
template <>
struct Wire<ike::auth::RevocationCheck> {
  static constexpr auto last = ike::auth::RevocationCheck::Required;
};
template <>
struct Wire<ike::service::NegotiationState> {
  static constexpr auto last = ike::service::NegotiationState::Soft;
};
template <>
struct Wire<ike::service::FailureKind> {
  static constexpr auto last = ike::service::FailureKind::Other;
};
template <>
struct Wire<ike::service::IkeEvent::Kind> {
  static constexpr auto last = ike::service::IkeEvent::Kind::SoftAssociation;
};
template <>
struct Wire<ike::NotifyMessageType> {   // the RFC 2408 error types a refusal may name
  static constexpr auto first = ike::NotifyMessageType::InvalidPayloadType;
  static constexpr auto last = ike::NotifyMessageType::UnequalPayloadLengths;
};
template <>
struct Wire<IkeAuthenticationMethod> {
  static constexpr bool open = true;
};
template <>
struct Wire<IkeEncryptionAlgorithm> {
  static constexpr bool open = true;
};
template <>
struct Wire<IkeHashAlgorithm> {
  static constexpr bool open = true;
};
template <>
struct Wire<IkeGroupDescription> {
  static constexpr bool open = true;
};

// ---- structs --------------------------------------------------------------------------------------

// Each description lists every member; `WARD_WIRE` keeps the name a decode error gives equal to
// the member's.
#define WARD_WIRE(member) io(#member, v.member)

template <>
struct Wire<driver::Acquire> {
  static constexpr const char* name = "acquire";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(peer), WARD_WIRE(source), WARD_WIRE(destination), WARD_WIRE(protocol);
    WARD_WIRE(source_port), WARD_WIRE(destination_port);
  }
};
template <>
struct Wire<driver::SaExpiry> {
  static constexpr const char* name = "expiry";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(spi), WARD_WIRE(direction), WARD_WIRE(kind), WARD_WIRE(filter_id), WARD_WIRE(peer);
  }
};
template <>
struct Wire<driver::DynamicSelector> {
  static constexpr const char* name = "dynamic selector";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(remote), WARD_WIRE(protocol), WARD_WIRE(local_port), WARD_WIRE(remote_port);
  }
};
template <>
struct Wire<driver::SoftAssociation> {
  static constexpr const char* name = "soft association";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(peer), WARD_WIRE(idle_lifetime);
  }
};
template <>
struct Wire<driver::crypto::TunnelEndpoints> {
  static constexpr const char* name = "tunnel";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(remote);
  }
};
template <>
struct Wire<driver::crypto::UdpEncapsulation> {
  static constexpr const char* name = "UDP encapsulation";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local_port), WARD_WIRE(remote_port);
  }
};
template <>
struct Wire<driver::crypto::SaParams> {
  static constexpr const char* name = "SA parameters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(protocol), WARD_WIRE(spi), WARD_WIRE(direction), WARD_WIRE(mode), WARD_WIRE(tunnel), WARD_WIRE(cipher);
    WARD_WIRE(integrity), WARD_WIRE(encryption_key), WARD_WIRE(integrity_key), WARD_WIRE(extended_sequence_numbers);
    WARD_WIRE(replay_window), WARD_WIRE(udp_encapsulation), WARD_WIRE(allow_legacy);
  }
};
template <>
struct Wire<driver::SaLifetime> {
  static constexpr const char* name = "lifetime";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(soft_time), WARD_WIRE(hard_time), WARD_WIRE(soft_bytes), WARD_WIRE(hard_bytes);
  }
};
template <>
struct Wire<driver::SaInstall> {
  static constexpr const char* name = "SA install";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(params), WARD_WIRE(filter_id), WARD_WIRE(peer), WARD_WIRE(lifetime), WARD_WIRE(bundled_ah), WARD_WIRE(dynamic);
  }
};
template <>
struct Wire<driver::FilterCounters> {
  static constexpr const char* name = "filter counters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(packets), WARD_WIRE(bytes);
  }
};
template <>
struct Wire<driver::SaCounters> {
  static constexpr const char* name = "SA counters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(spi), WARD_WIRE(direction), WARD_WIRE(protocol), WARD_WIRE(filter_id), WARD_WIRE(dynamic_filter_id);
    WARD_WIRE(peer), WARD_WIRE(packets), WARD_WIRE(bytes), WARD_WIRE(drops), WARD_WIRE(bundled_ah_spi);
  }
};
template <>
struct Wire<driver::DynamicFilterCounters> {
  static constexpr const char* name = "dynamic filter counters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(id), WARD_WIRE(filter_id), WARD_WIRE(selector), WARD_WIRE(sas), WARD_WIRE(packets), WARD_WIRE(bytes);
  }
};
template <>
struct Wire<driver::SoftAssociationCounters> {
  static constexpr const char* name = "soft association counters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(peer), WARD_WIRE(packets), WARD_WIRE(bytes), WARD_WIRE(age), WARD_WIRE(expires_in);
  }
};
template <>
struct Wire<driver::DataplaneCounters> {
  static constexpr const char* name = "dataplane counters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filters), WARD_WIRE(sas), WARD_WIRE(dynamic_filters), WARD_WIRE(soft_associations), WARD_WIRE(drops_by_reason);
    WARD_WIRE(malformed), WARD_WIRE(blocked), WARD_WIRE(unsecured_dropped), WARD_WIRE(unsecured_accepted);
    WARD_WIRE(unknown_spi), WARD_WIRE(policy_mismatch), WARD_WIRE(held), WARD_WIRE(hold_dropped), WARD_WIRE(acquires);
  }
};
template <>
struct Wire<driver::Capabilities> {
  static constexpr const char* name = "capabilities";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(userspace_crypto), WARD_WIRE(kernel_sas), WARD_WIRE(atomic_table_swap), WARD_WIRE(holds_packets);
  }
};

template <>
struct Wire<ike::sa::TrafficSelector> {
  static constexpr const char* name = "selector";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(prefix), WARD_WIRE(protocol), WARD_WIRE(port);
  }
};
template <>
struct Wire<ike::sa::Phase1Proposal> {
  static constexpr const char* name = "phase 1 proposal";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(cipher), WARD_WIRE(key_bits), WARD_WIRE(hash), WARD_WIRE(group), WARD_WIRE(lifetime);
  }
};
template <>
struct Wire<ike::sa::AhProposal> {
  static constexpr const char* name = "AH proposal";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(integrity);
  }
};
template <>
struct Wire<ike::sa::EspProposal> {
  static constexpr const char* name = "ESP proposal";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(cipher), WARD_WIRE(integrity);
  }
};
template <>
struct Wire<ike::sa::ProtectionSuite> {
  static constexpr const char* name = "protection suite";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(ah), WARD_WIRE(esp);
  }
};
template <>
struct Wire<ike::service::QuickModePolicy> {
  static constexpr const char* name = "quick mode policy";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(proposals), WARD_WIRE(allow_legacy), WARD_WIRE(pfs_group), WARD_WIRE(lifetime), WARD_WIRE(lifetime_kilobytes);
    WARD_WIRE(local), WARD_WIRE(remote), WARD_WIRE(filter_id), WARD_WIRE(tunnel_endpoint), WARD_WIRE(default_response);
    WARD_WIRE(fallback_to_clear);
  }
};
template <>
struct Wire<ike::service::IkeEvent> {
  static constexpr const char* name = "IKE event";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(kind), WARD_WIRE(peer), WARD_WIRE(role), WARD_WIRE(auth_method), WARD_WIRE(filter_id), WARD_WIRE(inbound_spi);
    WARD_WIRE(outbound_spi), WARD_WIRE(reason), WARD_WIRE(failure), WARD_WIRE(unverified);
  }
};
template <>
struct Wire<ike::service::MainModeSaInfo> {
  static constexpr const char* name = "main mode";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(peer), WARD_WIRE(peer_port), WARD_WIRE(nat_t), WARD_WIRE(role), WARD_WIRE(status), WARD_WIRE(state);
    WARD_WIRE(cookies), WARD_WIRE(auth_method), WARD_WIRE(cipher), WARD_WIRE(hash), WARD_WIRE(group);
    WARD_WIRE(lifetime_left), WARD_WIRE(quick_modes), WARD_WIRE(dpd), WARD_WIRE(ike_version), WARD_WIRE(engine);
  }
};
template <>
struct Wire<ike::service::QuickModeSaInfo> {
  static constexpr const char* name = "quick mode";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(peer), WARD_WIRE(role), WARD_WIRE(filter_id), WARD_WIRE(inbound_spi), WARD_WIRE(outbound_spi), WARD_WIRE(esp);
    WARD_WIRE(cipher), WARD_WIRE(integrity), WARD_WIRE(ah), WARD_WIRE(inbound_ah_spi), WARD_WIRE(outbound_ah_spi);
    WARD_WIRE(pfs_group), WARD_WIRE(auth_method), WARD_WIRE(lifetime_left), WARD_WIRE(default_response), WARD_WIRE(ike_version);
  }
};
template <>
struct Wire<ike::service::QuickModeNegotiation> {
  static constexpr const char* name = "negotiation";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(peer), WARD_WIRE(role), WARD_WIRE(filter_id), WARD_WIRE(state), WARD_WIRE(default_response);
  }
};
template <>
struct Wire<ike::service::NegotiationFailure> {
  static constexpr const char* name = "failure";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(peer), WARD_WIRE(role), WARD_WIRE(main_mode), WARD_WIRE(filter_id), WARD_WIRE(kind), WARD_WIRE(reason);
    WARD_WIRE(age);
  }
};
template <>
struct Wire<ike::service::IkeCounters> {
  static constexpr bool raw = true;   // u64s only
};
template <>
struct Wire<ike::service::IkeSnapshot> {
  static constexpr const char* name = "IKE snapshot";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(main_modes), WARD_WIRE(quick_modes), WARD_WIRE(negotiating), WARD_WIRE(failures), WARD_WIRE(counters);
    WARD_WIRE(engines);
  }
};

template <>
struct Wire<RemoteAuth> {
  static constexpr const char* name = "auth";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(method), WARD_WIRE(handle), WARD_WIRE(ca_name);
  }
};
template <>
struct Wire<RemotePhase1Policy> {
  static constexpr const char* name = "phase 1 policy";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(auth), WARD_WIRE(proposals), WARD_WIRE(allow_legacy), WARD_WIRE(quick_mode_limit);
  }
};
template <>
struct Wire<Phase1TableFilter> {
  static constexpr const char* name = "phase 1 table filter";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(peer), WARD_WIRE(tunnel_endpoint), WARD_WIRE(rule);
  }
};
template <>
struct Wire<Phase1TableOrigin> {
  static constexpr const char* name = "phase 1 table origin";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(rule);
  }
};
template <>
struct Wire<Phase1TableRule> {
  static constexpr const char* name = "phase 1 table rule";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(auth);
  }
};
template <>
struct Wire<Phase1Table> {
  static constexpr const char* name = "phase 1 table";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filters), WARD_WIRE(origins), WARD_WIRE(default_response_rule), WARD_WIRE(rules), WARD_WIRE(proposals);
    WARD_WIRE(no_proposals), WARD_WIRE(allow_legacy), WARD_WIRE(quick_mode_limit);
  }
  // Every rule a filter, an origin or the default response names is in the table.
  static std::optional<std::string> check(const Phase1Table& v) {
    const auto rules = v.rules.size();
    const auto outside = [&](std::uint32_t rule) { return rule >= rules; };
    std::optional<std::uint32_t> bad;
    for (const auto& f : v.filters) {
      if (outside(f.rule)) bad = f.rule;
    }
    for (const auto& o : v.origins) {
      if (outside(o.rule)) bad = o.rule;
    }
    if (v.default_response_rule && outside(*v.default_response_rule)) bad = *v.default_response_rule;
    if (!bad) return std::nullopt;
    return "rule " + std::to_string(*bad) + " of a table of " + std::to_string(rules) + " rules";
  }
};
template <>
struct Wire<Phase1TableNote> {
  static constexpr const char* name = "phase 1 table note";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(table);
  }
};
template <>
struct Wire<Phase1Request> {
  static constexpr const char* name = "phase 1 request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(peer), WARD_WIRE(filter_id);
  }
};
template <>
struct Wire<QuickModePeerRequest> {
  static constexpr const char* name = "quick mode request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(peer), WARD_WIRE(peer_side), WARD_WIRE(our_side);
  }
};
template <>
struct Wire<ike::service::PolicyRefusal> {
  static constexpr const char* name = "policy refusal";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(type), WARD_WIRE(reason);
  }
};
template <>
struct Wire<QuickModePeerAnswer> {
  static constexpr const char* name = "quick mode answer";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(answer);
  }
};
template <>
struct Wire<SkeyidRequest> {
  static constexpr const char* name = "SKEYID request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(handle), WARD_WIRE(hash), WARD_WIRE(ni_b), WARD_WIRE(nr_b);
  }
};
template <>
struct Wire<SignRequest> {
  static constexpr const char* name = "sign request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(handle), WARD_WIRE(hash);
  }
};
template <>
struct Wire<SaDelete> {
  static constexpr const char* name = "SA delete";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(spi), WARD_WIRE(direction);
  }
};
template <>
struct Wire<SoftAssociationDelete> {
  static constexpr const char* name = "soft association delete";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_id), WARD_WIRE(peer);
  }
};
template <>
struct Wire<SpiRequest> {
  static constexpr const char* name = "SPI request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(protocol), WARD_WIRE(peer);
  }
};
template <>
struct Wire<SpiReservation> {
  static constexpr const char* name = "SPI reservation";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(spi), WARD_WIRE(protocol);
  }
};
template <>
struct Wire<SocketNote> {
  static constexpr const char* name = "socket";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(address), WARD_WIRE(port), WARD_WIRE(engine), WARD_WIRE(engines);
  }
  static std::optional<std::string> check(const SocketNote& v) {
    if (v.engine.value < v.engines.value) return std::nullopt;
    return "socket " + std::to_string(v.engine.value) + " of a group of " + std::to_string(v.engines.value);
  }
};
template <>
struct Wire<AlikeEvents> {
  static constexpr const char* name = "alike events";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(last), WARD_WIRE(count);
  }
  static std::optional<std::string> check(const AlikeEvents& v) {
    if (v.last.unverified) return std::nullopt;
    return std::string("a verified event counted as alike");
  }
};
template <>
struct Wire<ServiceStart> {
  static constexpr const char* name = "service";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(local), WARD_WIRE(port), WARD_WIRE(nat_traversal), WARD_WIRE(nat_t_port), WARD_WIRE(first_interval);
    WARD_WIRE(factor), WARD_WIRE(max_sends);
  }
};
template <>
struct Wire<StartNote> {
  static constexpr const char* name = "start";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(capabilities), WARD_WIRE(fallback_delay), WARD_WIRE(soft_association_lifetime), WARD_WIRE(services),
        WARD_WIRE(dpd_idle), WARD_WIRE(dpd_retry), WARD_WIRE(dpd_probes), WARD_WIRE(ike_version), WARD_WIRE(force_udp_encapsulation),
        WARD_WIRE(ikev2_fragmentation), WARD_WIRE(ikev2_fragment_size);
  }
};
template <>
struct Wire<ServicesNote> {
  static constexpr const char* name = "services";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(services);
  }
};
template <>
struct Wire<RetainFilters> {
  static constexpr const char* name = "retain filters";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(filter_ids);
  }
};
template <>
struct Wire<SnapshotRequest> {
  static constexpr const char* name = "snapshot request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(service);
  }
};
template <>
struct Wire<CertificateNote> {
  static constexpr const char* name = "certificates";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(handle), WARD_WIRE(certificate_pem), WARD_WIRE(trust_pem), WARD_WIRE(identity), WARD_WIRE(fqdn),
        WARD_WIRE(revocation);
  }
};

#undef WARD_WIRE

}  // namespace ward::agent::ikeproc
