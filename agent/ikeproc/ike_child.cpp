#include "agent/ikeproc/ike_child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"
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
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    Encoder e;
    encode(e, sa);
    if (auto r = parent_.call(kAddSa, e.body()); !r) return unexpected(std::move(r.error()));
    return {};
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    Encoder e;
    e.u32(spi);
    e.enumeration(direction);
    if (auto r = parent_.call(kDeleteSa, e.body()); !r) return unexpected(std::move(r.error()));
    return {};
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    Encoder e;
    encode(e, association);
    if (auto r = parent_.call(kAddSoftAssociation, e.body()); !r) return unexpected(std::move(r.error()));
    return {};
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    Encoder e;
    e.u32(filter_id);
    encode(e, peer);
    if (auto r = parent_.call(kDeleteSoftAssociation, e.body()); !r) return unexpected(std::move(r.error()));
    return {};
  }
  driver::DataplaneCounters counters() const override {
    auto r = parent_.call(kCounters, {});
    if (!r) return {};
    auto c = decode_counters(*r);
    return c ? std::move(*c) : driver::DataplaneCounters{};
  }

 private:
  Endpoint& parent_;
  driver::Capabilities capabilities_;
};

// The policy is the parent's too; preshared keys come as handles, SKEYID from the parent.
class RemotePolicy final : public ike::service::PolicyLookup {
 public:
  explicit RemotePolicy(Endpoint& parent) : parent_(parent) {}

  Expected<ike::service::Phase1Policy, std::string> phase1_for(const IpAddress& local, const IpAddress& peer,
                                                               std::optional<std::uint32_t> filter_id) const override {
    Encoder e;
    encode(e, local);
    encode(e, peer);
    e.boolean(filter_id.has_value());
    e.u32(filter_id.value_or(0));
    auto r = parent_.call(kPhase1For, e.body());
    if (!r) return unexpected(std::move(r.error()));
    auto remote = decode_phase1_policy(*r);
    if (!remote) return unexpected(std::move(remote.error()));
    ike::service::Phase1Policy policy;
    policy.proposals = std::move(remote->proposals);
    policy.allow_legacy = remote->allow_legacy;
    policy.quick_mode_limit = remote->quick_mode_limit;
    for (const auto& auth : remote->auth) {
      if (auth.method != IkeAuthenticationMethod::PreSharedKey) continue;   // the parent sends no others
      policy.auth.push_back(preshared_key(auth.handle));
    }
    if (policy.auth.empty()) return unexpected(std::string("no authentication method the IKE process can use"));
    return policy;
  }

  Expected<ike::service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& acquire) const override {
    Encoder e;
    encode(e, acquire);
    auto r = parent_.call(kQuickModeForAcquire, e.body());
    if (!r) return unexpected(std::move(r.error()));
    return decode_quick_mode_policy(*r);
  }

  Expected<ike::service::QuickModePolicy, std::string> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                           const ike::sa::TrafficSelector& peer_side,
                                                                           const ike::sa::TrafficSelector& our_side) const override {
    Encoder e;
    encode(e, local);
    encode(e, peer);
    encode(e, peer_side);
    encode(e, our_side);
    auto r = parent_.call(kQuickModeForPeer, e.body());
    if (!r) return unexpected(std::move(r.error()));
    return decode_quick_mode_policy(*r);
  }

 private:
  std::shared_ptr<const ike::auth::AuthProvider> preshared_key(std::uint32_t handle) const {
    const std::lock_guard lock(mutex_);
    auto& provider = providers_[handle];
    if (!provider) {
      Endpoint* parent = &parent_;
      provider = std::make_shared<ike::auth::PresharedKeyProvider>(
          [parent, handle](IkeHashAlgorithm hash, ike::crypto::Bytes ni_b,
                           ike::crypto::Bytes nr_b) -> Expected<driver::crypto::SecureBytes, std::string> {
            Encoder e;
            e.u32(handle);
            e.enumeration(hash);
            e.bytes(ni_b);
            e.bytes(nr_b);
            auto r = parent->call(kSkeyid, e.body());
            if (!r) return unexpected(std::move(r.error()));
            driver::crypto::SecureBytes skeyid(std::as_bytes(std::span(r->data(), r->size())));
            std::fill(r->begin(), r->end(), 0);
            return skeyid;
          });
    }
    return provider;
  }

  Endpoint& parent_;
  mutable std::mutex mutex_;
  mutable std::map<std::uint32_t, std::shared_ptr<const ike::auth::AuthProvider>> providers_;
};

