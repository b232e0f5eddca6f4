#include "agent/ikeproc/ike_child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "agent/ikeproc/alike_events.h"
#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/phase1_table.h"
#include "agent/ikeproc/remote_kerberos.h"
#include "agent/ikeproc/socket_groups.h"
#include "agent/ikeproc/wire.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"
#include "ike/auth/certificate_provider.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"

namespace ward::agent::ikeproc {
namespace {

using privsep::Body;
using privsep::Endpoint;
using privsep::Incoming;

constexpr auto kStartTimeout = std::chrono::seconds(10);

// The dataplane is the parent's: every change is a call.
class RemoteDataplane final : public driver::Dataplane {
 public:
  RemoteDataplane(Endpoint& parent, driver::Capabilities capabilities) : parent_(parent), capabilities_(capabilities) {}
  driver::Capabilities capabilities() const override { return capabilities_; }
  Expected<void, std::string> install_filter_table(driver::FilterTable) override {
    return unexpected(std::string("the IKE process installs no filter table"));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    auto r = parent_.call(kAllocateSpi, encode(SpiRequest{protocol, peer}));
    if (!r) return unexpected(std::move(r.error()));
    auto reservation = decode<SpiReservation>(*r);
    if (!reservation) return unexpected(std::move(reservation.error()));
    if (reservation->protocol != protocol) return unexpected(std::string("wardd reserved an SPI of another protocol"));
    return reservation->spi;
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return done(kReleaseSpi, SpiReservation{spi, protocol});
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override { return done(kAddSa, sa); }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    return done(kDeleteSa, SaDelete{spi, direction});
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return done(kAddSoftAssociation, association);
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return done(kDeleteSoftAssociation, SoftAssociationDelete{filter_id, peer});
  }
  driver::DataplaneCounters counters() const override {
    auto r = parent_.call(kCounters, {});
    if (!r) return {};
    auto c = decode<driver::DataplaneCounters>(*r);
    return c ? std::move(*c) : driver::DataplaneCounters{};
  }

 private:
  template <class T>
  Expected<void, std::string> done(Message type, const T& body) {
    if (auto r = parent_.call(type, encode(body)); !r) return unexpected(std::move(r.error()));
    return {};
  }
  Endpoint& parent_;
  driver::Capabilities capabilities_;
};

// The policy is the parent's too; preshared keys come as handles, SKEYID from the parent. Phase 1
// is answered from the table wardd sent with its policy (phase1_table.h), by wardd while there is none.
class RemotePolicy final : public ike::service::PolicyLookup {
 public:
  // `certificates`: ours without the key (signatures come from the parent), or null.
  RemotePolicy(Endpoint& parent, std::shared_ptr<const ike::auth::CertificateCredentials> certificates, const Phase1TableSlot& table)
      : parent_(parent), certificates_(std::move(certificates)), kerberos_(std::make_shared<RemoteKerberosProvider>(parent)),
        table_(table) {}

  Expected<ike::service::Phase1Policy, std::string> phase1_for(const IpAddress& local, const IpAddress& peer,
                                                               std::optional<std::uint32_t> filter_id) const override {
    auto remote = remote_phase1(local, peer, filter_id);
    if (!remote) return unexpected(std::move(remote.error()));
    ike::service::Phase1Policy policy;
    policy.proposals = std::move(remote->proposals);
    policy.allow_legacy = remote->allow_legacy;
    policy.quick_mode_limit = remote->quick_mode_limit;
    std::string unusable;
    for (const auto& auth : remote->auth) {
      if (auth.method == IkeAuthenticationMethod::PreSharedKey) {
        policy.auth.push_back(preshared_key(auth.handle));
      } else if (auth.method == IkeAuthenticationMethod::Kerberos) {
        policy.auth.push_back(kerberos_);
      } else if (auth.method == IkeAuthenticationMethod::RsaSignatures) {
        auto provider = certificate(auth.ca_name);
        if (provider) policy.auth.push_back(std::move(*provider));
        else unusable = provider.error();
      }
    }
    if (policy.auth.empty()) {
      return unexpected("no authentication method the IKE process can use" + (unusable.empty() ? std::string() : ": " + unusable));
    }
    return policy;
  }

  Expected<ike::service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& acquire) const override {
    auto r = parent_.call(kQuickModeForAcquire, encode(acquire));
    if (!r) return unexpected(std::move(r.error()));
    return decode<ike::service::QuickModePolicy>(*r);
  }

