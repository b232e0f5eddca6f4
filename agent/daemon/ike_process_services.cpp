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

static_assert(config::kMaxIkeEngines <= ikeproc::kMaxSocketGroup, "kSocket carries a group of up to [ike] engines sockets");

std::optional<IkeProcess::Service> IkeProcess::bind_service(const IpAddress& address) {
  // As IkeService::start does in wardd: a group of [ike] engines sockets on each port, whose BPF
  // program sends a peer's datagrams to the socket of the engine owning it (ike/net/reuseport.h);
  // the dataplane never catches IKE's own datagrams (xfrm: per-socket bypass policies, and the
  // kernel decapsulates ESP in UDP arriving on the NAT-T sockets), and nfqueue sends ESP in UDP
  // from a NAT-T socket, whole superpackets per UDP_SEGMENT send. All of it belongs to the
  // socket, not the descriptor: the child's descriptors of these sockets (SCM_RIGHTS) see the
  // same, and it cannot undo the policies (IP_XFRM_POLICY needs CAP_NET_ADMIN) nor the program.
  ike::service::IkeServiceOptions options;
  options.local = address;
  options.port = ike::net::kIsakmpPort;
  options.nat_traversal = true;
  options.nat_t_port = ike::sa::kNatTraversalPort;
  options.engines = config::ike_engines(settings_);
  auto bound = ike::service::bind_service_sockets(options, *dataplane_);
  if (!bound) {
    log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", bound.error()}});
    return std::nullopt;
  }
  log_.info("ike-started", {{"address", address.to_string()},
                            {"port", std::to_string(ike::net::kIsakmpPort)},
                            {"process", "ike"},
                            {"engines", std::to_string(bound->sockets.size())}});
  return Service{address, std::move(*bound)};
}

// Each socket in a message of its own, with its place in its group; the child starts the service
// once every group it names is whole.
Expected<void, std::string> IkeProcess::send_sockets(privsep::Endpoint& child, const Service& service) {
  const std::pair<const std::vector<ike::net::UdpSocket>*, std::uint16_t> groups[] = {
      {&service.sockets.sockets, ike::net::kIsakmpPort}, {&service.sockets.nat_sockets, ike::sa::kNatTraversalPort}};
  for (const auto& [group, port] : groups) {
    const auto engines = static_cast<std::uint32_t>(group->size());
    for (std::uint32_t engine = 0; engine < engines; ++engine) {
      const ikeproc::SocketNote note{service.local, port, {engine}, {engines}};
      if (auto sent = child.notify(ikeproc::kSocket, ikeproc::encode(note), (*group)[engine].native_handle()); !sent) {
        return unexpected(service.local.to_string() + ": " + sent.error());
      }
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
