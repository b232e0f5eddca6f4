// IkeProcess's services: the UDP 500 / 4500 sockets wardd binds on each of the host's addresses
// for its IKE process, and how the set follows the host's addresses (readdress): an address that
// appears gets its sockets and a service in the running child (kSocket, kServices); one that goes
// away loses its service, whose SAs the child deletes.
#include <algorithm>

#include "agent/daemon/ike_process.h"
#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire.h"

namespace ward::agent::daemon {

void IkeProcess::start(const std::vector<IpAddress>& addresses, driver::Dataplane& dataplane) {
  dataplane_ = &dataplane;
  recorder_.attach_ike(IkeHooks{[this](const driver::Acquire& a) {
                                  note_acquired(a.peer);
                                  if (auto ep = endpoint()) (void)ep->notify(ikeproc::kAcquire, ikeproc::encode(a));
                                },
                                [this](const driver::SaExpiry& x) {
                                  note_acquired(x.peer);
                                  if (auto ep = endpoint()) (void)ep->notify(ikeproc::kExpiry, ikeproc::encode(x));
                                }});
  readdress(addresses);
}

void IkeProcess::readdress(const std::vector<IpAddress>& addresses) {
  if (dataplane_ == nullptr) return;
  const auto wanted = ike_addresses(addresses, log_);
  std::vector<Service> gone;
  bool any = false;
  {
    const std::lock_guard services_lock(services_mutex_);
    for (auto it = services_.begin(); it != services_.end();) {
      if (std::find(wanted.begin(), wanted.end(), it->local) != wanted.end()) {
        ++it;
        continue;
      }
      log_.info("ike-stopped", {{"address", it->local.to_string()}, {"why", "the address is gone from the host"}});
      gone.push_back(std::move(*it));
      it = services_.erase(it);
    }
    std::vector<IpAddress> fresh;
    for (const auto& address : wanted) {
      if (std::any_of(services_.begin(), services_.end(), [&](const Service& s) { return s.local == address; })) continue;
      auto bound = bind_service(address);
      if (!bound) continue;
      services_.push_back(std::move(*bound));
      fresh.push_back(address);
    }
    any = !services_.empty();
    // A running child follows: the new sockets, then the whole list. Without one (starting, or
    // restarting after an exit) started() sends the list as it is then.
    if (auto ep = endpoint(); ep && (!gone.empty() || !fresh.empty())) {
      ikeproc::ServicesNote note;
      for (const auto& s : services_) {
        if (std::find(fresh.begin(), fresh.end(), s.local) != fresh.end()) {
          if (auto sent = send_sockets(*ep, s); !sent) log_.warning("ike-readdress", {{"why", sent.error()}});
        }
        note.services.push_back(service_start(s));
      }
      if (auto sent = ep->notify(ikeproc::kServices, ikeproc::encode(note)); !sent) log_.warning("ike-readdress", {{"why", sent.error()}});
    }
  }
  if (supervisor_ || !any) return;
  privsep::ChildSpec spec;
  spec.name = "ike";
  spec.argv = {program_, "--privsep-child", "ike", "--user", user_};
  auto supervisor = privsep::Supervisor::start(
      spec, [this](pid_t pid, std::shared_ptr<privsep::Channel> channel) { started(pid, std::move(channel)); },
      [this](pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) { exited(pid, how, restart_in); });
  if (!supervisor) {
    log_.error("ike-process-failed", {{"why", supervisor.error()}});
    const std::lock_guard services_lock(services_mutex_);
    services_.clear();
    return;
  }
  supervisor_ = std::move(*supervisor);
}

std::optional<IkeProcess::Service> IkeProcess::bind_service(const IpAddress& address) {
  auto socket = ike::net::UdpSocket::bind(address, ike::net::kIsakmpPort);
  if (!socket) {
    log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", socket.error()}});
    return std::nullopt;
  }
  constexpr int kReceiveBuffer = 4 * 1024 * 1024;   // as IkeServiceOptions::receive_buffer_bytes
  (void)socket->set_receive_buffer(kReceiveBuffer);
  auto nat = ike::net::UdpSocket::bind(address, ike::sa::kNatTraversalPort);
  if (!nat) {
    log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", "NAT-T: " + nat.error()}});
    return std::nullopt;
  }
  (void)nat->set_receive_buffer(kReceiveBuffer);
  // As IkeService::start does in wardd: the dataplane never catches IKE's own datagrams (xfrm:
  // per-socket bypass policies, and the kernel decapsulates ESP in UDP arriving on the NAT-T
  // socket), and nfqueue sends ESP in UDP from the NAT-T socket, whole superpackets per
  // UDP_SEGMENT send. Both are properties of the socket, not the descriptor: the child's
  // descriptors of these sockets (SCM_RIGHTS) see the same, and it cannot undo the policies
  // (IP_XFRM_POLICY needs CAP_NET_ADMIN).
  if (auto done = dataplane_->prepare_ike_socket(socket->native_handle(), false); !done) {
    log_.warning("ike-start-failed",
                 {{"address", address.to_string()}, {"why", "UDP " + std::to_string(ike::net::kIsakmpPort) + ": " + done.error()}});
    return std::nullopt;
  }
  if (auto done = dataplane_->prepare_ike_socket(nat->native_handle(), true); !done) {
    log_.warning("ike-start-failed", {{"address", address.to_string()},
                                      {"why", "NAT-T: UDP " + std::to_string(ike::sa::kNatTraversalPort) + ": " + done.error()}});
    return std::nullopt;
  }
  log_.info("ike-started", {{"address", address.to_string()}, {"port", std::to_string(ike::net::kIsakmpPort)}, {"process", "ike"}});
  return Service{address, std::move(*socket), std::move(*nat)};
}

Expected<void, std::string> IkeProcess::send_sockets(privsep::Endpoint& child, const Service& service) {
  for (const auto* socket : {&service.socket, &*service.nat_socket}) {
    const ikeproc::SocketNote note{service.local, socket == &service.socket ? ike::net::kIsakmpPort : ike::sa::kNatTraversalPort};
    if (auto sent = child.notify(ikeproc::kSocket, ikeproc::encode(note), socket->native_handle()); !sent) {
      return unexpected(service.local.to_string() + ": " + sent.error());
    }
  }
  return {};
}

// NAT-T (RFC 3947/3948) as the in-process IKE.
ikeproc::ServiceStart IkeProcess::service_start(const Service& service) {
  return {service.local,
          ike::net::kIsakmpPort,
          true,
          ike::sa::kNatTraversalPort,
          kIkeRetransmit.first_interval,
          kIkeRetransmit.factor,
          kIkeRetransmit.max_sends};
}

}  // namespace ward::agent::daemon