class RemoteListener final : public ike::service::IkeListener {
 public:
  explicit RemoteListener(Endpoint& parent) : parent_(parent) {}
  void on_ike_event(const ike::service::IkeEvent& event) override {
    Encoder e;
    encode(e, event);
    (void)parent_.notify(kEvent, e.body());
  }

 private:
  Endpoint& parent_;
};

struct ServiceSpec {
  IpAddress local;
  std::uint16_t port = 0;
  bool nat_traversal = false;
  std::uint16_t nat_t_port = 0;
  ike::sa::RetransmitPolicy retransmit;
};

// What the parent sent and the services made of it; shared by the endpoint's thread and main.
class ChildState {
 public:
  Expected<Body, std::string> handle(Incoming& m) {
    switch (m.type) {
      case kSocket: {
        Decoder d(m.body, "socket");
        const auto address = decode_address(d, "address");
        const auto port = d.u16("port");
        if (auto done = d.finish(0); !done) return unexpected(done.error());
        if (!m.fd) return unexpected(std::string("a socket message without its socket"));
        const std::lock_guard lock(mutex_);
        sockets_[{address.to_string(), port}] = std::move(m.fd);
        return Body{};
      }
      case kStart: {
        Decoder d(m.body, "start");
        driver::Capabilities caps;
        caps.userspace_crypto = d.boolean("userspace crypto");
        caps.kernel_sas = d.boolean("kernel sas");
        caps.atomic_table_swap = d.boolean("atomic table swap");
        caps.holds_packets = d.boolean("holds packets");
        const auto fallback_delay = std::chrono::milliseconds(d.u64("fallback delay"));
        const auto soft_lifetime = std::chrono::seconds(static_cast<std::int64_t>(d.u64("soft association lifetime")));
        ike::service::DpdPolicy dpd;
        dpd.idle = std::chrono::milliseconds(d.u64("dpd idle"));
        dpd.retry = std::chrono::milliseconds(d.u64("dpd retry"));
        dpd.max_probes = d.u32("dpd probes");
        std::vector<ServiceSpec> specs(d.count("services", 20));
        for (auto& s : specs) {
          s.local = decode_address(d, "local");
          s.port = d.u16("port");
          s.nat_traversal = d.boolean("nat traversal");
          s.nat_t_port = d.u16("nat-t port");
          s.retransmit.first_interval = std::chrono::milliseconds(d.u32("first interval"));
          s.retransmit.factor = d.u32("factor");
          s.retransmit.max_sends = d.u32("max sends");
        }
        if (auto done = d.finish(0); !done) return unexpected(done.error());
        const std::lock_guard lock(mutex_);
        capabilities_ = caps;
        fallback_delay_ = fallback_delay;
        soft_association_lifetime_ = soft_lifetime;
        dpd_ = dpd;
        specs_ = std::move(specs);
        changed_.notify_all();
        return Body{};
      }
      case kAcquire: {
        auto acquire = decode_acquire(m.body);
        if (!acquire) return unexpected(acquire.error());
        const std::lock_guard lock(mutex_);
        if (auto* s = route(*acquire)) s->initiate(*acquire);
        return Body{};
      }
      case kExpiry: {
        auto expiry = decode_expiry(m.body);
        if (!expiry) return unexpected(expiry.error());
        const std::lock_guard lock(mutex_);
        for (auto& s : services_) s->on_expiry(*expiry);
        return Body{};
      }
      case kRetainFilters: {
        Decoder d(m.body, "retain filters");
        std::vector<std::uint32_t> live(d.count("filters", 4));
        for (auto& id : live) id = d.u32("filter id");
        if (auto done = d.finish(0); !done) return unexpected(done.error());
        const std::lock_guard lock(mutex_);
        for (auto& s : services_) s->retain_filters(live);
        return Body{};
      }
      case kSnapshot: {
        Decoder d(m.body, "snapshot");
        const auto index = d.u32("service");
        if (auto done = d.finish(0); !done) return unexpected(done.error());
        const std::lock_guard lock(mutex_);
        if (index >= services_.size()) return unexpected("no IKE service " + std::to_string(index));
        Encoder e;
        encode(e, services_[index]->snapshot());
        return e.take();
      }
      default:
        return unexpected("the IKE process does not know message type " + std::to_string(m.type));
    }
  }

