// What snapshot() shows (`wardctl show sa`): the engine publishes its state under a mutex; readers
// on any thread add the lifetimes left as of their call.
#include "ike/service/engine.h"

#include <algorithm>

#include "ike/crypto/prf.h"

namespace ward::ike::service {
namespace {

std::string cipher_name(const sa::Phase1Proposal& p) {
  switch (p.cipher) {
    case IkeEncryptionAlgorithm::AesCbc: return "AES-CBC-" + std::to_string(p.key_bits);
    case IkeEncryptionAlgorithm::TripleDesCbc: return "3DES-CBC";
    default: return "cipher " + std::to_string(static_cast<unsigned>(p.cipher));
  }
}

// IKEv2 SAs as the rows IKEv1's main modes are (ike_version 2).
std::string cipher_name(const v2::IkeProposal& p) {
  return std::string(p.encryption == v2::EncryptionId::AesGcm16 ? "AES-GCM-" : "AES-CBC-") + std::to_string(p.key_bits);
}

std::string prf_name(v2::PrfId prf) {
  switch (prf) {
    case v2::PrfId::HmacSha1: return "SHA1";
    case v2::PrfId::HmacSha2_256: return "SHA2-256";
    case v2::PrfId::HmacSha2_384: return "SHA2-384";
  }
  return "PRF " + std::to_string(static_cast<unsigned>(prf));
}

NegotiationState ikev2_status(Ikev2Sa::State state) {
  switch (state) {
    case Ikev2Sa::State::Established: return NegotiationState::Established;
    case Ikev2Sa::State::Failed:
    case Ikev2Sa::State::Closed: return NegotiationState::Failed;
    default: return NegotiationState::Negotiating;
  }
}

}  // namespace

using std::chrono::duration_cast;
using std::chrono::seconds;

void IkeService::Engine::publish() {
  IkeCounters counters = counters_;
  counters.embryonic = embryonic_.size();
  if (!changed_) {
    if (counters == published_counters_) return;
    published_counters_ = counters;
    const std::lock_guard lock(published_mutex_);
    published_.counters = counters;
    return;
  }
  changed_ = false;
  Published p;
  for (const auto& mm : main_modes_) {
    if (mm->dead) continue;
    MainModeSaInfo info;
    info.peer = mm->peer.address;
    info.peer_port = mm->peer.port;
    info.nat_t = mm->peer.nat_t;
    info.role = mm->sa->role();
    info.status = main_mode_state(mm->sa->state());
    info.state = std::string(sa::name(mm->sa->state()));
    info.cookies = sa::hex_cookie(mm->sa->initiator_cookie()) + ":" + sa::hex_cookie(mm->sa->responder_cookie());
    info.auth_method = auth_name(*mm);
    info.dpd = mm->dpd.has_value();
    if (mm->sa->established()) {
      const auto& chosen = mm->sa->chosen();
      info.cipher = cipher_name(chosen);
      info.hash = std::string(crypto::hash_name(chosen.hash));
      info.group = static_cast<unsigned>(chosen.group);
    }
    info.quick_modes = static_cast<std::size_t>(std::count_if(
        sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ike_version == 1 && s.peer == mm->peer; }));
    p.main_modes.push_back(std::move(info));
    p.main_mode_expiry.push_back(mm->expires);
  }
  publish_ikev2(p.main_modes, p.main_mode_expiry, p.negotiating);
  for (const auto& s : sas_) {
    QuickModeSaInfo info;
    info.ike_version = s.ike_version;
    info.peer = s.peer.address;
    info.role = s.role;
    info.filter_id = s.policy.filter_id;
    info.inbound_spi = s.inbound_spi;
    info.outbound_spi = s.outbound_spi;
    info.esp = s.chosen.esp.has_value();
    if (s.chosen.esp) {
      info.cipher = s.chosen.esp->cipher;
      info.integrity = s.chosen.esp->integrity;
    }
    if (s.chosen.ah) info.ah = s.chosen.ah->integrity;
    info.inbound_ah_spi = s.inbound_ah_spi;
    info.outbound_ah_spi = s.outbound_ah_spi;
    info.pfs_group = s.policy.pfs_group;
    info.auth_method = s.auth_method;
    info.default_response = s.policy.default_response;
    p.quick_modes.push_back(std::move(info));
    p.quick_mode_expiry.push_back(s.expires);
  }
  for (const auto& ex : exchanges_) {
    if (ex->dead || ex->reported || ex->main_mode->dead) continue;
    p.negotiating.push_back(QuickModeNegotiation{ex->main_mode->peer.address, ex->role, ex->policy.filter_id,
                                                 std::string(sa::name(ex->qm->state())), ex->policy.default_response});
  }
  for (const auto& mm : main_modes_) {
    if (mm->dead) continue;
    for (const auto& pending : mm->pending) {
      p.negotiating.push_back(QuickModeNegotiation{mm->peer.address, auth::Role::Initiator, pending.policy.filter_id,
                                                   pending.fell_back ? "SoftAssociation" : "WaitingForMainMode", false});
    }
  }
  p.failures.assign(failures_.begin(), failures_.end());
  p.counters = counters;
  p.version = ++version_;
  published_counters_ = counters;
  const std::lock_guard lock(published_mutex_);
  published_ = std::move(p);
}

