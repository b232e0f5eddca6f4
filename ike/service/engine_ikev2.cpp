// IKEv2 in the engine (engine.h): datagrams whose header says version 2 (or an IKEv2 exchange
// type) come here from the same sockets IKEv1 uses; each IKE SA is an Ikev2Sa (ikev2_sa.h) the
// engine drives with datagrams, timers and its own requests, installing the CHILD_SA it agrees
// as a QuickModeSa of version 2 (so expiry, `wardctl flush`, filters going away and the snapshot
// treat both versions alike).
//
// Which version an acquire starts with is IkeServiceOptions::ike_version: IKEv2 first unless the
// policy needs IKEv1 (its preferred method is Kerberos, which Windows-era peers speak only in
// IKEv1 / AuthIP) or the peer was found not to speak
// IKEv2 (no answer within ikev2_fallback_after, INVALID_MAJOR_VERSION, NO_PROPOSAL_CHOSEN to
// IKE_SA_INIT, or an IKEv1 answer); such a peer is remembered for ikev1_peer_memory.
#include <algorithm>

#include "ike/auth/certificate_provider.h"
#include "ike/service/engine.h"
#include "ike/service/ikev2_policy.h"
#include "ike/service/phase1_renewal.h"
#include "ike/v2/protected_message.h"

namespace ward::ike::service {
namespace {

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(kDigits[std::to_integer<unsigned>(b) >> 4]);
    out.push_back(kDigits[std::to_integer<unsigned>(b) & 0xf]);
  }
  return out;
}

v2::Spi spi_at(std::span<const std::byte> bytes, std::size_t offset) {
  v2::Spi spi{};
  std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), spi.size(), spi.begin());
  return spi;
}

bool is_zero(const v2::Spi& spi) {
  return std::all_of(spi.begin(), spi.end(), [](std::byte b) { return b == std::byte{0}; });
}

// The method IKEv2 authenticates with: the policy's preferred one, when it is a preshared key or
// a certificate (Kerberos is IKEv1 only).
std::shared_ptr<const auth::AuthProvider> ikev2_method_of(const Phase1Policy& policy) {
  if (policy.auth.empty() || !policy.auth.front()) return nullptr;
  const auto& preferred = policy.auth.front();
  if (preferred->method() == IkeAuthenticationMethod::PreSharedKey) return preferred;
  if (std::dynamic_pointer_cast<const auth::CertificateProvider>(preferred)) return preferred;
  return nullptr;
}

// The AuthConfig's method: the certificate provider, or nothing (the key comes by the hooks).
void set_method(v2::AuthConfig& auth, v2::IkeSaInitConfig& init, const std::shared_ptr<const auth::AuthProvider>& method,
                bool responder) {
  auth.certificate = std::dynamic_pointer_cast<const auth::CertificateProvider>(method);
  if (!auth.certificate) return;
  init.signature_hashes = true;
  if (responder) init.certificate_request = auth.certificate->ca_key_hashes();
}

}  // namespace

std::string_view name(IkeVersionPolicy policy) noexcept {
  switch (policy) {
    case IkeVersionPolicy::Ikev1: return "ikev1";
    case IkeVersionPolicy::Ikev2First: return "ikev2-first";
    case IkeVersionPolicy::Ikev2: return "ikev2";
  }
  return "unknown";
}

std::optional<IkeVersionPolicy> parse_ike_version(std::string_view text) {
  for (auto p : {IkeVersionPolicy::Ikev1, IkeVersionPolicy::Ikev2First, IkeVersionPolicy::Ikev2}) {
    if (text == name(p)) return p;
  }
  return std::nullopt;
}

