#include "agent/daemon/ike_process.h"

#include <algorithm>

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire.h"

namespace ward::agent::daemon {

using ikeproc::Decoder;
using ikeproc::Encoder;
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

// A hash the engine may ask SKEYID for; anything else would abort prf() in wardd.
bool supported_hash(IkeHashAlgorithm hash) {
  return hash == IkeHashAlgorithm::Md5 || hash == IkeHashAlgorithm::Sha || hash == IkeHashAlgorithm::Sha2_256 ||
         hash == IkeHashAlgorithm::Sha2_384;
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
  return handle;
}

ikebridge::AuthProviderPtr KeyHandles::provider(std::uint32_t handle) const {
  const std::lock_guard lock(mutex_);
  if (handle == 0 || handle > providers_.size()) return nullptr;
  return providers_[handle - 1];
}

// ---- the process ---------------------------------------------------------------------------------

IkeProcess::IkeProcess(Logger& log, AcquireRecorder& recorder, ikebridge::AuthFactory auth, std::string program, std::string user,
                       config::IkeSettings settings)
    : log_(log),
      recorder_(recorder),
      bridge_(std::move(auth)),
      program_(std::move(program)),
      user_(std::move(user)),
      settings_(settings) {}

void IkeProcess::start(const std::vector<IpAddress>& addresses, driver::Dataplane& dataplane) {
  dataplane_ = &dataplane;
  for (const auto& address : ike_addresses(addresses, log_)) {
    auto socket = ike::net::UdpSocket::bind(address, ike::net::kIsakmpPort);
    if (!socket) {
      log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", socket.error()}});
      continue;
    }
    constexpr int kReceiveBuffer = 4 * 1024 * 1024;   // as IkeServiceOptions::receive_buffer_bytes
    (void)socket->set_receive_buffer(kReceiveBuffer);
    auto nat = ike::net::UdpSocket::bind(address, ike::sa::kNatTraversalPort);
    if (!nat) {
      log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", "NAT-T: " + nat.error()}});
      continue;
    }
    (void)nat->set_receive_buffer(kReceiveBuffer);
    log_.info("ike-started", {{"address", address.to_string()}, {"port", std::to_string(ike::net::kIsakmpPort)}, {"process", "ike"}});
    services_.push_back({address, std::move(*socket), std::move(*nat)});
  }
  if (services_.empty()) return;
  privsep::ChildSpec spec;
  spec.name = "ike";
  spec.argv = {program_, "--privsep-child", "ike", "--user", user_};
  auto supervisor = privsep::Supervisor::start(
      spec, [this](pid_t pid, std::shared_ptr<privsep::Channel> channel) { started(pid, std::move(channel)); },
      [this](pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) { exited(pid, how, restart_in); });
  if (!supervisor) {
    log_.error("ike-process-failed", {{"why", supervisor.error()}});
    services_.clear();
    return;
  }
  supervisor_ = std::move(*supervisor);
  recorder_.attach_ike(IkeHooks{[this](const driver::Acquire& a) {
                                  Encoder e;
                                  encode(e, a);
                                  if (auto ep = endpoint()) (void)ep->notify(ikeproc::kAcquire, e.body());
                                },
                                [this](const driver::SaExpiry& x) {
                                  Encoder e;
                                  encode(e, x);
                                  if (auto ep = endpoint()) (void)ep->notify(ikeproc::kExpiry, e.body());
                                }});
}

std::shared_ptr<privsep::Endpoint> IkeProcess::endpoint() const {
  const std::lock_guard lock(mutex_);
  return endpoint_;
}

void IkeProcess::started(pid_t pid, std::shared_ptr<privsep::Channel> channel) {
  auto ep = std::make_shared<privsep::Endpoint>(
      channel, [this](Incoming& m) { return handle(m); }, [](const std::string&) {});
  // Its sockets (the same ones for every child: nothing is rebound), then what to run on them.
  Encoder start;
  const auto caps = dataplane_->capabilities();
  start.boolean(caps.userspace_crypto);
  start.boolean(caps.kernel_sas);
  start.boolean(caps.atomic_table_swap);
  start.boolean(caps.holds_packets);
  // Windows' fallback to clear ([ike] in ward.conf), as the in-process IKE applies it.
  const std::chrono::milliseconds fallback_delay =
      settings_.fallback_delay ? std::chrono::milliseconds(*settings_.fallback_delay) : ike::service::kFallbackToClearDelay;
  start.u64(static_cast<std::uint64_t>(fallback_delay.count()));
  start.u64(static_cast<std::uint64_t>(settings_.soft_association_lifetime.value_or(ike::service::kSoftAssociationLifetime).count()));
  // Dead peer detection ([ike] dpd_idle, dpd_retry, dpd_probes), as the in-process IKE applies it.
  const ike::service::DpdPolicy dpd_defaults;
  const std::chrono::milliseconds dpd_idle = settings_.dpd_idle ? std::chrono::milliseconds(*settings_.dpd_idle) : dpd_defaults.idle;
  const std::chrono::milliseconds dpd_retry = settings_.dpd_retry ? std::chrono::milliseconds(*settings_.dpd_retry) : dpd_defaults.retry;
  start.u64(static_cast<std::uint64_t>(dpd_idle.count()));
  start.u64(static_cast<std::uint64_t>(dpd_retry.count()));
  start.u32(settings_.dpd_probes.value_or(dpd_defaults.max_probes));
  start.u32(static_cast<std::uint32_t>(services_.size()));
  for (const auto& s : services_) {
    for (const auto* socket : {&s.socket, &*s.nat_socket}) {
      Encoder e;
      encode(e, s.local);
      e.u16(socket == &s.socket ? ike::net::kIsakmpPort : ike::sa::kNatTraversalPort);
      if (auto sent = ep->notify(ikeproc::kSocket, e.body(), socket->native_handle()); !sent) {
        log_.warning("ike-process-start", {{"pid", std::to_string(pid)}, {"why", sent.error()}});
      }
    }
    encode(start, s.local);
    start.u16(ike::net::kIsakmpPort);
    start.boolean(true);   // NAT-T (RFC 3947/3948), as the in-process IKE
    start.u16(ike::sa::kNatTraversalPort);
    start.u32(static_cast<std::uint32_t>(kIkeRetransmit.first_interval.count()));
    start.u32(kIkeRetransmit.factor);
    start.u32(kIkeRetransmit.max_sends);
  }
  (void)ep->notify(ikeproc::kStart, start.body());
  std::shared_ptr<privsep::Endpoint> previous;
  {
    const std::lock_guard lock(mutex_);
    previous = std::exchange(endpoint_, std::move(ep));
  }
  child_pid_ = pid;
  log_.info("ike-process-started", {{"pid", std::to_string(pid)}, {"user", user_}});
  // A new child knows no filter state: the first refresh's retain_filters does not apply to it.
  previous.reset();   // its reader has ended with the old child's channel
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
  remove_installed_sas("the IKE process that negotiated them " + how);
}

void IkeProcess::remove_installed_sas(const std::string& why) {
  std::set<std::pair<std::uint32_t, driver::crypto::Direction>> installed;
  {
    const std::lock_guard lock(mutex_);
    installed.swap(installed_);
  }
  if (installed.empty()) return;
  std::size_t removed = 0;
  for (const auto& [spi, direction] : installed) {
    if (dataplane_->delete_sa(spi, direction)) ++removed;
  }
  log_.warning("ike-sas-removed", {{"count", std::to_string(removed)}, {"why", why}});
}

Expected<Body, std::string> IkeProcess::handle(Incoming& m) {
  switch (m.type) {
    case ikeproc::kReady: {
      const std::string text(m.body.begin(), m.body.end());
      const std::string pid = std::to_string(child_pid_.load());
      if (text == "ok") log_.info("ike-process-ready", {{"pid", pid}});
      else log_.error("ike-process-failed", {{"pid", pid}, {"why", text}});
      return Body{};
    }
    case ikeproc::kEvent: {
      auto event = ikeproc::decode_event(m.body);
      if (!event) {
        log_.warning("ike-process-malformed", {{"why", event.error()}});
        return unexpected(event.error());
      }
      recorder_.on_ike_event(*event);
      return Body{};
    }
    case ikeproc::kLog:
      log_.debug("ike", {{"detail", std::string(m.body.begin(), m.body.end())}});
      return Body{};
    default:
      break;
  }
  auto answer = handle_call(m);
  if (!answer && (m.type == ikeproc::kAddSa || m.type == ikeproc::kSkeyid)) {
    log_.debug("ike-process-call-refused", {{"type", std::to_string(m.type)}, {"why", answer.error()}});
  }
  return answer;
}

Expected<Body, std::string> IkeProcess::handle_call(Incoming& m) {
  Encoder out;
  switch (m.type) {
    case ikeproc::kPhase1For: {
      Decoder d(m.body, "phase 1 request");
      const auto local = ikeproc::decode_address(d, "local");
      const auto peer = ikeproc::decode_address(d, "peer");
      const bool has_filter = d.boolean("has filter");
      const auto filter = d.u32("filter id");
      if (auto done = d.finish(0); !done) return unexpected(done.error());
      auto policy = bridge_.phase1_for(local, peer, has_filter ? std::optional(filter) : std::nullopt);
      if (!policy) return unexpected(std::move(policy.error()));
      ikeproc::RemotePhase1Policy remote;
      remote.proposals = policy->proposals;
      remote.allow_legacy = policy->allow_legacy;
      remote.quick_mode_limit = policy->quick_mode_limit;
      for (const auto& provider : policy->auth) {
        if (provider->method() != IkeAuthenticationMethod::PreSharedKey) continue;
        remote.auth.push_back({provider->method(), keys_.handle_for(provider)});
      }
      encode(out, remote);
      return out.take();
    }
    case ikeproc::kQuickModeForAcquire: {
      auto acquire = ikeproc::decode_acquire(m.body);
      if (!acquire) return unexpected(std::move(acquire.error()));
      auto policy = bridge_.quick_mode_for_acquire(*acquire);
      if (!policy) return unexpected(std::move(policy.error()));
      encode(out, *policy);
      return out.take();
    }
    case ikeproc::kQuickModeForPeer: {
      Decoder d(m.body, "quick mode request");
      const auto local = ikeproc::decode_address(d, "local");
      const auto peer = ikeproc::decode_address(d, "peer");
      const auto peer_side = ikeproc::decode_selector(d);
      const auto our_side = ikeproc::decode_selector(d);
      if (auto done = d.finish(0); !done) return unexpected(done.error());
      auto policy = bridge_.quick_mode_for_peer(local, peer, peer_side, our_side);
      if (!policy) return unexpected(std::move(policy.error()));
      encode(out, *policy);
      return out.take();
    }
    case ikeproc::kSkeyid: {
      Decoder d(m.body, "SKEYID request");
      const auto handle = d.u32("handle");
      const auto hash = d.any_enumeration<IkeHashAlgorithm>("hash");
      const auto ni = d.bytes("Ni_b");
      const auto nr = d.bytes("Nr_b");
      if (auto done = d.finish(0); !done) return unexpected(done.error());
      if (!supported_hash(hash)) return unexpected("SKEYID: hash " + std::to_string(static_cast<unsigned>(hash)) + " is not supported");
      const auto provider = keys_.provider(handle);
      if (!provider) return unexpected("SKEYID: no key has handle " + std::to_string(handle));
      const auto skeyid = provider->skeyid(hash, ni, nr, {});
      return Body(reinterpret_cast<const std::uint8_t*>(skeyid.reveal().data()),
                  reinterpret_cast<const std::uint8_t*>(skeyid.reveal().data()) + skeyid.size());
    }
    case ikeproc::kAddSa: {
      auto sa = ikeproc::decode_sa_install(m.body);
      if (!sa) return unexpected(std::move(sa.error()));
      const auto key = std::pair{sa->params.spi, sa->params.direction};
      std::optional<std::pair<std::uint32_t, driver::crypto::Direction>> ah;
      if (sa->bundled_ah) ah = std::pair{sa->bundled_ah->spi, sa->bundled_ah->direction};
      if (auto added = dataplane_->add_sa(std::move(*sa)); !added) return unexpected(std::move(added.error()));
      const std::lock_guard lock(mutex_);
      installed_.insert(key);
      if (ah) installed_.insert(*ah);
      return Body{};
    }
    case ikeproc::kDeleteSa: {
      Decoder d(m.body, "SA delete");
      const auto spi = d.u32("spi");
      const auto direction = d.enumeration("direction", driver::crypto::Direction::Outbound);
      if (auto done = d.finish(0); !done) return unexpected(done.error());
      {
        const std::lock_guard lock(mutex_);
        installed_.erase({spi, direction});
      }
      if (auto deleted = dataplane_->delete_sa(spi, direction); !deleted) return unexpected(std::move(deleted.error()));
      return Body{};
    }
    case ikeproc::kCounters:
      encode(out, dataplane_->counters());
      return out.take();
    case ikeproc::kAddSoftAssociation: {
      auto association = ikeproc::decode_soft_association(m.body);
      if (!association) return unexpected(std::move(association.error()));
      if (auto added = dataplane_->add_soft_association(std::move(*association)); !added) return unexpected(std::move(added.error()));
      return Body{};
    }
    case ikeproc::kDeleteSoftAssociation: {
      Decoder d(m.body, "soft association delete");
      const auto filter = d.u32("filter id");
      const auto peer = ikeproc::decode_address(d, "peer");
      if (auto done = d.finish(0); !done) return unexpected(done.error());
      if (auto deleted = dataplane_->delete_soft_association(filter, peer); !deleted) return unexpected(std::move(deleted.error()));
      return Body{};
    }
    default:
      return unexpected("wardd does not know message type " + std::to_string(m.type));
  }
}

void IkeProcess::sync(const AgentState& state) {
  if (!running()) return;
  const std::lock_guard lock(sync_mutex_);
  auto live = bridge_sync_.update(state, bridge_);
  if (!live || !*live) return;
  Encoder e;
  e.u32(static_cast<std::uint32_t>((*live)->size()));
  for (const auto id : **live) e.u32(id);
  if (auto ep = endpoint()) (void)ep->notify(ikeproc::kRetainFilters, e.body());
}

std::vector<ike::service::IkeSnapshot> IkeProcess::snapshots() const {
  std::vector<ike::service::IkeSnapshot> out;
  auto ep = endpoint();
  if (!ep) return out;
  for (std::uint32_t i = 0; i < services_.size(); ++i) {
    Encoder e;
    e.u32(i);
    auto body = ep->call(ikeproc::kSnapshot, e.body());
    if (!body) break;
    auto snapshot = ikeproc::decode_snapshot(*body);
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
  services_.clear();
}

}  // namespace ward::agent::daemon
