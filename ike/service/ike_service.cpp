#include "ike/service/ike_service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <future>
#include <iterator>
#include <ostream>

#include "ike/message/ike_error.h"
#include "ike/net/reuseport.h"
#include "ike/service/engine.h"

namespace ward::ike::service {

using std::chrono::duration_cast;

std::string_view name(IkeEvent::Kind kind) noexcept {
  switch (kind) {
    case IkeEvent::Kind::MainModeEstablished: return "main mode established";
    case IkeEvent::Kind::MainModeFailed: return "main mode failed";
    case IkeEvent::Kind::QuickModeEstablished: return "quick mode established";
    case IkeEvent::Kind::QuickModeFailed: return "quick mode failed";
    case IkeEvent::Kind::SasDeleted: return "SAs deleted";
    case IkeEvent::Kind::SoftAssociation: return "fell back to clear (soft association)";
  }
  return "?";
}

std::string reason_without_peer(const IkeEvent& event) {
  std::string reason = event.reason;
  const std::string peer = event.peer.to_string();
  constexpr std::string_view kPlaceholder = "<peer>";
  for (auto at = reason.find(peer); !peer.empty() && at != std::string::npos; at = reason.find(peer, at + kPlaceholder.size())) {
    reason.replace(at, peer.size(), kPlaceholder);
  }
  return reason;
}

std::ostream& operator<<(std::ostream& out, const PolicyRefusal& refused) {
  return out << ike::refusal(refused.type, refused.reason);
}

IkeCounters& IkeCounters::operator+=(const IkeCounters& o) noexcept {
  // A counter added to IkeCounters and not here fails this (every member is a uint64_t).
  static_assert(sizeof(IkeCounters) == 50 * sizeof(std::uint64_t), "IkeCounters::operator+= misses a counter");
  datagrams_received += o.datagrams_received;
  datagrams_sent += o.datagrams_sent;
  send_errors += o.send_errors;
  malformed += o.malformed;
  unknown_sa += o.unknown_sa;
  main_mode_1_answered += o.main_mode_1_answered;
  embryonic += o.embryonic;
  embryonic_promoted += o.embryonic_promoted;
  embryonic_evicted += o.embryonic_evicted;
  embryonic_expired += o.embryonic_expired;
  embryonic_peer_limit_drops += o.embryonic_peer_limit_drops;
  embryonic_lost += o.embryonic_lost;
  half_open_limit_drops += o.half_open_limit_drops;
  half_open_peer_limit_drops += o.half_open_peer_limit_drops;
  half_open_timeouts += o.half_open_timeouts;
  ikev2_cookies_sent += o.ikev2_cookies_sent;
  ikev2_cookies_accepted += o.ikev2_cookies_accepted;
  ikev2_cookies_rejected += o.ikev2_cookies_rejected;
  ikev2_fragments_dropped += o.ikev2_fragments_dropped;
  undecryptable_main_mode_5 += o.undecryptable_main_mode_5;
  quick_mode_limit_drops += o.quick_mode_limit_drops;
  no_policy += o.no_policy;
  acquires += o.acquires;
  acquires_coalesced += o.acquires_coalesced;
  main_modes_established += o.main_modes_established;
  main_modes_failed += o.main_modes_failed;
  main_modes_expired += o.main_modes_expired;
  quick_modes_established += o.quick_modes_established;
  quick_modes_failed += o.quick_modes_failed;
  informational_bad += o.informational_bad;
  deletes_received += o.deletes_received;
  deletes_sent += o.deletes_sent;
  sas_deleted += o.sas_deleted;
  refusals_sent += o.refusals_sent;
  refusals_rate_limited += o.refusals_rate_limited;
  refusals_received += o.refusals_received;
  refusals_ignored += o.refusals_ignored;
  dpd_probes_sent += o.dpd_probes_sent;
  dpd_acks_received += o.dpd_acks_received;
  dpd_acks_unexpected += o.dpd_acks_unexpected;
  dpd_acks_sent += o.dpd_acks_sent;
  peers_dead += o.peers_dead;
  nat_t_datagrams_received += o.nat_t_datagrams_received;
  nat_keepalives_received += o.nat_keepalives_received;
  nat_keepalives_sent += o.nat_keepalives_sent;
  soft_associations += o.soft_associations;
  default_responses += o.default_responses;
  ikev2_sas_established += o.ikev2_sas_established;
  ikev2_fallbacks += o.ikev2_fallbacks;
  ikev2_refused_by_version += o.ikev2_refused_by_version;
  return *this;
}

// ---- the service -------------------------------------------------------------------------------

struct IkeService::Worker {
  IkeServiceOptions options;   // the service's, its total limits divided among the engines
  std::unique_ptr<Engine> engine;
  int wake_fd = -1;
  std::mutex commands_mutex;
  std::vector<std::function<void()>> commands;
  std::atomic<bool> stopping{false};
  std::thread thread;
};

namespace {

// An engine's share of a total limit (at least 1 of a limit that is not 0, so each engine still
// admits something).
std::size_t share(std::size_t total, std::size_t engines) {
  return total == 0 ? 0 : std::max<std::size_t>(1, (total + engines - 1) / engines);
}

IkeServiceOptions engine_options(const IkeServiceOptions& service, std::size_t engines) {
  IkeServiceOptions o = service;
  if (engines <= 1) return o;
  o.max_half_open = share(service.max_half_open, engines);
  o.ikev2_cookie_threshold = share(service.ikev2_cookie_threshold, engines);
  o.embryonic.max_entries = share(service.embryonic.max_entries, engines);
  o.embryonic.max_bytes = share(service.embryonic.max_bytes, engines);
  return o;
}

}  // namespace

Expected<ServiceSockets, std::string> bind_service_sockets(const IkeServiceOptions& options, driver::Dataplane& dataplane) {
  const std::size_t engines = std::max(1U, options.engines);
  auto group = [&](std::uint16_t port, bool nat) -> Expected<std::vector<net::UdpSocket>, std::string> {
    const std::string what = (nat ? "NAT-T: UDP " : "UDP ") + std::to_string(port);
    auto sockets = net::bind_group(options.local, port, engines);
    if (!sockets) return unexpected((nat ? "NAT-T: " : "") + sockets.error());
    for (const auto& socket : *sockets) {
      // Best effort: without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
      (void)socket.set_receive_buffer(options.receive_buffer_bytes);
      if (auto prepared = dataplane.prepare_ike_socket(socket.native_handle(), nat); !prepared) {
        return unexpected(what + ": " + prepared.error());
      }
    }
    return sockets;
  };
  ServiceSockets bound;
  auto sockets = group(options.port, false);
  if (!sockets) return unexpected(std::move(sockets.error()));
  bound.sockets = std::move(*sockets);
  if (options.nat_traversal) {
    auto nat = group(options.nat_t_port, true);
    if (!nat) return unexpected(std::move(nat.error()));
    bound.nat_sockets = std::move(*nat);
  }
  return bound;
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start(IkeServiceOptions options, driver::Dataplane& dataplane,
                                                                     const PolicyLookup& policy, IkeListener& listener) {
  auto bound = bind_service_sockets(options, dataplane);
  if (!bound) return unexpected("IKE: " + bound.error());
  return start_on(std::move(options), std::move(bound->sockets), std::move(bound->nat_sockets), dataplane, policy, listener);
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start_on(IkeServiceOptions options, net::UdpSocket socket,
                                                                        std::optional<net::UdpSocket> nat_socket,
                                                                        driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                        IkeListener& listener) {
  std::vector<net::UdpSocket> sockets, nat_sockets;
  sockets.push_back(std::move(socket));
  if (nat_socket) nat_sockets.push_back(std::move(*nat_socket));
  return start_on(std::move(options), std::move(sockets), std::move(nat_sockets), dataplane, policy, listener);
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start_on(IkeServiceOptions options, std::vector<net::UdpSocket> sockets,
                                                                        std::vector<net::UdpSocket> nat_sockets,
                                                                        driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                        IkeListener& listener) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (sockets.empty()) return unexpected(std::string("IKE: no socket"));
  if (options.nat_traversal && nat_sockets.size() != sockets.size()) {
    return unexpected(std::string("IKE: NAT-T needs a socket on the NAT-T port per engine"));
  }
  options.engines = static_cast<unsigned>(sockets.size());
  std::unique_ptr<IkeService> service(
      new IkeService(std::move(options), std::move(sockets), std::move(nat_sockets), dataplane, policy, listener));
  return start_workers(std::move(service));
}

IkeService::IkeService(IkeServiceOptions options, std::vector<net::UdpSocket> sockets, std::vector<net::UdpSocket> nat_sockets,
                       driver::Dataplane& dataplane, const PolicyLookup& policy, IkeListener& listener)
    : options_(std::move(options)) {
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    auto worker = std::make_unique<Worker>();
    worker->options = engine_options(options_, sockets.size());
    worker->engine = std::make_unique<Engine>(worker->options, std::move(sockets[i]), dataplane, policy, listener);
    if (i < nat_sockets.size()) worker->engine->set_nat_socket(std::move(nat_sockets[i]));
    worker->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    workers_.push_back(std::move(worker));
  }
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start_workers(std::unique_ptr<IkeService> service) {
  for (const auto& worker : service->workers_) {
    if (worker->wake_fd < 0) return unexpected(std::string("IKE: eventfd: ") + std::strerror(errno));
  }
  for (auto& worker : service->workers_) worker->thread = std::thread([w = worker.get()] { run(*w); });
  return service;
}

IkeService::~IkeService() {
  for (auto& worker : workers_) {
    if (!worker->thread.joinable()) continue;
    post(*worker, [w = worker.get()] {
      w->engine->shutdown();
      w->stopping = true;
    });
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
    if (worker->wake_fd >= 0) ::close(worker->wake_fd);
  }
}

void IkeService::post(Worker& worker, std::function<void()> command) {
  {
    const std::lock_guard lock(worker.commands_mutex);
    worker.commands.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  // A full counter (never in practice) still leaves the descriptor readable: nothing is lost.
  [[maybe_unused]] const auto written = ::write(worker.wake_fd, &one, sizeof one);
}

IkeService::Worker& IkeService::owner(const IpAddress& peer) { return *workers_[net::peer_engine(peer, workers_.size())]; }

void IkeService::initiate(const driver::Acquire& acquire) {
  Worker& worker = owner(acquire.peer);
  post(worker, [e = worker.engine.get(), acquire] { e->initiate(acquire); });
}

void IkeService::on_expiry(const driver::SaExpiry& expiry) {
  for (auto& worker : workers_) post(*worker, [e = worker->engine.get(), expiry] { e->expiry(expiry); });
}

void IkeService::retain_filters(std::vector<std::uint32_t> live) {
  for (auto& worker : workers_) post(*worker, [e = worker->engine.get(), live] { e->retain(live); });
}

IkeSnapshot IkeService::snapshot() const {
  if (workers_.size() == 1) return workers_.front()->engine->snapshot();
  IkeSnapshot all;
  all.engines = static_cast<unsigned>(workers_.size());
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    auto one = workers_[i]->engine->snapshot();
    for (auto& mm : one.main_modes) mm.engine = static_cast<unsigned>(i);
    std::move(one.main_modes.begin(), one.main_modes.end(), std::back_inserter(all.main_modes));
    std::move(one.quick_modes.begin(), one.quick_modes.end(), std::back_inserter(all.quick_modes));
    std::move(one.negotiating.begin(), one.negotiating.end(), std::back_inserter(all.negotiating));
    std::move(one.failures.begin(), one.failures.end(), std::back_inserter(all.failures));
    all.counters += one.counters;
    all.version += one.version;   // grows whenever one engine's lists do
  }
  std::stable_sort(all.failures.begin(), all.failures.end(), [](const auto& a, const auto& b) { return a.age > b.age; });
  if (all.failures.size() > kRecentFailuresKept) {
    all.failures.erase(all.failures.begin(), all.failures.end() - static_cast<std::ptrdiff_t>(kRecentFailuresKept));
  }
  return all;
}

void IkeService::sync() {
  std::vector<std::promise<void>> done(workers_.size());
  std::vector<std::future<void>> finished;
  for (auto& d : done) finished.push_back(d.get_future());
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    post(*workers_[i], [e = workers_[i]->engine.get(), d = &done[i]] {
      e->publish();
      d->set_value();
    });
  }
  for (auto& f : finished) f.wait();
}

void IkeService::run(Worker& worker) {
  Engine& engine = *worker.engine;
  while (!worker.stopping) {
    auto wait = kMaxPollWait;
    if (const auto due = engine.next_due()) {
      const auto until = duration_cast<std::chrono::milliseconds>(*due - engine.now()) + std::chrono::milliseconds(1);
      wait = std::clamp(until, std::chrono::milliseconds(0), kMaxPollWait);
    }
    // A negative fd (no NAT-T socket) is ignored by poll().
    std::array<pollfd, 3> fds{pollfd{engine.socket_fd(), POLLIN, 0}, pollfd{worker.wake_fd, POLLIN, 0},
                              pollfd{engine.nat_socket_fd(), POLLIN, 0}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      if (worker.options.log) worker.options.log(std::string("IKE: poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) engine.receive_all();
    if (fds[2].revents & POLLIN) engine.receive_nat_t();
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto got = ::read(worker.wake_fd, &count, sizeof count);
      std::vector<std::function<void()>> commands;
      {
        const std::lock_guard lock(worker.commands_mutex);
        commands.swap(worker.commands);
      }
      for (auto& command : commands) command();
    }
    engine.timers();
    engine.publish();
  }
}

}  // namespace ward::ike::service