bool IkeService::Engine::is_ikev2(std::span<const std::byte> bytes) noexcept {
  if (bytes.size() < 28) return false;
  const auto version = std::to_integer<std::uint8_t>(bytes[17]);
  const auto exchange = std::to_integer<std::uint8_t>(bytes[18]);
  // IKEv1 has no exchange types 34-37 (RFC 2408's DOI-specific range holds only quick mode 32
  // and new group mode 33): an IKEv1-only peer's INVALID_MAJOR_VERSION answer comes with them.
  return (version >> 4) == 2 || (exchange >= static_cast<std::uint8_t>(v2::ExchangeType::IkeSaInit) &&
                                 exchange <= static_cast<std::uint8_t>(v2::ExchangeType::Informational));
}

IkeService::Engine::Ikev2Entry* IkeService::Engine::ikev2_by_id(std::uint64_t id) {
  for (auto& e : ikev2_) {
    if (e->id == id) return e.get();
  }
  return nullptr;
}

std::string IkeService::Engine::ikev2_name(const Ikev2Entry& entry) const {
  return "IKEv2 SA " + entry.sa->spis() + " with " + entry.peer.address.to_string();
}

bool IkeService::Engine::wants_ikev2(const IpAddress& peer) {
  switch (options_.ike_version) {
    case IkeVersionPolicy::Ikev1: return false;
    case IkeVersionPolicy::Ikev2: return true;
    case IkeVersionPolicy::Ikev2First: break;
  }
  const auto found = ikev1_peers_.find(peer);
  if (found == ikev1_peers_.end()) return true;
  if (found->second > now()) return false;
  ikev1_peers_.erase(found);
  return true;
}

Ikev2Hooks IkeService::Engine::ikev2_hooks(std::shared_ptr<const auth::AuthProvider> method, const IpAddress& peer, std::uint64_t id) {
  Ikev2Hooks hooks;
  hooks.padded_key = [method](v2::PrfId prf) -> Expected<driver::crypto::SecureBytes, std::string> {
    const auto hash = hash_of(prf);
    if (!hash) return unexpected("PRF " + std::to_string(static_cast<unsigned>(prf)) + " has no IKEv1 hash");
    // prf(key, "Key Pad for IKEv2"): PresharedKeyProvider::skeyid is prf(key, Ni_b | Nr_b), and
    // wardd's IKE process gets it from wardd (kSkeyid), which keeps the key.
    const auto pad = std::as_bytes(std::span(v2::kKeyPadForIkev2.data(), v2::kKeyPadForIkev2.size()));
    auto padded = method->skeyid(*hash, crypto::Bytes(pad.begin(), pad.end()), {}, {});
    if (padded.size() == 0) return unexpected(std::string("no key from the preshared key's holder"));
    return padded;
  };
  hooks.child_for = [this, id, peer](const v2::TrafficSelector& tsi,
                                     const v2::TrafficSelector& tsr) -> Expected<v2::ChildSaConfig, IkeError> {
    // No filter for these selectors is INVALID-ID-INFORMATION (TS_UNACCEPTABLE), the words unchanged.
    const auto no_filter = [](std::string text) { return unexpected(IkeError{NotifyMessageType::InvalidIdInformation, std::move(text)}); };
    const auto peer_side = to_ikev1(tsi);
    const auto our_side = to_ikev1(tsr);
    if (!peer_side || !our_side) {
      return no_filter("the selectors " + tsi.to_string() + " / " + tsr.to_string() + " are not prefixes Ward's filters can name");
    }
    auto policy = policy_.quick_mode_for_peer(options_.local, peer, *peer_side, *our_side);
    if (!policy) {
      ++counters_.no_policy;
      return unexpected(refusal(policy.error().type, policy.error().reason));
    }
    if (policy->default_response) return no_filter("no filter covers the selectors (default response is IKEv1 only)");
    policy->remote = *peer_side;
    policy->local = *our_side;
    auto child = ikev2_child(*policy, options_.local, peer);
    if (auto* entry = ikev2_by_id(id); entry != nullptr && entry->peer.nat_t) {
      child.udp_encapsulation = driver::crypto::UdpEncapsulation{options_.nat_t_port, entry->peer.port};
    }
    if (child.proposals.empty()) return unexpected(refusal(NotifyMessageType::NoProposalChosen, "the filter's action has no ESP method for IKEv2"));
    if (auto* entry = ikev2_by_id(id)) entry->policy = std::move(*policy);
    return child;
  };
  hooks.allocate_spi = [this, peer]() { return dataplane_.allocate_spi(driver::crypto::SecurityProtocol::Esp, peer); };
  hooks.nat_detected = [this, id](const v2::IkeSa& sa) -> std::optional<driver::crypto::UdpEncapsulation> {
    auto* entry = ikev2_by_id(id);
    if (entry == nullptr || !nat_socket_ || !(sa.nat_detected() || options_.pretend_nat)) return std::nullopt;
    entry->peer = Endpoint{entry->peer.address, options_.nat_t_port, true};
    log(ikev2_name(*entry) + ": NAT detected (" + std::string(sa.local_behind_nat ? "this host" : "the peer") +
        " behind it): IKE_AUTH goes to UDP " + std::to_string(options_.nat_t_port) + ", ESP UDP-encapsulated");
    return driver::crypto::UdpEncapsulation{options_.nat_t_port, options_.nat_t_port};
  };
  hooks.authenticated = [this, id] {
    if (auto* entry = ikev2_by_id(id)) report_ikev2_established(*entry);
  };
  hooks.release_spi = [this](std::uint32_t spi) { (void)dataplane_.release_spi(spi, driver::crypto::SecurityProtocol::Esp); };
  return hooks;
}