  // wardd's refusal comes typed (QuickModePeerAnswer); no answer from wardd is refused as no
  // filter covering the IDs would be.
  Expected<ike::service::QuickModePolicy, ike::service::PolicyRefusal> quick_mode_for_peer(
      const IpAddress& local, const IpAddress& peer, const ike::sa::TrafficSelector& peer_side,
      const ike::sa::TrafficSelector& our_side) const override {
    const auto unanswered = [](std::string why) {
      return unexpected(ike::service::PolicyRefusal{ike::NotifyMessageType::InvalidIdInformation, std::move(why)});
    };
    auto r = parent_.call(kQuickModeForPeer, encode(QuickModePeerRequest{local, peer, peer_side, our_side}));
    if (!r) return unanswered(std::move(r.error()));
    auto answer = decode<QuickModePeerAnswer>(*r);
    if (!answer) return unanswered(std::move(answer.error()));
    if (auto* refused = std::get_if<ike::service::PolicyRefusal>(&answer->answer)) return unexpected(std::move(*refused));
    return std::get<ike::service::QuickModePolicy>(std::move(answer->answer));
  }

  // Reloaded by wardd: main modes from now on use these (those under way keep theirs).
  void replace_certificates(std::shared_ptr<const ike::auth::CertificateCredentials> certificates) {
    const std::lock_guard lock(mutex_);
    certificates_ = std::move(certificates);
    certificate_providers_.clear();
  }

 private:
  Expected<RemotePhase1Policy, std::string> remote_phase1(const IpAddress& local, const IpAddress& peer,
                                                          std::optional<std::uint32_t> filter_id) const {
    if (auto answered = table_.answer(local, peer, filter_id)) return std::move(*answered);
    auto r = parent_.call(kPhase1For, encode(Phase1Request{local, peer, filter_id}));
    if (!r) return unexpected(std::move(r.error()));
    return decode<RemotePhase1Policy>(*r);
  }

  std::shared_ptr<const ike::auth::AuthProvider> preshared_key(std::uint32_t handle) const {
    const std::lock_guard lock(mutex_);
    auto& provider = providers_[handle];
    if (!provider) {
      Endpoint* parent = &parent_;
      provider = std::make_shared<ike::auth::PresharedKeyProvider>(
          [parent, handle](IkeHashAlgorithm hash, ike::crypto::Bytes ni_b,
                           ike::crypto::Bytes nr_b) -> Expected<driver::crypto::SecureBytes, std::string> {
            const SkeyidRequest request{handle, hash, {ni_b.begin(), ni_b.end()}, {nr_b.begin(), nr_b.end()}};
            auto r = parent->call(kSkeyid, encode(request));
            if (!r) return unexpected(std::move(r.error()));
            driver::crypto::SecureBytes skeyid(std::as_bytes(std::span(r->data(), r->size())));
            std::fill(r->begin(), r->end(), 0);
            return skeyid;
          });
    }
    return provider;
  }

  // One provider per CA name, over our certificate; the error when the trust store lacks the CA.
  Expected<std::shared_ptr<const ike::auth::AuthProvider>, std::string> certificate(const std::string& ca_name) const {
    const std::lock_guard lock(mutex_);
    if (!certificates_) return unexpected(std::string("certificate authentication: wardd sent no certificate"));
    auto& provider = certificate_providers_[ca_name];
    if (!provider) {
      auto made = ike::auth::CertificateProvider::create(certificates_, ca_name);
      if (!made) return unexpected("certificate authentication: " + made.error());
      provider = std::move(*made);
    }
    return provider;
  }

  Endpoint& parent_;
  std::shared_ptr<const ike::auth::CertificateCredentials> certificates_;
  std::shared_ptr<const ike::auth::AuthProvider> kerberos_;   // every exchange's GSS steps by wardd
  const Phase1TableSlot& table_;
  mutable std::mutex mutex_;
  mutable std::map<std::uint32_t, std::shared_ptr<const ike::auth::AuthProvider>> providers_;
  mutable std::map<std::string, std::shared_ptr<const ike::auth::AuthProvider>> certificate_providers_;
};

// Events to wardd, unverified failures counted (alike_events.h).
class RemoteListener final : public ike::service::IkeListener {
 public:
  explicit RemoteListener(Endpoint& parent)
      : batcher_([&parent](const ike::service::IkeEvent& event) { (void)parent.notify(kEvent, encode(event)); },
                 [&parent](const AlikeEvents& alike) { (void)parent.notify(kAlikeEvents, encode(alike)); }, kAlikeEventsInterval) {}
  void on_ike_event(const ike::service::IkeEvent& event) override { batcher_.on_event(event); }

