#include "ike/service/ike_service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <future>

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

// ---- the service -------------------------------------------------------------------------------

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start(IkeServiceOptions options, driver::Dataplane& dataplane,
                                                                     const PolicyLookup& policy, IkeListener& listener) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  auto socket = net::UdpSocket::bind(options.local, options.port);
  if (!socket) return unexpected("IKE: " + socket.error());
  // Best effort: without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
  (void)socket->set_receive_buffer(options.receive_buffer_bytes);
  if (auto prepared = dataplane.prepare_ike_socket(socket->native_handle(), false); !prepared) {
    return unexpected("IKE: UDP " + std::to_string(options.port) + ": " + prepared.error());
  }
  std::optional<net::UdpSocket> nat_socket;
  if (options.nat_traversal) {
    auto bound = net::UdpSocket::bind(options.local, options.nat_t_port);
    if (!bound) return unexpected("IKE: NAT-T: " + bound.error());
    (void)bound->set_receive_buffer(options.receive_buffer_bytes);
    if (auto prepared = dataplane.prepare_ike_socket(bound->native_handle(), true); !prepared) {
      return unexpected("IKE: NAT-T: UDP " + std::to_string(options.nat_t_port) + ": " + prepared.error());
    }
    nat_socket.emplace(std::move(*bound));
  }
  return start_on(std::move(options), std::move(*socket), std::move(nat_socket), dataplane, policy, listener);
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start_on(IkeServiceOptions options, net::UdpSocket socket,
                                                                        std::optional<net::UdpSocket> nat_socket,
                                                                        driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                        IkeListener& listener) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (options.nat_traversal && !nat_socket) return unexpected(std::string("IKE: NAT-T needs a socket on the NAT-T port"));
  std::unique_ptr<IkeService> service(new IkeService(std::move(options), std::move(socket), dataplane, policy, listener));
  if (nat_socket) service->engine_->set_nat_socket(std::move(*nat_socket));
  if (service->wake_fd_ < 0) return unexpected(std::string("IKE: eventfd: ") + std::strerror(errno));
  service->thread_ = std::thread([s = service.get()] { s->run(); });
  return service;
}

IkeService::IkeService(IkeServiceOptions options, net::UdpSocket socket, driver::Dataplane& dataplane,
                       const PolicyLookup& policy, IkeListener& listener)
    : options_(std::move(options)),
      engine_(std::make_unique<Engine>(options_, std::move(socket), dataplane, policy, listener)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

IkeService::~IkeService() {
  if (thread_.joinable()) {
    post([this] {
      engine_->shutdown();
      stopping_ = true;
    });
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void IkeService::post(std::function<void()> command) {
  {
    const std::lock_guard lock(commands_mutex_);
    commands_.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  // A full counter (never in practice) still leaves the descriptor readable: nothing is lost.
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void IkeService::initiate(const driver::Acquire& acquire) {
  post([this, acquire] { engine_->initiate(acquire); });
}

void IkeService::on_expiry(const driver::SaExpiry& expiry) {
  post([this, expiry] { engine_->expiry(expiry); });
}

void IkeService::retain_filters(std::vector<std::uint32_t> live) {
  post([this, live = std::move(live)] { engine_->retain(live); });
}

IkeSnapshot IkeService::snapshot() const { return engine_->snapshot(); }

void IkeService::sync() {
  std::promise<void> done;
  auto future = done.get_future();
  post([this, &done] {
    engine_->publish();
    done.set_value();
  });
  future.wait();
}

void IkeService::run() {
  while (!stopping_) {
    auto wait = kMaxPollWait;
    if (const auto due = engine_->next_due()) {
      const auto until = duration_cast<std::chrono::milliseconds>(*due - engine_->now()) + std::chrono::milliseconds(1);
      wait = std::clamp(until, std::chrono::milliseconds(0), kMaxPollWait);
    }
    // A negative fd (no NAT-T socket) is ignored by poll().
    std::array<pollfd, 3> fds{pollfd{engine_->socket_fd(), POLLIN, 0}, pollfd{wake_fd_, POLLIN, 0},
                              pollfd{engine_->nat_socket_fd(), POLLIN, 0}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      if (options_.log) options_.log(std::string("IKE: poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) engine_->receive_all();
    if (fds[2].revents & POLLIN) engine_->receive_nat_t();
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
      std::vector<std::function<void()>> commands;
      {
        const std::lock_guard lock(commands_mutex_);
        commands.swap(commands_);
      }
      for (auto& command : commands) command();
    }
    engine_->timers();
    engine_->publish();
  }
}

}  // namespace ward::ike::service