bool IkeService::Engine::start_ikev2(const driver::Acquire& acquire, const QuickModePolicy& policy) {
  if (!wants_ikev2(acquire.peer)) return false;
  auto phase1 = policy_.phase1_for(options_.local, acquire.peer, acquire.filter_id);
  if (!phase1) return false;   // IKEv1 reports it
  auto method = ikev2_method_of(*phase1);
  if (!method) {
    log("IKE: " + acquire.peer.to_string() + ": the policy's method is " +
        std::string(phase1->auth.empty() ? "none" : phase1->auth.front()->name()) +
        ", negotiated with IKEv1 (Kerberos is IKEv1 only)");
    return false;
  }
  v2::IkeSaInitConfig init;
  init.pretend_nat = options_.pretend_nat;
  init.fragmentation = options_.ikev2_fragmentation;
  init.fragment_size = options_.ikev2_fragment_size;
  init.proposals = ikev2_proposals(phase1->proposals);
  init.local = {options_.local, options_.port};
  init.remote = {acquire.peer, options_.port};
  auto child = ikev2_child(policy, options_.local, acquire.peer);
  if (init.proposals.empty() || child.proposals.empty()) {
    log("IKE: " + acquire.peer.to_string() + ": the policy has no IKEv2 proposal (" +
        std::string(init.proposals.empty() ? "phase 1" : "ESP") + " methods are IKEv1-only), negotiated with IKEv1");
    return false;
  }
  auto entry = std::make_unique<Ikev2Entry>();
  entry->id = next_id_++;
  entry->auth = method;
  entry->peer = Endpoint{acquire.peer, options_.port, false};
  entry->policy = policy;
  entry->acquire = acquire;
  entry->lifetime = phase1->proposals.front().lifetime;
  entry->quick_mode_limit = phase1->quick_mode_limit;
  v2::AuthConfig auth;
  const auto own = address_id(options_.local, true);
  auth.id_type = own.type;
  auth.id_data = own.data;
  auth.peer = address_id(acquire.peer, false);
  set_method(auth, init, method, false);
  const std::optional<std::chrono::milliseconds> fallback =
      options_.ike_version == IkeVersionPolicy::Ikev2First ? std::optional(options_.ikev2_fallback_after) : std::nullopt;
  Ikev2Sa::Output out;
  auto sa = Ikev2Sa::initiate(std::move(init), std::move(auth), std::move(child), ikev2_hooks(method, acquire.peer, entry->id),
                              options_.retransmit, fallback, now(), out);
  if (!sa) {
    log("IKE: " + acquire.peer.to_string() + ": IKEv2 not started (" + sa.error() + "), negotiated with IKEv1");
    return false;
  }
  entry->sa = std::move(*sa);
  log(ikev2_name(*entry) + ": IKE_SA_INIT sent for filter " + std::to_string(policy.filter_id));
  auto& ref = *entry;
  ikev2_.push_back(std::move(entry));
  changed();
  after_ikev2_step(ref, std::move(out));
  return true;
}