 private:
  static constexpr std::chrono::milliseconds kAlikeEventsInterval{200};
  AlikeEventBatcher batcher_;
};

// What the parent sent and the services made of it; shared by the endpoint's thread and main.
class ChildState {
 public:
  Expected<Body, std::string> handle(Incoming& m) {
    switch (m.type) {
      case kSocket: {
        auto note = decode<SocketNote>(m.body);
        if (!note) return unexpected(std::move(note.error()));
        if (!m.fd) return unexpected(std::string("a socket message without its socket"));
        const std::lock_guard lock(mutex_);
        if (auto added = sockets_.add(*note, std::move(m.fd)); !added) return unexpected(std::move(added.error()));
        return Body{};
      }
      case kStart: {
        auto start = decode<StartNote>(m.body);
        if (!start) return unexpected(std::move(start.error()));
        const std::lock_guard lock(mutex_);
        start_ = std::move(*start);
        changed_.notify_all();
        return Body{};
      }
      case kServices: {
        // Handled on a thread of its own: a service that stops deletes its SAs through calls to
        // wardd, whose answers this (the endpoint's) thread reads.
        auto note = decode<ServicesNote>(m.body);
        if (!note) return unexpected(std::move(note.error()));
        const std::lock_guard lock(mutex_);
        wanted_services_ = std::move(note->services);
        changed_.notify_all();
        return Body{};
      }
      case kCertificates: {
        auto note = decode<CertificateNote>(m.body);
        if (!note) return unexpected(std::move(note.error()));
        const std::lock_guard lock(mutex_);
        if (!arriving_) arriving_ = CertificateNote{note->handle, {}, {}, note->identity, note->fqdn, note->revocation};
        arriving_->certificate_pem += note->certificate_pem;
        for (auto& entry : note->trust_pem) arriving_->trust_pem.push_back(std::move(entry));
        return Body{};
      }
      case kCertificatesDone: {
        const std::lock_guard lock(mutex_);
        if (!arriving_) return unexpected(std::string("certificates done, but no certificate arrived"));
        certificates_ = std::exchange(arriving_, std::nullopt);
        if (!policy_) return Body{};   // not started yet: start() uses them
        // A set that does not load leaves the one in use (wardd loaded it, so this is not expected).
        auto loaded = credentials(*parent_, *certificates_);
        if (!loaded) return unexpected("reloaded certificates from wardd: " + loaded.error());
        policy_->replace_certificates(std::move(*loaded));
        return Body{};
      }
      case kPhase1Table: {
        auto note = decode<Phase1TableNote>(m.body);
        if (!note) return unexpected(std::move(note.error()));
        phase1_table_.replace(std::move(note->table));
        return Body{};
      }
      case kAcquire: {
        auto acquire = decode<driver::Acquire>(m.body);
        if (!acquire) return unexpected(acquire.error());
        const std::lock_guard lock(mutex_);
        if (auto* s = route(*acquire)) s->initiate(*acquire);
        return Body{};
      }
      case kExpiry: {
        auto expiry = decode<driver::SaExpiry>(m.body);
        if (!expiry) return unexpected(expiry.error());
        const std::lock_guard lock(mutex_);
        for (auto& s : services_) s->on_expiry(*expiry);
        return Body{};
      }
      case kRetainFilters: {
        auto live = decode<RetainFilters>(m.body);
        if (!live) return unexpected(std::move(live.error()));
        const std::lock_guard lock(mutex_);
        for (auto& s : services_) s->retain_filters(live->filter_ids);
        return Body{};
      }
      case kSnapshot: {
        auto request = decode<SnapshotRequest>(m.body);
        if (!request) return unexpected(std::move(request.error()));
        const std::lock_guard lock(mutex_);
        if (request->service >= services_.size()) return unexpected("no IKE service " + std::to_string(request->service));
        return encode(services_[request->service]->snapshot());
      }
      default:
        return unexpected("the IKE process does not know message type " + std::to_string(m.type));
    }
  }

