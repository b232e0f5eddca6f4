#include "agent/daemon/ike_process.h"

#include <algorithm>
#include <array>

#include "ike/auth/certificate_provider.h"
#include "ike/auth/signature.h"
#include "ike/auth/preshared_key.h"

#include "agent/daemon/key_wire.h"
#include "agent/ikebridge/sa_admission.h"
#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire_gss.h"

namespace ward::agent::daemon {

using privsep::Body;
using privsep::Incoming;
using ike::IkeAuthenticationMethod;
using ike::IkeHashAlgorithm;

namespace {

bool is_loopback(const IpAddress& address) {
  constexpr std::uint8_t kLoopbackV4FirstOctet = 127;
  if (address.family() == IpFamily::V4) return address.bytes()[0] == kLoopbackV4FirstOctet;
  return address == *IpAddress::parse("::1");
}

bool is_link_local(const IpAddress& address) {
  return address.family() == IpFamily::V6 && address.bytes()[0] == 0xfe && (address.bytes()[1] & 0xc0) == 0x80;
}

}  // namespace

std::vector<IpAddress> ike_addresses(const std::vector<IpAddress>& addresses, Logger& log) {
  std::vector<IpAddress> out;
  for (const auto& address : addresses) {
    if (is_loopback(address)) continue;
    if (is_link_local(address)) {
      log.info("ike-not-started", {{"address", address.to_string()}, {"why", "IPv6 link-local address (no scope)"}});
      continue;
    }
    out.push_back(address);
  }
  return out;
}

std::optional<std::optional<std::vector<std::uint32_t>>> BridgeSync::update(const AgentState& state, ikebridge::PolicyBridge& bridge) {
  auto current = state.current();
  if (current == applied_) return std::nullopt;
  applied_ = current;
  auto snapshot = std::make_shared<ikebridge::BridgeSnapshot>();
  snapshot->policy = current->policy;
  snapshot->compiled = current->compiled;
  snapshot->translation = current->translation;
  snapshot->offers = current->offers;
  // SAs survive a refresh only if their filter is still negotiated on the same terms.
  std::optional<std::vector<std::uint32_t>> live;
  if (bridged_) live = ikebridge::filters_negotiated_on_same_terms(*bridged_, *snapshot);
  bridged_ = snapshot;
  bridge.replace(std::move(snapshot));
  return live;
}

// ---- keys ----------------------------------------------------------------------------------------

std::uint32_t KeyHandles::handle_for(const ikebridge::AuthProviderPtr& provider) {
  static constexpr char kLabel[] = "ward preshared key handle";
  const auto fingerprint_bytes =
      provider->skeyid(IkeHashAlgorithm::Sha2_256, std::as_bytes(std::span(kLabel, sizeof kLabel - 1)), {}, {});
  const std::string fingerprint(reinterpret_cast<const char*>(fingerprint_bytes.reveal().data()), fingerprint_bytes.size());
  const std::lock_guard lock(mutex_);
  if (const auto found = by_fingerprint_.find(fingerprint); found != by_fingerprint_.end()) return found->second;
  providers_.push_back(provider);
  const auto handle = static_cast<std::uint32_t>(providers_.size());
  by_fingerprint_.emplace(fingerprint, handle);
  if (new_key_) new_key_(handle, provider);
  return handle;
}

void KeyHandles::on_new_key(NewKey new_key) {
  const std::lock_guard lock(mutex_);
  new_key_ = std::move(new_key);
}

ikebridge::AuthProviderPtr KeyHandles::provider(std::uint32_t handle) const {
  const std::lock_guard lock(mutex_);
  if (handle == 0 || handle > providers_.size()) return nullptr;
  return providers_[handle - 1];
}

// ---- the process ---------------------------------------------------------------------------------

IkeProcess::IkeProcess(Logger& log, AcquireRecorder& recorder, ikebridge::AuthFactory auth,
                       ikebridge::CertificateCredentialsPtr certificates, std::string program, std::string user,
                       config::IkeSettings settings)
    : log_(log),
      recorder_(recorder),
      bridge_(std::move(auth)),
      certificates_(std::move(certificates)),
      gss_(ikeproc::kMaxGssExchanges, ikeproc::kMaxQueuedGssSteps,
           [this](const std::string& why) { log_.warning("ike-gss-refused", {{"pid", std::to_string(child_pid_.load())}, {"why", why}}); },
           [this](std::uint32_t type, const std::string& why) {
             log_.debug("ike-process-call-refused", {{"type", std::to_string(type)}, {"why", why}});   // as handle() logs the others
           }),
      program_(std::move(program)),
      user_(std::move(user)),
      settings_(settings) {}

void IkeProcess::use_key_process(KeyProcess* keys) {
  key_process_ = keys;
  if (keys == nullptr) return;
  keys_.on_new_key([keys](std::uint32_t handle, const ikebridge::AuthProviderPtr& provider) {
    if (const auto* psk = dynamic_cast<const ike::auth::PresharedKeyProvider*>(provider.get())) keys->add_preshared_key(handle, psk->key());
  });
}

std::shared_ptr<privsep::Endpoint> IkeProcess::endpoint() const {
  const std::lock_guard lock(mutex_);
  return endpoint_;
}

void IkeProcess::started(pid_t pid, std::shared_ptr<privsep::Channel> channel) {
  // The handler knows its endpoint (Kerberos steps are answered later, from GssService's worker):
  // set before the first note, so before the child can send a GSS call.
  auto self = std::make_shared<std::weak_ptr<privsep::Endpoint>>();
  auto ep = std::make_shared<privsep::Endpoint>(
      channel, [this, self](Incoming& m) { return handle(m, *self); }, [](const std::string&) {});
  *self = ep;
  // Its sockets (the same ones for every child: nothing is rebound), then what to run on them.
  ikeproc::StartNote start;
  start.capabilities = dataplane_->capabilities();
  // Windows' fallback to clear ([ike] in ward.conf), as the in-process IKE applies it.
  start.fallback_delay =
      settings_.fallback_delay ? std::chrono::milliseconds(*settings_.fallback_delay) : ike::service::kFallbackToClearDelay;
  start.soft_association_lifetime = settings_.soft_association_lifetime.value_or(ike::service::kSoftAssociationLifetime);
  // Dead peer detection ([ike] dpd_idle, dpd_retry, dpd_probes), as the in-process IKE applies it.
  const ike::service::DpdPolicy dpd_defaults;
  start.dpd_idle = settings_.dpd_idle ? std::chrono::milliseconds(*settings_.dpd_idle) : dpd_defaults.idle;
  start.dpd_retry = settings_.dpd_retry ? std::chrono::milliseconds(*settings_.dpd_retry) : dpd_defaults.retry;
  start.dpd_probes = settings_.dpd_probes.value_or(dpd_defaults.max_probes);
  start.ike_version = ike_version_policy(settings_.version);
  start.force_udp_encapsulation = settings_.force_udp_encapsulation;
  start.ikev2_fragmentation = settings_.fragmentation;
  start.ikev2_fragment_size = settings_.fragment_size.value_or(0);
  // Held until the endpoint is set: readdress() either sees no endpoint and its services go in
  // here, or sends them to this child itself.
  const std::lock_guard services_lock(services_mutex_);
  for (const auto& s : services_) {
    if (auto sent = send_sockets(*ep, s); !sent) log_.warning("ike-process-start", {{"pid", std::to_string(pid)}, {"why", sent.error()}});
    start.services.push_back(service_start(s));
  }
  std::shared_ptr<privsep::Endpoint> previous;
  {
    const std::lock_guard sending(certificates_sending_);
    if (const auto certificates = this->certificates()) send_certificates(*ep, *certificates);
    // Held until the endpoint is set: sync() either sees no endpoint and its policy's table goes
    // in here, or sends it to this child itself.
    const std::lock_guard synced(sync_mutex_);
    send_phase1_table(*ep);
    (void)ep->notify(ikeproc::kStart, ikeproc::encode(start));
    const std::lock_guard lock(mutex_);
    previous = std::exchange(endpoint_, std::move(ep));
  }
  child_pid_ = pid;
  log_.info("ike-process-started", {{"pid", std::to_string(pid)}, {"user", user_}});
  // A new child knows no filter state: the first refresh's retain_filters does not apply to it.
  previous.reset();   // its reader has ended with the old child's channel
}

// The certificate, its chain and the trust store (CAs and CRLs) in as few notes as the channel's
// message limit allows. All or nothing: a child missing a CRL would accept a revoked certificate,
// so what cannot be sent leaves the child without certificates (certificate authentication fails).
void IkeProcess::send_certificates(privsep::Endpoint& child, const ike::auth::CertificateCredentials& certificates) {
  constexpr std::size_t kRoom = privsep::kMaxBody - 1024;   // call id, counts, handle
  const auto& options = certificates.options();
  const ikeproc::CertificateNote empty{kCertificateHandle, {}, {}, options.identity.type, options.identity.fqdn, options.revocation};
  std::vector<ikeproc::CertificateNote> notes{empty};
  notes.back().certificate_pem = certificates.certificate_pem();
  std::size_t used = notes.back().certificate_pem.size();
  for (auto& entry : certificates.trust_pem()) {
    if (entry.size() > kRoom || notes.back().certificate_pem.size() > kRoom) {
      log_.error("ike-certificates-not-sent", {{"why", "a certificate or trust store entry is larger than a message to the IKE process (" +
                                                           std::to_string(kRoom) + " bytes)"}});
      return;
    }
    if (used + entry.size() > kRoom) {
      notes.push_back(empty);
      used = 0;
    }
    used += entry.size();
    notes.back().trust_pem.push_back(std::move(entry));
  }
  for (const auto& note : notes) {
    if (auto sent = child.notify(ikeproc::kCertificates, ikeproc::encode(note)); !sent) {
      log_.warning("ike-process-start", {{"why", "certificates: " + sent.error()}});
      return;
    }
  }
  if (auto sent = child.notify(ikeproc::kCertificatesDone, {}); !sent) {
    log_.warning("ike-process-start", {{"why", "certificates: " + sent.error()}});
  }
}

ikebridge::CertificateCredentialsPtr IkeProcess::certificates() const {
  const std::lock_guard lock(certificates_mutex_);
  return certificates_;
}

void IkeProcess::replace_certificates(ikebridge::CertificateCredentialsPtr certificates) {
  const std::lock_guard sending(certificates_sending_);
  {
    const std::lock_guard lock(certificates_mutex_);
    certificates_ = certificates;
  }
  bridge_.replace_certificates(certificates);
  const auto child = endpoint();
  if (!child) return;
  if (certificates) send_certificates(*child, *certificates);
  // Certificate methods are made with the credentials: the table names the new ones' CAs.
  const std::lock_guard synced(sync_mutex_);
  send_phase1_table(*child);
}

// RSA PKCS#1 v1.5 over a hash the child computed (SIG_I / SIG_R): the key stays here.
Expected<Body, std::string> IkeProcess::sign(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<ikeproc::SignRequest>(body);
  if (!request) return unexpected(std::move(request.error()));
  const auto certificates = this->certificates();
  if (!certificates || request->handle != kCertificateHandle) {
    return unexpected("sign: no key has handle " + std::to_string(request->handle));
  }
  if (!ike::auth::is_signable_digest(std::as_bytes(std::span(request->hash)))) {
    return unexpected("sign: a " + std::to_string(request->hash.size()) + "-byte input is neither a hash nor a DigestInfo");
  }
  auto signature = certificates->sign(request->hash);
  if (!signature) return unexpected("sign: " + signature.error());
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(signature->data());
  return Body(bytes, bytes + signature->size());
}

void IkeProcess::exited(pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) {
  log_.warning("ike-process-exited", {{"pid", std::to_string(pid)}, {"how", how},
                                      {"restart_in_ms", std::to_string(restart_in.count())}});
  std::shared_ptr<privsep::Endpoint> gone;
  {
    const std::lock_guard lock(mutex_);
    gone = std::move(endpoint_);
  }
  gone.reset();
  {
    const std::lock_guard lock(mutex_);
    authenticated_peers_.clear();   // a new child authenticates its peers again
  }
  gss_.clear();   // its Kerberos exchanges died with it
  remove_installed_sas("the IKE process that negotiated them " + how);
}

void IkeProcess::remove_installed_sas(const std::string& why) {
  std::set<std::pair<std::uint32_t, driver::crypto::Direction>> installed;
  std::map<std::pair<std::uint32_t, driver::crypto::SecurityProtocol>, ReservedSpi> reserved;
  {
    const std::lock_guard lock(mutex_);
    installed.swap(installed_);
    reserved.swap(reserved_spis_);
  }
  // Its negotiations died with it: their SPIs are free again (those that expired already are not
  // reserved any more, and the dataplane says so; nothing to report).
  for (const auto& [key, spi] : reserved) (void)dataplane_->release_spi(key.first, key.second);
  if (installed.empty()) return;
  std::size_t removed = 0;
  for (const auto& [spi, direction] : installed) {
    if (dataplane_->delete_sa(spi, direction)) ++removed;
  }
  log_.warning("ike-sas-removed", {{"count", std::to_string(removed)}, {"why", why}});
}

Expected<Body, std::string> IkeProcess::handle(Incoming& m, const std::weak_ptr<privsep::Endpoint>& self) {
  switch (m.type) {
    case ikeproc::kReady: {
      const std::string text(m.body.begin(), m.body.end());
      const std::string pid = std::to_string(child_pid_.load());
      if (text == "ok") log_.info("ike-process-ready", {{"pid", pid}});
      else log_.error("ike-process-failed", {{"pid", pid}, {"why", text}});
      return Body{};
    }
    case ikeproc::kEvent: {
      auto event = ikeproc::decode<ike::service::IkeEvent>(m.body);
      if (!event) {
        log_.warning("ike-process-malformed", {{"why", event.error()}});
        return unexpected(event.error());
      }
      if (event->kind == ike::service::IkeEvent::Kind::MainModeEstablished) {
        const std::lock_guard lock(mutex_);
        authenticated_peers_.insert(event->peer);
      }
      recorder_.on_ike_event(*event);
      return Body{};
    }
    case ikeproc::kAlikeEvents: {
      auto alike = ikeproc::decode<ikeproc::AlikeEvents>(m.body);
      if (!alike) {
        log_.warning("ike-process-malformed", {{"why", alike.error()}});
        return unexpected(alike.error());
      }
      recorder_.on_ike_events(alike->last, alike->count.value);
      return Body{};
    }
    case ikeproc::kLog:
      log_.debug("ike", {{"detail", std::string(m.body.begin(), m.body.end())}});
      return Body{};
    default:
      break;
  }
  auto answer = handle_call(m, self);
  if (!answer && (m.type == ikeproc::kAddSa || m.type == ikeproc::kSkeyid || m.type == ikeproc::kSign ||
                  m.type == ikeproc::kAllocateSpi || m.type == ikeproc::kReleaseSpi ||
                  (m.type >= ikeproc::kGssOpen && m.type <= ikeproc::kGssCheck))) {
    log_.debug("ike-process-call-refused", {{"type", std::to_string(m.type)}, {"why", answer.error()}});
  }
  return answer;
}

// A child that was taken over could ask for anything: an SA is installed only when the policy
// enforced now negotiates it with that peer and method (sa_admission.h) and the child reported an
// authenticated main mode with the peer; a soft association only where the policy falls back to clear.
Expected<void, std::string> IkeProcess::admit(const driver::SaInstall& sa) {
  const auto policy = bridge_.current();
  auto admitted = policy ? ikebridge::admit_sa(*policy, sa) : unexpected(std::string("no policy is applied"));
  if (admitted) {
    const std::lock_guard lock(mutex_);
    if (!authenticated_peers_.contains(sa.peer)) {
      admitted = unexpected(driver::crypto::describe_sa(sa.params) + " for filter " + std::to_string(sa.filter_id) + " with " +
                            sa.peer.to_string() + ": the IKE process reported no authenticated main mode with " + sa.peer.to_string());
    }
  }
  if (!admitted) log_.error("ike-sa-refused", {{"pid", std::to_string(child_pid_.load())}, {"why", admitted.error()}});
  return admitted;
}

Expected<void, std::string> IkeProcess::admit(const driver::SoftAssociation& association) {
  const auto policy = bridge_.current();
  auto admitted = policy ? ikebridge::admit_soft_association(*policy, association) : unexpected(std::string("no policy is applied"));
  if (!admitted) log_.error("ike-sa-refused", {{"pid", std::to_string(child_pid_.load())}, {"why", admitted.error()}});
  return admitted;
}

void IkeProcess::note_acquired(const IpAddress& peer) {
  const std::lock_guard lock(mutex_);
  acquired_peers_[peer] = std::chrono::steady_clock::now();
}

Expected<void, std::string> IkeProcess::refuse_spi(std::string why) {
  log_.error("ike-spi-refused", {{"pid", std::to_string(child_pid_.load())}, {"why", why}});
  return unexpected(std::move(why));
}

// The SPI space is the host's: a child that was taken over may reserve SPIs only for the peers it
// negotiates with, a bounded number at a time, and give back only its own.
Expected<Body, std::string> IkeProcess::allocate_spi(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<ikeproc::SpiRequest>(body);
  if (!request) return unexpected(std::move(request.error()));
  const std::string what = "an inbound " + std::string(driver::crypto::name_of(request->protocol)) + " SPI for " + request->peer.to_string();
  {
    const std::lock_guard lock(mutex_);
    const auto forget = std::chrono::steady_clock::now() - kReservedSpiMemory;
    std::erase_if(reserved_spis_, [&](const auto& item) { return item.second.at < forget; });
    std::erase_if(acquired_peers_, [&](const auto& item) { return item.second < forget; });
    if (!authenticated_peers_.contains(request->peer)) {
      const auto held = static_cast<std::size_t>(
          std::count_if(reserved_spis_.begin(), reserved_spis_.end(), [&](const auto& item) { return item.second.peer == request->peer; }));
      if (!acquired_peers_.contains(request->peer)) {
        return unexpected(refuse_spi(what + ": the IKE process reported no authenticated main mode with " + request->peer.to_string() +
                                     " and the dataplane asked for no negotiation with it").error());
      }
      if (held >= kMaxSpisBeforeAuthentication) {
        return unexpected(refuse_spi(what + ": the IKE process reported no authenticated main mode with " + request->peer.to_string() +
                                     " and holds " + std::to_string(held) + " SPIs for it already").error());
      }
    }
    if (reserved_spis_.size() >= kMaxReservedSpis) {
      return unexpected(refuse_spi(what + ": the IKE process holds " + std::to_string(reserved_spis_.size()) + " reserved SPIs already (the limit)").error());
    }
  }
  auto spi = dataplane_->allocate_spi(request->protocol, request->peer);
  if (!spi) return unexpected(std::move(spi.error()));
  const std::lock_guard lock(mutex_);
  reserved_spis_[{*spi, request->protocol}] = ReservedSpi{request->peer, std::chrono::steady_clock::now()};
  return ikeproc::encode(ikeproc::SpiReservation{*spi, request->protocol});
}

Expected<Body, std::string> IkeProcess::release_spi(std::span<const std::uint8_t> body) {
  auto request = ikeproc::decode<ikeproc::SpiReservation>(body);
  if (!request) return unexpected(std::move(request.error()));
  {
    const std::lock_guard lock(mutex_);
    if (reserved_spis_.erase({request->spi, request->protocol}) == 0) {
      return unexpected(refuse_spi("giving back " + std::string(driver::crypto::name_of(request->protocol)) + " SPI " +
                                   std::to_string(request->spi) + ": the IKE process did not reserve it").error());
    }
  }
  if (auto released = dataplane_->release_spi(request->spi, request->protocol); !released) return unexpected(std::move(released.error()));
  return Body{};
}

Expected<void, std::string> IkeProcess::check_reserved_spis(const driver::SaInstall& sa) const {
  if (sa.params.direction != driver::crypto::Direction::Inbound) return {};
  std::vector<std::pair<std::uint32_t, driver::crypto::SecurityProtocol>> spis{{sa.params.spi, sa.params.protocol}};
  if (sa.bundled_ah) spis.emplace_back(sa.bundled_ah->spi, driver::crypto::SecurityProtocol::Ah);
  for (const auto& key : spis) {
    const auto found = reserved_spis_.find(key);
    if (found == reserved_spis_.end() || !(found->second.peer == sa.peer)) {
      return unexpected(driver::crypto::describe_sa(sa.params) + " from " + sa.peer.to_string() + ": " +
                        std::string(driver::crypto::name_of(key.second)) + " SPI " + std::to_string(key.first) +
                        " was not reserved for " + sa.peer.to_string() + " by the IKE process");
    }
  }
  return {};
}

Expected<Body, std::string> IkeProcess::handle_call(Incoming& m, const std::weak_ptr<privsep::Endpoint>& self) {
  if (auto answered = gss_.dispatch(m, self)) return std::move(*answered);
  switch (m.type) {
    case ikeproc::kPhase1For: {
      auto request = ikeproc::decode<ikeproc::Phase1Request>(m.body);
      if (!request) return unexpected(std::move(request.error()));
      auto policy = bridge_.phase1_for(request->local, request->peer, request->filter_id);
      if (!policy) return unexpected(std::move(policy.error()));
      ikeproc::RemotePhase1Policy remote;
      remote.proposals = policy->proposals;
      remote.allow_legacy = policy->allow_legacy;
      remote.quick_mode_limit = policy->quick_mode_limit;
      for (const auto& provider : policy->auth) {
        if (auto named = daemon::remote_auth(provider, keys_, gss_)) remote.auth.push_back(std::move(*named));
      }
      return ikeproc::encode(remote);
    }
    case ikeproc::kQuickModeForAcquire: {
      auto acquire = ikeproc::decode<driver::Acquire>(m.body);
      if (!acquire) return unexpected(std::move(acquire.error()));
      auto policy = bridge_.quick_mode_for_acquire(*acquire);
      if (!policy) return unexpected(std::move(policy.error()));
      return ikeproc::encode(*policy);
    }
    case ikeproc::kQuickModeForPeer: {
      auto request = ikeproc::decode<ikeproc::QuickModePeerRequest>(m.body);
      if (!request) return unexpected(std::move(request.error()));
      auto policy = bridge_.quick_mode_for_peer(request->local, request->peer, request->peer_side, request->our_side);
      if (!policy) return ikeproc::encode(ikeproc::QuickModePeerAnswer{std::move(policy.error())});
      return ikeproc::encode(ikeproc::QuickModePeerAnswer{std::move(*policy)});
    }
    case ikeproc::kSkeyid: {
      auto request = ikeproc::decode<ikeproc::SkeyidRequest>(m.body);
      if (!request) return unexpected(std::move(request.error()));
      const auto hash = request->hash;
      if (!keyproc::skeyid_hash_supported(hash)) return unexpected("SKEYID: hash " + std::to_string(static_cast<unsigned>(hash)) + " is not supported");
      const auto provider = keys_.provider(request->handle);
      if (!provider) return unexpected("SKEYID: no key has handle " + std::to_string(request->handle));
      if (key_process_ != nullptr) {
        auto skeyid = key_process_->skeyid(*request);
        if (!skeyid) return unexpected("SKEYID: " + skeyid.error());
        return Body(reinterpret_cast<const std::uint8_t*>(skeyid->reveal().data()),
                    reinterpret_cast<const std::uint8_t*>(skeyid->reveal().data()) + skeyid->size());
      }
      const auto skeyid = provider->skeyid(hash, request->ni_b, request->nr_b, {});
      return Body(reinterpret_cast<const std::uint8_t*>(skeyid.reveal().data()),
                  reinterpret_cast<const std::uint8_t*>(skeyid.reveal().data()) + skeyid.size());
    }
    case ikeproc::kSign:
      return sign(m.body);
    case ikeproc::kAddSa: {
      auto sa = ikeproc::decode<driver::SaInstall>(m.body);
      if (!sa) return unexpected(std::move(sa.error()));
      if (auto admitted = admit(*sa); !admitted) return unexpected(std::move(admitted.error()));
      {
        const std::lock_guard lock(mutex_);
        if (auto reserved = check_reserved_spis(*sa); !reserved) {
          log_.error("ike-sa-refused", {{"pid", std::to_string(child_pid_.load())}, {"why", reserved.error()}});
          return unexpected(std::move(reserved.error()));
        }
      }
      const bool inbound = sa->params.direction == driver::crypto::Direction::Inbound;
      const auto reserved_esp = std::pair{sa->params.spi, sa->params.protocol};
      const auto key = std::pair{sa->params.spi, sa->params.direction};
      std::optional<std::pair<std::uint32_t, driver::crypto::Direction>> ah;
      if (sa->bundled_ah) ah = std::pair{sa->bundled_ah->spi, sa->bundled_ah->direction};
      if (auto added = dataplane_->add_sa(std::move(*sa)); !added) return unexpected(std::move(added.error()));
      const std::lock_guard lock(mutex_);
      installed_.insert(key);
      if (ah) installed_.insert(*ah);
      if (inbound) {
        reserved_spis_.erase(reserved_esp);   // the SA uses them now
        if (ah) reserved_spis_.erase({ah->first, driver::crypto::SecurityProtocol::Ah});
      }
      return Body{};
    }
    case ikeproc::kDeleteSa: {
      auto request = ikeproc::decode<ikeproc::SaDelete>(m.body);
      if (!request) return unexpected(std::move(request.error()));
      {
        const std::lock_guard lock(mutex_);
        installed_.erase({request->spi, request->direction});
      }
      if (auto deleted = dataplane_->delete_sa(request->spi, request->direction); !deleted) return unexpected(std::move(deleted.error()));
      return Body{};
    }
    case ikeproc::kCounters:
      return ikeproc::encode(dataplane_->counters());
    case ikeproc::kAllocateSpi:
      return allocate_spi(m.body);
    case ikeproc::kReleaseSpi:
      return release_spi(m.body);
    case ikeproc::kAddSoftAssociation: {
      auto association = ikeproc::decode<driver::SoftAssociation>(m.body);
      if (!association) return unexpected(std::move(association.error()));
      if (auto admitted = admit(*association); !admitted) return unexpected(std::move(admitted.error()));
      if (auto added = dataplane_->add_soft_association(std::move(*association)); !added) return unexpected(std::move(added.error()));
      return Body{};
    }
    case ikeproc::kDeleteSoftAssociation: {
      auto request = ikeproc::decode<ikeproc::SoftAssociationDelete>(m.body);
      if (!request) return unexpected(std::move(request.error()));
      if (auto deleted = dataplane_->delete_soft_association(request->filter_id, request->peer); !deleted) {
        return unexpected(std::move(deleted.error()));
      }
      return Body{};
    }
    default:
      return unexpected("wardd does not know message type " + std::to_string(m.type));
  }
}

void IkeProcess::sync(const AgentState& state) {
  const std::lock_guard lock(sync_mutex_);
  auto live = bridge_sync_.update(state, bridge_);
  if (!live) return;
  auto ep = endpoint();
  if (!ep) return;   // started() sends the table
  send_phase1_table(*ep);   // the next main mode is answered with this policy
  if (*live) (void)ep->notify(ikeproc::kRetainFilters, ikeproc::encode(ikeproc::RetainFilters{**live}));
}

std::vector<ike::service::IkeSnapshot> IkeProcess::snapshots() const {
  std::vector<ike::service::IkeSnapshot> out;
  auto ep = endpoint();
  if (!ep) return out;
  std::size_t count = 0;
  {
    const std::lock_guard services_lock(services_mutex_);
    count = services_.size();
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    auto body = ep->call(ikeproc::kSnapshot, ikeproc::encode(ikeproc::SnapshotRequest{i}));
    if (!body) break;
    auto snapshot = ikeproc::decode<ike::service::IkeSnapshot>(*body);
    if (!snapshot) {
      log_.warning("ike-process-malformed", {{"why", snapshot.error()}});
      break;
    }
    out.push_back(std::move(*snapshot));
  }
  return out;
}

void IkeProcess::stop() {
  if (!supervisor_) return;
  recorder_.attach_ike({});
  // SIGTERM: the child deletes its SAs through the endpoint (still served here) and tells the
  // peers, then exits; after the grace it is killed and what it left is removed here.
  supervisor_->stop();
  supervisor_.reset();
  {
    const std::lock_guard lock(mutex_);
    endpoint_.reset();
  }
  remove_installed_sas("wardd is stopping");
  gss_.clear();
  const std::lock_guard services_lock(services_mutex_);
  services_.clear();
}

}  // namespace ward::agent::daemon