void IkeService::Engine::on_ikev2(const Endpoint& from, std::span<const std::byte> bytes) {
  const auto spi_i = spi_at(bytes, 0);
  const auto spi_r = spi_at(bytes, 8);
  for (auto& e : ikev2_) {
    if (e->dead || e->peer.address != from.address) continue;
    // An IKE SA rekeyed with CREATE_CHILD_SA hears under its old SPIs until those are deleted.
    if (!e->sa->retiring(spi_i, spi_r)) {
      if (e->sa->initiator_spi() != spi_i) continue;
      const auto* ours_r = e->sa->responder_spi();
      if (ours_r != nullptr && *ours_r != spi_r && !is_zero(spi_r)) continue;
      if (ours_r == nullptr && e->sa->state() != Ikev2Sa::State::IkeSaInitSent) continue;
    }
    // The initiator floated to the NAT-T port (2.23): answer where its requests come from now.
    if (from.nat_t && !e->peer.nat_t && !e->sa->initiator() && e->sa->ike_sa() && e->sa->ike_sa()->nat_detected()) {
      e->peer = from;
      changed();
    }
    auto out = e->sa->transition(Ikev2Sa::Received{bytes}, now());
    after_ikev2_step(*e, std::move(out));
    return;
  }
  const bool request = (std::to_integer<std::uint8_t>(bytes[19]) & static_cast<std::uint8_t>(v2::HeaderFlag::Response)) == 0;
  const bool init = std::to_integer<std::uint8_t>(bytes[18]) == static_cast<std::uint8_t>(v2::ExchangeType::IkeSaInit);
  if (request && init && is_zero(spi_r) && (std::to_integer<std::uint8_t>(bytes[17]) >> 4) == 2) {
    respond_ikev2(from, bytes);
    return;
  }
  ++counters_.unknown_sa;
  if (worth_logging(counters_.unknown_sa)) {
    log("IKE: dropped an IKEv2 message from " + from.address.to_string() + ": no IKE SA " + hex(spi_i) + "/" + hex(spi_r));
  }
}

void IkeService::Engine::refuse_ikev2_version(const Endpoint& from, std::span<const std::byte> bytes) {
  ++counters_.ikev2_refused_by_version;
  if (!refusal_limiter_.allow(now())) {
    ++counters_.refusals_rate_limited;
    return;
  }
  // 2.5: INVALID_MAJOR_VERSION, unprotected, with the version this host speaks in the header.
  v2::Header h;
  h.initiator_spi = spi_at(bytes, 0);
  h.version = 0x10;
  h.exchange = v2::ExchangeType::IkeSaInit;
  h.set(v2::HeaderFlag::Response);
  const v2::Payload notify = v2::NotifyPayload{0, {}, static_cast<std::uint16_t>(v2::NotifyType::InvalidMajorVersion), {}};
  auto message = v2::encode_message(h, std::span(&notify, 1));
  if (!message) return;
  send(from, *message);
  ++counters_.refusals_sent;
  if (worth_logging(counters_.ikev2_refused_by_version)) {
    log("IKE: " + from.address.to_string() + " asked for IKEv2; [ike] version is ikev1: answered INVALID_MAJOR_VERSION");
  }
}