IkeSnapshot IkeService::Engine::snapshot() const {
  const auto t = now();
  auto left = [&](TimePoint expires) { return expires > t ? duration_cast<seconds>(expires - t) : seconds(0); };
  const std::lock_guard lock(published_mutex_);
  IkeSnapshot s{published_.main_modes, published_.quick_modes, published_.negotiating, {}, published_.counters, published_.version};
  for (const auto& [failure, at] : published_.failures) {
    s.failures.push_back(failure);
    s.failures.back().age = duration_cast<seconds>(t - at);
  }
  for (std::size_t i = 0; i < s.main_modes.size(); ++i) {
    if (published_.main_mode_expiry[i]) s.main_modes[i].lifetime_left = left(*published_.main_mode_expiry[i]);
  }
  for (std::size_t i = 0; i < s.quick_modes.size(); ++i) s.quick_modes[i].lifetime_left = left(published_.quick_mode_expiry[i]);
  return s;
}

void IkeService::Engine::publish_ikev2(std::vector<MainModeSaInfo>& rows, std::vector<std::optional<TimePoint>>& expiry,
                                       std::vector<QuickModeNegotiation>& negotiating) const {
  for (const auto& e : ikev2_) {
    if (e->dead) continue;
    MainModeSaInfo info;
    info.ike_version = 2;
    info.peer = e->peer.address;
    info.peer_port = e->peer.port;
    info.nat_t = e->peer.nat_t;
    info.role = e->sa->initiator() ? auth::Role::Initiator : auth::Role::Responder;
    info.status = ikev2_status(e->sa->state());
    info.state = std::string(name(e->sa->state()));
    info.cookies = e->sa->spis();
    info.auth_method = e->auth ? std::string(e->auth->name()) : std::string();
    info.dpd = e->dpd.has_value();   // liveness checks run (RFC 7296 2.4)
    if (const auto* ike = e->sa->ike_sa()) {
      info.cipher = cipher_name(ike->proposal);
      info.hash = prf_name(ike->proposal.prf);
      info.group = static_cast<unsigned>(ike->proposal.group);
    }
    info.quick_modes = static_cast<std::size_t>(std::count_if(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.ikev2_id == e->id; }));
    rows.push_back(std::move(info));
    expiry.push_back(e->sa->established() ? e->expires : std::nullopt);
    if (!e->sa->established()) {
      negotiating.push_back(QuickModeNegotiation{e->peer.address, e->sa->initiator() ? auth::Role::Initiator : auth::Role::Responder,
                                                 e->policy.filter_id, std::string(name(e->sa->state())), false});
    }
  }
}

}  // namespace ward::ike::service