  // Waits for kStart, then starts one service per spec on the sockets the parent sent.
  Expected<void, std::string> start(Endpoint& parent) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, kStartTimeout, [&] { return start_.has_value() || closed_; })) {
      return unexpected(std::string("no start message from wardd"));
    }
    if (closed_) return unexpected(std::string("wardd closed the channel"));
    dataplane_.emplace(parent, start_->capabilities);
    std::shared_ptr<const ike::auth::CertificateCredentials> certificates;
    if (certificates_) {
      auto loaded = credentials(parent, *certificates_);
      if (!loaded) return unexpected("certificates from wardd: " + loaded.error());
      certificates = std::move(*loaded);
    }
    parent_ = &parent;
    policy_.emplace(parent, std::move(certificates), phase1_table_);
    listener_.emplace(parent);
    for (const auto& spec : start_->services) {
      auto started = start_service(spec);
      if (!started) return unexpected(std::move(started.error()));
      services_.push_back(std::move(*started));
    }
    readdresser_ = std::thread([this] { follow_services(); });
    return {};
  }

  void closed() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  // Deletes every SA (peers are told, the parent asked to remove them) and stops the threads.
  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    if (readdresser_.joinable()) readdresser_.join();
    std::vector<std::unique_ptr<ike::service::IkeService>> services;
    {
      const std::lock_guard lock(mutex_);
      services.swap(services_);
    }
    services.clear();
    listener_.reset();  // sends what it counted, while the channel to wardd is still there
  }

 private:
  // Our certificate, chain and trust store as wardd sent them; signatures by wardd (kSign).
  static Expected<std::shared_ptr<const ike::auth::CertificateCredentials>, std::string> credentials(Endpoint& parent,
                                                                                                    const CertificateNote& note) {
    Endpoint* signer = &parent;
    return ike::auth::CertificateCredentials::from_pem(
        note.certificate_pem, note.trust_pem,
        [signer, handle = note.handle](std::span<const std::byte> hash) -> Expected<std::vector<std::byte>, std::string> {
          auto r = signer->call(kSign, encode(SignRequest{handle, {hash.begin(), hash.end()}}));
          if (!r) return unexpected(std::move(r.error()));
          const auto* bytes = reinterpret_cast<const std::byte*>(r->data());
          return std::vector<std::byte>(bytes, bytes + r->size());
        },
        ike::auth::CertificateOptions{{note.identity, note.fqdn}, note.revocation});
  }

  // One service on the socket groups wardd sent for it (mutex_ held), with start_'s settings: an
  // engine per socket of the group (IkeService::start_on).
  Expected<std::unique_ptr<ike::service::IkeService>, std::string> start_service(const ServiceStart& spec) {
    auto sockets = sockets_.take(spec.local, spec.port);
    if (!sockets) return unexpected(std::move(sockets.error()));
    std::vector<ike::net::UdpSocket> nat;
    if (spec.nat_traversal) {
      auto nat_sockets = sockets_.take(spec.local, spec.nat_t_port);
      if (!nat_sockets) return unexpected(std::move(nat_sockets.error()));
      nat = std::move(*nat_sockets);
    }
    ike::service::IkeServiceOptions options;
    options.local = spec.local;
    options.port = spec.port;
    options.nat_traversal = spec.nat_traversal;
    options.nat_t_port = spec.nat_t_port;
    options.retransmit = {spec.first_interval, spec.factor, spec.max_sends};
    options.fallback_delay = start_->fallback_delay;
    options.soft_association_lifetime = start_->soft_association_lifetime;
    options.dpd.idle = start_->dpd_idle;
    options.dpd.retry = start_->dpd_retry;
    options.dpd.max_probes = start_->dpd_probes;
    options.ike_version = start_->ike_version;
    options.pretend_nat = start_->force_udp_encapsulation;
    options.ikev2_fragmentation = start_->ikev2_fragmentation;
    options.ikev2_fragment_size = start_->ikev2_fragment_size;
    Endpoint* log_to = parent_;
    options.log = [log_to](const std::string& line) { log(*log_to, line); };
    return ike::service::IkeService::start_on(std::move(options), std::move(*sockets), std::move(nat), *dataplane_, *policy_,
                                              *listener_);
  }

  static void log(Endpoint& parent, const std::string& line) {
    (void)parent.notify(kLog, std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  }

  // kServices, after start: services whose address is not wanted any more stop (their SAs are
  // deleted), new ones start, and the list takes wardd's order (kSnapshot's indices).
  void follow_services() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return wanted_services_.has_value() || stopping_ || closed_; });
      if (stopping_ || closed_) return;
      const auto wanted = *std::exchange(wanted_services_, std::nullopt);
      auto is_wanted = [&](const ike::service::IkeService& s) {
        return std::any_of(wanted.begin(), wanted.end(), [&](const ServiceStart& w) { return w.local == s.options().local; });
      };
      std::vector<std::unique_ptr<ike::service::IkeService>> gone;
      for (auto it = services_.begin(); it != services_.end();) {
        if (is_wanted(**it)) {
          ++it;
        } else {
          gone.push_back(std::move(*it));
          it = services_.erase(it);
        }
      }
      for (const auto& spec : wanted) {
        const bool running = std::any_of(services_.begin(), services_.end(), [&](const auto& s) { return s->options().local == spec.local; });
        if (running) continue;
        auto started = start_service(spec);
        if (!started) {
          log(*parent_, "IKE on " + spec.local.to_string() + " did not start: " + started.error());
          continue;
        }
        services_.push_back(std::move(*started));
      }
      auto rank = [&](const std::unique_ptr<ike::service::IkeService>& s) {
        return std::find_if(wanted.begin(), wanted.end(), [&](const ServiceStart& w) { return w.local == s->options().local; }) -
               wanted.begin();
      };
      std::stable_sort(services_.begin(), services_.end(), [&](const auto& x, const auto& y) { return rank(x) < rank(y); });
      // Outside the lock: stopping deletes SAs through calls to wardd, and acquires keep coming.
      lock.unlock();
      gone.clear();
      lock.lock();
    }
  }

  ike::service::IkeService* route(const driver::Acquire& acquire) {
    for (auto& s : services_) {
      if (s->options().local == acquire.source) return s.get();
    }
    for (auto& s : services_) {
      if (s->options().local.family() == acquire.source.family()) return s.get();
    }
    return services_.empty() ? nullptr : services_.front().get();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool closed_ = false;
  SocketGroups sockets_;
  std::optional<StartNote> start_;
  std::optional<CertificateNote> arriving_;       // kCertificates since the last kCertificatesDone
  std::optional<CertificateNote> certificates_;   // the last complete set
  std::optional<RemoteDataplane> dataplane_;
  Endpoint* parent_ = nullptr;   // set with policy_, at start
  Phase1TableSlot phase1_table_;   // kPhase1Table's, for policy_ (its own lock: engines read it)
  std::optional<RemotePolicy> policy_;
  std::optional<RemoteListener> listener_;
  std::vector<std::unique_ptr<ike::service::IkeService>> services_;
  std::optional<std::vector<ServiceStart>> wanted_services_;   // kServices not yet followed
  bool stopping_ = false;
  std::thread readdresser_;   // follow_services()
};