void IkeService::Engine::respond_ikev2(const Endpoint& from, std::span<const std::byte> bytes) {
  if (options_.ike_version == IkeVersionPolicy::Ikev1) {
    refuse_ikev2_version(from, bytes);
    return;
  }
  // A repeated IKE_SA_INIT of an SA we answered is routed above; each new one costs a DH: under
  // load a COOKIE first (2.6), then the half-open limits IKEv1's responders have.
  std::size_t half_open = 0, half_open_peer = 0;
  for (const auto& e : ikev2_) {
    if (e->dead || e->sa->initiator() || e->sa->established()) continue;
    ++half_open;
    if (e->peer.address == from.address) ++half_open_peer;
  }
  if (half_open >= options_.ikev2_cookie_threshold && !ikev2_cookie_passed(from, bytes)) return;
  if (half_open >= options_.max_half_open || half_open_peer >= options_.max_half_open_per_peer) {
    ++(half_open >= options_.max_half_open ? counters_.half_open_limit_drops : counters_.half_open_peer_limit_drops);
    return;
  }
  v2::IkeSaInitConfig init;
  init.pretend_nat = options_.pretend_nat;
  init.fragmentation = options_.ikev2_fragmentation;
  init.fragment_size = options_.ikev2_fragment_size;
  init.local = {options_.local, options_.port};
  init.remote = {from.address, from.port};
  std::shared_ptr<const auth::AuthProvider> method;
  std::chrono::seconds lifetime{0};
  if (auto phase1 = policy_.phase1_for(options_.local, from.address, std::nullopt); phase1) {
    method = ikev2_method_of(*phase1);
    if (method) init.proposals = ikev2_proposals(phase1->proposals);   // none: NO_PROPOSAL_CHOSEN
    if (!phase1->proposals.empty()) lifetime = phase1->proposals.front().lifetime;
  }
  auto entry = std::make_unique<Ikev2Entry>();
  entry->id = next_id_++;
  entry->auth = method;
  entry->peer = from;
  entry->lifetime = lifetime;
  v2::AuthConfig auth;
  const auto own = address_id(options_.local, false);
  auth.id_type = own.type;
  auth.id_data = own.data;
  auth.peer = address_id(from.address, true);
  set_method(auth, init, method, true);
  Ikev2Sa::Output out;
  auto sa = Ikev2Sa::respond(init, std::move(auth), method ? ikev2_hooks(method, from.address, entry->id) : Ikev2Hooks{},
                             options_.retransmit, bytes, now(), out);
  if (!sa) {
    ++counters_.malformed;
    if (worth_logging(counters_.malformed)) log("IKE: dropped an IKE_SA_INIT from " + from.address.to_string() + ": " + sa.error());
    return;
  }
  for (const auto& message : out.send) send(from, message);
  if (!*sa) {
    // Anyone can send an IKE_SA_INIT from any address: nothing kept, the event unverified.
    IkeEvent event{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder, {}, 0, 0, 0, out.failed.value_or("")};
    event.failure = out.failure;
    event.unverified = true;
    emit(event);
    return;
  }
  entry->sa = std::move(*sa);
  log(ikev2_name(*entry) + ": IKE_SA_INIT answered");
  ikev2_.push_back(std::move(entry));
  changed();
}