  // Waits for kStart, then starts one service per spec on the sockets the parent sent.
  Expected<void, std::string> start(Endpoint& parent) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, kStartTimeout, [&] { return specs_.has_value() || closed_; })) {
      return unexpected(std::string("no start message from wardd"));
    }
    if (closed_) return unexpected(std::string("wardd closed the channel"));
    dataplane_.emplace(parent, capabilities_);
    policy_.emplace(parent);
    listener_.emplace(parent);
    for (const auto& spec : *specs_) {
      auto socket = take_socket(spec.local, spec.port);
      if (!socket) return unexpected("no socket for " + spec.local.to_string() + ":" + std::to_string(spec.port));
      std::optional<ike::net::UdpSocket> nat;
      if (spec.nat_traversal) {
        nat = take_socket(spec.local, spec.nat_t_port);
        if (!nat) return unexpected("no socket for " + spec.local.to_string() + ":" + std::to_string(spec.nat_t_port));
      }
      ike::service::IkeServiceOptions options;
      options.local = spec.local;
      options.port = spec.port;
      options.nat_traversal = spec.nat_traversal;
      options.nat_t_port = spec.nat_t_port;
      options.retransmit = spec.retransmit;
      options.fallback_delay = fallback_delay_;
      options.soft_association_lifetime = soft_association_lifetime_;
      options.dpd = dpd_;
      Endpoint* log_to = &parent;
      options.log = [log_to](const std::string& line) {
        (void)log_to->notify(kLog, std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
      };
      auto started = ike::service::IkeService::start_on(std::move(options), std::move(*socket), std::move(nat), *dataplane_,
                                                        *policy_, *listener_);
      if (!started) return unexpected(std::move(started.error()));
      services_.push_back(std::move(*started));
    }
    return {};
  }

  void closed() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  // Deletes every SA (peers are told, the parent asked to remove them) and stops the threads.
  void stop() {
    std::vector<std::unique_ptr<ike::service::IkeService>> services;
    {
      const std::lock_guard lock(mutex_);
      services.swap(services_);
    }
    services.clear();
  }

 private:
  std::optional<ike::net::UdpSocket> take_socket(const IpAddress& address, std::uint16_t port) {
    const auto found = sockets_.find({address.to_string(), port});
    if (found == sockets_.end()) return std::nullopt;
    auto socket = ike::net::UdpSocket::adopt(ike::net::UniqueFd(found->second.release()));
    sockets_.erase(found);
    return socket;
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
  std::map<std::pair<std::string, std::uint16_t>, privsep::OwnedFd> sockets_;
  std::optional<std::vector<ServiceSpec>> specs_;
  driver::Capabilities capabilities_;
  std::chrono::milliseconds fallback_delay_{ike::service::kFallbackToClearDelay};
  std::chrono::seconds soft_association_lifetime_{ike::service::kSoftAssociationLifetime};
  ike::service::DpdPolicy dpd_;
  std::optional<RemoteDataplane> dataplane_;
  std::optional<RemotePolicy> policy_;
  std::optional<RemoteListener> listener_;
  std::vector<std::unique_ptr<ike::service::IkeService>> services_;
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