void say(const privsep::Channel& channel, std::uint32_t type, const std::string& text) {
  Body body(sizeof(std::uint64_t), 0);   // call id 0: a notification
  body.insert(body.end(), text.begin(), text.end());
  (void)channel.send(type, body);
}

}  // namespace

int run_ike_child(const std::string& user) {
  auto channel = std::make_shared<privsep::Channel>(privsep::OwnedFd(privsep::kChildChannelFd));
  // Before any thread: capabilities and no_new_privs are per thread.
  auto identity = privsep::identity_of(user);
  if (!identity) {
    say(*channel, kReady, "error: " + identity.error());
    return 1;
  }
  if (auto entered = privsep::enter_sandbox({*identity, privsep::NetworkSockets::Inherited}); !entered) {
    say(*channel, kReady, "error: sandbox: " + entered.error());
    return 1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);   // the uid change cleared it
  if (getppid() == 1) return 1;       // wardd died before that
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ChildState state;
  Endpoint parent(
      channel, [&](Incoming& m) { return state.handle(m); },
      [&](const std::string&) {
        state.closed();
        kill(getpid(), SIGTERM);   // the main thread's sigwait ends the process
      });
  if (auto started = state.start(parent); !started) {
    say(*channel, kReady, "error: " + started.error());
    state.stop();
    return 1;
  }
  say(*channel, kReady, "ok");
  int signal = 0;
  sigwait(&stop_signals, &signal);
  state.stop();
  return 0;
}

}  // namespace ward::agent::ikeproc