void IkeService::Engine::after_ikev2_step(Ikev2Entry& entry, Ikev2Sa::Output out) {
  for (const auto& message : out.send) send(entry.peer, message);
  counters_.refusals_sent += out.refusals_sent;
  if (out.peer_refused) ++counters_.refusals_received;
  for (const auto& why : out.dropped) {
    if (worth_logging(++counters_.ikev2_fragments_dropped)) log(ikev2_name(entry) + ": dropped a fragment: " + why);
  }
  const auto role = entry.sa->initiator() ? auth::Role::Initiator : auth::Role::Responder;
  const std::string method = entry.auth ? std::string(entry.auth->name()) : std::string();
  if (out.send.size() > 0 || out.established || out.failed || out.closed || out.child) changed();
  if (out.established) {
    report_ikev2_established(entry);
    // The responder reports before its IKE_AUTH answer is made (hooks.authenticated): said here.
    if (const auto& subject = entry.sa->peer_identity(); !subject.empty()) log(ikev2_name(entry) + ": the peer authenticated as " + subject);
  }
  if (out.peer_answered && entry.dpd) entry.dpd->heard(now());
  if (out.ike_rekeyed) {
    log(ikev2_name(entry) + ": rekeyed with CREATE_CHILD_SA (was " + *out.ike_rekeyed + "), its CHILD_SAs with it");
    if (entry.lifetime.count() > 0) {
      entry.expires = now() + entry.lifetime;
      entry.rekey_at = renewal_time(now(), entry.lifetime, role);
    }
    changed();
  }
  if (out.ike_rekey_failed) log(ikev2_name(entry) + ": rekeying the IKE SA failed: " + *out.ike_rekey_failed);
  if (out.child) install_child(entry, *out.child);
  for (const auto& rekeyed : out.rekeyed) install_child(entry, rekeyed.child, rekeyed.replaces);
  for (const auto& [filter_id, why] : out.add_child_failed) ikev2_child_not_added(entry, filter_id, why);
  for (const auto& [spi, why] : out.rekey_failed) {
    for (auto& record : sas_) {
      if (record.ikev2_id != entry.id || record.inbound_spi != spi) continue;
      log(ikev2_name(entry) + ": rekeying CHILD_SA " + hex32(spi) + " failed (" + why + "): its successor comes with a new IKE SA");
      // As before CREATE_CHILD_SA: the acquire's negotiation, which makes a new IKE SA.
      driver::Acquire acquire;
      acquire.filter_id = record.policy.filter_id;
      acquire.peer = record.peer.address;
      acquire.source = record.policy.local.prefix.address();
      acquire.destination = record.policy.remote.prefix.address();
      const auto policy = record.policy;
      negotiate(acquire, policy);
      break;
    }
  }
  for (const auto spi : out.retired_inbound_spis) {
    for (std::size_t i = 0; i < sas_.size(); ++i) {
      if (sas_[i].ikev2_id == entry.id && sas_[i].inbound_spi == spi) {
        delete_pair(i, "rekeyed: its successor is installed and the peer answered the DELETE", false, true);
        break;
      }
    }
  }
  for (const auto spi : out.peer_deleted_outbound_spis) {
    ++counters_.deletes_received;
    for (std::size_t i = 0; i < sas_.size(); ++i) {
      if (sas_[i].ikev2_id == entry.id && sas_[i].outbound_spi == spi) {
        // The peer's DELETE of a pair it rekeyed: a successor for the same filter is installed.
        const bool rekeyed = std::any_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& other) {
          return &other != &sas_[i] && other.ikev2_id == entry.id && other.policy.filter_id == sas_[i].policy.filter_id;
        });
        delete_pair(i, "the peer sent DELETE for ESP SPI " + hex32(spi), false, rekeyed);
        break;
      }
    }
  }
  if (out.failed && out.closed && out.failure == FailureKind::PeerDead && !entry.dead) {
    ikev2_peer_dead(entry, *out.failed);
    return;
  }
  if (out.failed) {
    const bool fall_back = out.not_ikev2 && entry.acquire && options_.ike_version == IkeVersionPolicy::Ikev2First;
    if (fall_back) {
      ++counters_.ikev2_fallbacks;
      ikev1_peers_[entry.peer.address] = now() + options_.ikev1_peer_memory;
      log(ikev2_name(entry) + ": " + *out.failed + ": the peer does not speak IKEv2, negotiating with IKEv1");
      entry.dead = true;
      const auto acquire = *entry.acquire;
      const auto policy = entry.policy;
      negotiate(acquire, policy);
      return;
    }
    log(ikev2_name(entry) + ": " + *out.failed);
    if (entry.reported) {
      emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, entry.peer.address, role, method, entry.policy.filter_id, 0, 0, *out.failed,
                    out.failure});
      if (!out.closed) after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::DeleteIkeSa{}, now()));
    } else {
      ++counters_.main_modes_failed;
      emit(IkeEvent{IkeEvent::Kind::MainModeFailed, entry.peer.address, role, method, entry.policy.filter_id, 0, 0, *out.failed,
                    out.failure});
      entry.dead = true;
    }
  }
  if (out.closed && !entry.dead) {
    entry.dead = true;
    for (std::size_t i = sas_.size(); i-- > 0;) {
      if (sas_[i].ikev2_id == entry.id) delete_pair(i, "the IKEv2 SA ended", false);
    }
    log(ikev2_name(entry) + ": closed");
    emit(IkeEvent{IkeEvent::Kind::SasDeleted, entry.peer.address, role, method, 0, 0, 0, "the IKEv2 SA was deleted"});
  }
}

void IkeService::Engine::report_ikev2_established(Ikev2Entry& entry) {
  if (entry.reported) return;
  entry.reported = true;
  changed();
  ++counters_.main_modes_established;
  ++counters_.ikev2_sas_established;
  if (entry.lifetime.count() > 0) {
    entry.expires = now() + entry.lifetime;
    entry.rekey_at = renewal_time(now(), entry.lifetime, entry.sa->initiator() ? auth::Role::Initiator : auth::Role::Responder);
  }
  const std::string method = entry.auth ? std::string(entry.auth->name()) : std::string();
  // RFC 7296 2.4: liveness checks need no announcement (IKEv1's DPD Vendor ID): on whenever DPD is.
  if (options_.dpd.enabled) entry.dpd.emplace(options_.dpd, 0, now());
  log(ikev2_name(entry) + ": established (" + method + ")");
  emit(IkeEvent{IkeEvent::Kind::MainModeEstablished, entry.peer.address,
                entry.sa->initiator() ? auth::Role::Initiator : auth::Role::Responder, method, entry.policy.filter_id, 0, 0, {}});
}

bool IkeService::Engine::rekey_ikev2_child(QuickModeSa& record) {
  Ikev2Entry* entry = ikev2_by_id(record.ikev2_id);
  if (entry == nullptr || entry->dead || !entry->sa->established()) return false;
  if (entry->expires && *entry->expires <= now()) return false;   // the IKE SA's own end: a new one
  record.rekeying = true;
  log(ikev2_name(*entry) + ": CHILD_SA " + hex32(record.inbound_spi) + " reached its soft lifetime: rekeying it with CREATE_CHILD_SA");
  after_ikev2_step(*entry, entry->sa->transition(Ikev2Sa::RekeyChild{record.inbound_spi}, now()));
  return true;
}

void IkeService::Engine::install_child(Ikev2Entry& entry, const v2::ChildSa& child, std::uint32_t replaces) {
  const auto role = entry.sa->initiator() ? auth::Role::Initiator : auth::Role::Responder;
  const std::string method = entry.auth ? std::string(entry.auth->name()) : std::string();
  std::string errors;
  if (auto added = dataplane_.add_sa(child.inbound); !added) errors += "inbound: " + added.error();
  if (errors.empty()) {
    if (auto added = dataplane_.add_sa(child.outbound); !added) {
      errors += "outbound: " + added.error();
      (void)dataplane_.delete_sa(child.inbound_spi, driver::crypto::Direction::Inbound);
    }
  }
  if (!errors.empty()) {
    ++counters_.quick_modes_failed;
    log(ikev2_name(entry) + ": the CHILD_SA could not be installed: " + errors);
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, entry.peer.address, role, method, entry.policy.filter_id, 0, 0,
                  "the CHILD_SA could not be installed: " + errors});
    after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::DeleteIkeSa{}, now()));
    return;
  }
  QuickModeSa record;
  record.peer = entry.peer;
  record.role = role;
  record.policy = entry.policy;
  for (const auto& old : sas_) {
    if (replaces != 0 && old.ikev2_id == entry.id && old.inbound_spi == replaces) record.policy = old.policy;
  }
  bool added = false;   // a further CHILD_SA of ours (engine_ikev2_child.cpp)
  if (const auto ours = entry.adding.find(child.inbound.filter_id); replaces == 0 && ours != entry.adding.end()) {
    record.policy = ours->second;
    entry.adding.erase(ours);
    added = true;
  }
  record.inbound_spi = child.inbound_spi;
  record.outbound_spi = child.outbound_spi;
  record.chosen = sa::ProtectionSuite(sa::EspProposal{child.proposal.cipher, child.proposal.integrity});
  record.auth_method = method;
  record.established = now();
  record.expires = now() + record.policy.lifetime;
  record.ike_version = 2;
  record.ikev2_id = entry.id;
  const auto filter_id = record.policy.filter_id;
  sas_.push_back(std::move(record));
  ++entry.children_established;
  ++counters_.quick_modes_established;
  log(ikev2_name(entry) + ": CHILD_SA inbound " + hex32(child.inbound_spi) + " / outbound " + hex32(child.outbound_spi) +
      " for filter " + std::to_string(filter_id) + " (" + child.local.to_string() + " <-> " + child.remote.to_string() + ")" +
      (replaces != 0 ? ", rekeyed with CREATE_CHILD_SA: replaces inbound " + hex32(replaces) +
                           (child.pfs ? " (PFS group " + std::to_string(static_cast<unsigned>(*child.pfs)) + ")" : std::string())
                     : std::string()) +
      (added ? ", a further CHILD_SA with CREATE_CHILD_SA" : std::string()));
  emit(IkeEvent{IkeEvent::Kind::QuickModeEstablished, entry.peer.address, role, method, filter_id, child.inbound_spi,
                child.outbound_spi, {}});
}

void IkeService::Engine::ikev2_timers(TimePoint t) {
  for (std::size_t i = 0; i < ikev2_.size(); ++i) {   // by index: a fallback may start another
    auto& entry = *ikev2_[i];
    if (entry.dead) continue;
    if (const auto due = entry.sa->due(); due && *due <= t) after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::Timer{}, t));
    if (!entry.dead && !entry.sa->initiator() && !entry.reported && t - entry.sa->created() >= options_.half_open_timeout) {
      // An IKE_SA_INIT answered (a DH spent) and no IKE_AUTH followed: the half-open SA goes,
      // as IKEv1's responders do.
      ++counters_.half_open_timeouts;
      log(ikev2_name(entry) + ": no IKE_AUTH within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.half_open_timeout).count()) + " ms, removed");
      entry.dead = true;
      changed();
      continue;
    }
    if (entry.dead || !entry.sa->established()) continue;
    // Near its end an IKE SA with CHILD_SAs is rekeyed with CREATE_CHILD_SA (they move with it);
    // one without any, or whose rekey failed, goes when its lifetime is over and its last CHILD_SA
    // is gone (their successors came with a new IKE SA).
    const bool has_children = std::any_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ikev2_id == entry.id; });
    if (entry.rekey_at && *entry.rekey_at <= t) {
      entry.rekey_at.reset();
      if (has_children) {
        log(ikev2_name(entry) + ": near the end of its lifetime: rekeying it with CREATE_CHILD_SA");
        after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::RekeyIkeSa{}, t));
        if (entry.dead) continue;
      }
    }
    if (entry.expires && *entry.expires <= t && !has_children && entry.sa->state() == Ikev2Sa::State::Established) {
      ++counters_.main_modes_expired;
      log(ikev2_name(entry) + ": lifetime over and no CHILD_SA left: deleting it");
      entry.expires.reset();
      after_ikev2_step(entry, entry.sa->transition(Ikev2Sa::DeleteIkeSa{}, t));
    }
  }
}

}  // namespace ward::ike::service
