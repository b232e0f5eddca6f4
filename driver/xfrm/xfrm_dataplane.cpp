#include "driver/xfrm/xfrm_dataplane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <sstream>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "driver/xfrm/kernel_sa_params.h"
#include "driver/xfrm/xfrm_acquire.h"
#include "driver/xfrm/xfrm_sad.h"
#include "driver/xfrm/spd_view.h"

namespace ward::driver {

namespace {

using namespace std::chrono_literals;

constexpr auto kEventWait = 100ms;
constexpr auto kSoftAssociationCheck = 1s;
constexpr std::uint32_t kMaxKernelReplayWindow = 255;  // xfrm_usersa_info.replay_window is a __u8
constexpr std::uint16_t kDiscardPort = 9;              // any port will do: connect() sends nothing
constexpr std::size_t kXfrmStatBufferSize = 8192;
constexpr int kEspInUdp = 2;                           // UDP_ENCAP_ESPINUDP, RFC 3948
constexpr std::uint32_t kFirstAllocatedSpi = 0x100;    // 1-255: reserved by IANA (RFC 4303 2.1)

unsigned group_bit(unsigned group) { return 1U << (group - 1); }

std::uint8_t kernel_protocol(crypto::SecurityProtocol protocol) {
  return protocol == crypto::SecurityProtocol::Ah ? xfrm::kAhProtocol : xfrm::kEspProtocol;
}

}  // namespace

XfrmDataplane::XfrmDataplane(DataplaneListener& listener, XfrmOptions options) : listener_(listener), options_(std::move(options)) {}

Expected<std::unique_ptr<XfrmDataplane>, std::string> XfrmDataplane::start(DataplaneListener& listener, XfrmOptions options) {
  std::unique_ptr<XfrmDataplane> dataplane(new XfrmDataplane(listener, std::move(options)));
  auto requests = xfrm::XfrmSocket::open();
  if (!requests) return unexpected("xfrm: " + requests.error());
  dataplane->requests_ = std::move(*requests);
  dataplane->spd_ = std::make_unique<xfrm::Spd>(*dataplane->requests_, dataplane->options_.spd);
  auto events = xfrm::XfrmSocket::open(group_bit(XFRMNLGRP_ACQUIRE) | group_bit(XFRMNLGRP_EXPIRE));
  if (!events) return unexpected("xfrm: acquire/expire listener: " + events.error());
  dataplane->events_ = std::move(*events);
  dataplane->route_socket_v4_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  dataplane->route_socket_v6_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // -1 without IPv6: v6 transport SAs then fail
  dataplane->xfrm_stat_fd_ = open("/proc/thread-self/net/xfrm_stat", O_RDONLY | O_CLOEXEC);  // -1: kernel without XFRM statistics
  // Policies left in Ward's priorities by a crashed predecessor.
  if (auto stale = dataplane->spd_->remove_all(); !stale) return unexpected("xfrm: removing stale Ward policies: " + stale.error());
  // The kernel filter table, installed empty (everything passes, as with no table) to learn whether
  // this kernel has it; a predecessor's table is replaced.
  dataplane->filter_placement_ = "XFRM policies (configured)";
  if (dataplane->options_.kernel_table) {
    auto kernel = KernelTable::open(dataplane->options_.kernel);
    Expected<KernelTableFigures, std::string> empty = unexpected(std::string());
    if (kernel) empty = (*kernel)->install(FilterTable{}, {});
    if (kernel && empty) {
      dataplane->kernel_ = std::move(*kernel);
      dataplane->filter_placement_ = "nftables table inet " + dataplane->options_.kernel.table;
    } else {
      dataplane->filter_placement_ = "XFRM policies (no nftables table: " + (kernel ? empty.error() : kernel.error()) + ")";
    }
  }
  dataplane->event_thread_ = std::thread([d = dataplane.get()] { d->serve_events(); });
  return dataplane;
}

XfrmDataplane::~XfrmDataplane() {
  stopping_ = true;
  if (event_thread_.joinable()) event_thread_.join();
  if (requests_) (void)remove_all();
  if (kernel_) (void)kernel_->remove();
  for (const int fd : {route_socket_v4_, route_socket_v6_, xfrm_stat_fd_}) {
    if (fd >= 0) close(fd);
  }
}

Capabilities XfrmDataplane::capabilities() const {
  return Capabilities{.userspace_crypto = false, .kernel_sas = !kernel_refused_esp_, .atomic_table_swap = true, .holds_packets = false};
}

FilterTable XfrmDataplane::spd_table(const FilterTable& table) const {
  return kernel_ ? xfrm::spd_view(table, every_bypass_) : table;
}

Expected<void, std::string> XfrmDataplane::install_filter_table(FilterTable table) {
  std::lock_guard lock(mutex_);
  if (kernel_) {
    if (auto committed = kernel_->install(table, {}); !committed) return unexpected("xfrm: the kernel filter table: " + committed.error());
  }
  auto installed = spd_->install_table(spd_table(table));
  if (!installed) {
    // Both back to the table in force: the SPD (a partial install leaves a mixture) and nftables.
    if (auto restored = spd_->install_table(spd_table(table_)); !restored) {
      return unexpected("xfrm: " + installed.error() + "; restoring the previous XFRM policies failed too: " + restored.error());
    }
    if (kernel_) {
      if (auto restored = kernel_->install(table_, {}); !restored) {
        return unexpected("xfrm: " + installed.error() + "; restoring the previous kernel filter table failed too: " + restored.error());
      }
    }
    return unexpected("xfrm: " + installed.error());
  }
  table_ = std::move(table);
  // Soft associations of filters that are no longer negotiate filters went with the old table.
  std::erase_if(soft_, [&](const auto& entry) { return spd_->negotiate_filter(entry.first.first) == nullptr; });
  return {};
}

Expected<IpAddress, std::string> XfrmDataplane::local_address_towards(const IpAddress& peer) const {
  const bool v4 = peer.family() == IpFamily::V4;
  const int fd = v4 ? route_socket_v4_ : route_socket_v6_;
  if (fd < 0) return unexpected(std::string("no ") + (v4 ? "IPv4" : "IPv6") + " socket to find the local address towards " + peer.to_string());
  sockaddr_storage remote{};
  socklen_t length = 0;
  if (v4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&remote);
    in->sin_family = AF_INET;
    in->sin_port = htons(kDiscardPort);
    std::memcpy(&in->sin_addr, peer.bytes().data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&remote);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(kDiscardPort);
    std::memcpy(&in6->sin6_addr, peer.bytes().data(), 16);
    length = sizeof(sockaddr_in6);
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&remote), length) != 0) {
    return unexpected("no route to " + peer.to_string() + ": " + std::strerror(errno));
  }
  sockaddr_storage local{};
  socklen_t local_length = sizeof local;
  const int named = getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length);
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  (void)connect(fd, &unspecified, sizeof unspecified);  // dissolve the association for the next lookup
  if (named != 0) return unexpected("getsockname: " + std::string(std::strerror(errno)));
  if (v4) {
    std::uint32_t network_order = 0;
    std::memcpy(&network_order, &reinterpret_cast<const sockaddr_in*>(&local)->sin_addr, 4);
    return IpAddress::v4(ntohl(network_order));
  }
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&local)->sin6_addr, 16);
  return IpAddress::v6(bytes);
}

Expected<void, std::string> XfrmDataplane::add_sa(SaInstall sa) {
  const auto& params = sa.params;
  const std::string name = crypto::describe_sa(params) + (sa.bundled_ah ? " bundled with AH" : "");
  if (params.extended_sequence_numbers) {
    return unexpected("xfrm: " + name + ": extended sequence numbers are not supported by the xfrm backend");
  }
  if (params.replay_window > kMaxKernelReplayWindow) {
    return unexpected("xfrm: " + name + ": replay window " + std::to_string(params.replay_window) + " exceeds the " +
                      std::to_string(kMaxKernelReplayWindow) + " the xfrm backend can program");
  }
  if (params.mode == crypto::Mode::Tunnel && !params.tunnel) return unexpected("xfrm: " + name + ": tunnel mode without tunnel endpoints");
  if (sa.bundled_ah && (params.protocol != crypto::SecurityProtocol::Esp || sa.bundled_ah->protocol != crypto::SecurityProtocol::Ah ||
                        params.mode != crypto::Mode::Transport || sa.bundled_ah->mode != crypto::Mode::Transport ||
                        params.udp_encapsulation || sa.bundled_ah->direction != params.direction)) {
    return unexpected("xfrm: " + name + ": an AH+ESP bundle is an ESP SA and an AH SA of one direction, both in transport mode, not "
                      "UDP-encapsulated");
  }
  const bool outbound = params.direction == crypto::Direction::Outbound;

  std::lock_guard lock(mutex_);
  // The kernel states: ESP or AH alone, or ESP and the bundle's AH with the same addresses.
  std::vector<xfrm::KernelSa> states(sa.bundled_ah ? 2 : 1);
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& state_params = i == 0 ? params : *sa.bundled_ah;
    auto& kernel = states[i];
    if (state_params.tunnel) {
      const auto local = xfrm::from_crypto(state_params.tunnel->local);
      const auto remote = xfrm::from_crypto(state_params.tunnel->remote);
      kernel.source = outbound ? local : remote;
      kernel.destination = outbound ? remote : local;
    } else {
      auto local = local_address_towards(sa.peer);
      if (!local) return unexpected("xfrm: " + name + ": " + local.error());
      kernel.source = outbound ? *local : sa.peer;
      kernel.destination = outbound ? sa.peer : *local;
    }
    kernel.protocol = kernel_protocol(state_params.protocol);
    kernel.spi = state_params.spi;
    kernel.reqid = sa.filter_id;
    kernel.tunnel = state_params.mode == crypto::Mode::Tunnel;
    kernel.replay_window = static_cast<std::uint8_t>(outbound ? 0 : state_params.replay_window);
    kernel.soft_bytes = sa.lifetime.soft_bytes;
    kernel.hard_bytes = sa.lifetime.hard_bytes;
    kernel.soft_seconds = static_cast<std::uint64_t>(sa.lifetime.soft_time.count());
    kernel.hard_seconds = static_cast<std::uint64_t>(sa.lifetime.hard_time.count());
    if (state_params.udp_encapsulation) {
      const auto& udp = *state_params.udp_encapsulation;
      kernel.encap_source_port = outbound ? udp.local_port : udp.remote_port;
      kernel.encap_destination_port = outbound ? udp.remote_port : udp.local_port;
    }
    if (auto filled = xfrm::fill_keys(state_params, kernel.keys); !filled) return unexpected("xfrm: " + filled.error());
    if (const auto allocated = allocated_.find({kernel.spi, kernel.protocol}); !outbound && allocated != allocated_.end()) {
      if (!(allocated->second.peer == sa.peer)) {
        return unexpected("xfrm: " + name + ": inbound SPI " + std::to_string(kernel.spi) + " is reserved for a negotiation with " +
                          allocated->second.peer.to_string() + "; refused for " + sa.peer.to_string() +
                          " (inbound SPIs must be unique on this host)");
      }
      kernel.update = allocated->second.local == kernel.destination;  // the larval state allocate_spi made becomes the SA
    }
  }

  InstalledSa record;
  record.destination = states[0].destination;
  record.filter_id = sa.filter_id;
  record.peer = sa.peer;
  record.dynamic = sa.dynamic;
  record.protocol = params.protocol;
  record.ah_spi = sa.bundled_ah ? sa.bundled_ah->spi : 0;
  record.protection.esp = params.protocol == crypto::SecurityProtocol::Esp;
  record.protection.ah = params.protocol == crypto::SecurityProtocol::Ah || sa.bundled_ah.has_value();
  if (params.tunnel) record.protection.tunnel_endpoint = xfrm::from_crypto(params.tunnel->remote);

  // A dynamic filter's states name the dynamic filter in their reqid, as its policies' templates do.
  if (sa.dynamic) {
    auto found = dynamic_.find(*sa.dynamic);
    if (found == dynamic_.end() && kernel_ && !every_bypass_) {
      // Dynamic filters sit below every table policy in the SPD: from now on every permit and
      // block filter keeps the kernel from protecting its traffic with one.
      every_bypass_ = true;
      if (auto moved = spd_->install_table(spd_table(table_)); !moved) {
        every_bypass_ = false;
        return unexpected("xfrm: " + name + ": allow policies for the table's permit and block filters: " + moved.error());
      }
    }
    if (found == dynamic_.end()) {
      std::set<std::uint32_t> used;
      for (const auto& [s, policy] : dynamic_) used.insert(policy.slot);
      std::uint32_t slot = 0;
      while (used.contains(slot)) ++slot;
      DynamicPolicy policy;
      policy.filter.id = next_dynamic_id_;
      policy.filter.source = IpPrefix::host(sa.dynamic->local);
      policy.filter.destination = IpPrefix::host(sa.dynamic->remote);
      policy.filter.protocol = sa.dynamic->protocol;
      policy.filter.source_ports = sa.dynamic->local_port ? PortRange::single(sa.dynamic->local_port) : PortRange::any();
      policy.filter.destination_ports = sa.dynamic->remote_port ? PortRange::single(sa.dynamic->remote_port) : PortRange::any();
      policy.filter.action = FilterAction::Negotiate;
      policy.origin_filter_id = sa.filter_id;
      policy.slot = slot;
      next_dynamic_id_ = next_dynamic_id_ == UINT32_MAX ? kFirstDynamicFilterId : next_dynamic_id_ + 1;
      found = dynamic_.emplace(*sa.dynamic, std::move(policy)).first;
    }
    for (auto& state : states) state.reqid = found->second.filter.id;
  }

  const SaKey key{params.spi, params.direction, sa.peer};
  if (!outbound) {
    // An inbound SPI names one SA on this host: the kernel finds inbound states by SPI and protocol.
    for (const auto& [other, installed] : sas_) {
      if (other.direction == params.direction && other.spi == params.spi && other.peer != sa.peer) {
        if (sa.dynamic) (void)refresh_dynamic(*sa.dynamic);
        return unexpected("xfrm: inbound SPI " + std::to_string(params.spi) + " is already the SA from " + other.peer.to_string() +
                          "'s; refused for " + sa.peer.to_string() + " (inbound SPIs must be unique on this host)");
      }
    }
  }
  if (auto existing = sas_.find(key); existing != sas_.end()) {  // replace: the kernel refuses a duplicate NEWSA
    (void)xfrm::delete_sa(*requests_, existing->second.destination, params.spi, kernel_protocol(existing->second.protocol));
    if (existing->second.ah_spi != 0) (void)xfrm::delete_sa(*requests_, existing->second.destination, existing->second.ah_spi, xfrm::kAhProtocol);
    forget_sa(existing);
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (auto added = xfrm::add_sa(*requests_, states[i]); !added) {
      if (i > 0) (void)xfrm::delete_sa(*requests_, states[0].destination, states[0].spi, states[0].protocol);
      if (sa.dynamic) (void)refresh_dynamic(*sa.dynamic);  // the filter goes if this SA was to be its first
      const auto& state_params = i == 0 ? params : *sa.bundled_ah;
      if (xfrm::kernel_lacks_esp(added.error())) {
        kernel_refused_esp_ = true;
        return unexpected(xfrm::missing_support_message(state_params, states[i].keys, added.error()));
      }
      return unexpected("xfrm: the kernel refused " + crypto::describe_sa(state_params) + ": " + std::strerror(added.error()));
    }
  }
  for (const auto& state : states) {
    if (state.update) allocated_.erase({state.spi, state.protocol});
  }
  record.order = ++next_order_;
  sas_[key] = record;
  // The policies that carry the SA's traffic with what it protects with.
  if (auto policies = sa.dynamic ? refresh_dynamic(*sa.dynamic) : refresh_peer({sa.filter_id, sa.peer}); !policies) {
    return unexpected("xfrm: " + name + ": its policies: " + policies.error());
  }
  // An SA for the pair ends its soft association.
  if (outbound && soft_.erase({sa.filter_id, sa.peer}) > 0) (void)spd_->remove_soft_association(sa.filter_id, sa.peer);
  return {};
}

Expected<void, std::string> XfrmDataplane::refresh_peer(const PeerKey& pair) {
  const InstalledSa* newest = nullptr;
  for (const auto& [key, installed] : sas_) {
    if (installed.dynamic || installed.filter_id != pair.first || installed.peer != pair.second) continue;
    if (!newest || installed.order > newest->order) newest = &installed;
  }
  if (!newest) return spd_->unprotect_peer(pair.first, pair.second);
  return spd_->protect_peer(pair.first, pair.second, newest->protection);
}

Expected<void, std::string> XfrmDataplane::refresh_dynamic(const DynamicSelector& selector) {
  const auto found = dynamic_.find(selector);
  if (found == dynamic_.end()) return {};
  const InstalledSa* newest = nullptr;
  for (const auto& [key, installed] : sas_) {
    if (installed.dynamic != selector) continue;
    if (!newest || installed.order > newest->order) newest = &installed;
  }
  if (!newest) {
    const auto id = found->second.filter.id;
    dynamic_.erase(found);
    return spd_->remove_dynamic(id);
  }
  found->second.protection = newest->protection;
  return spd_->add_dynamic(found->second.filter, found->second.protection, found->second.slot);
}

void XfrmDataplane::forget_sa(std::map<SaKey, InstalledSa>::iterator found) {
  const auto record = found->second;
  sas_.erase(found);
  (void)(record.dynamic ? refresh_dynamic(*record.dynamic) : refresh_peer({record.filter_id, record.peer}));
}

Expected<void, std::string> XfrmDataplane::add_soft_association(SoftAssociation association) {
  std::lock_guard lock(mutex_);
  if (spd_->negotiate_filter(association.filter_id) == nullptr) {
    return unexpected("xfrm: soft association with " + association.peer.to_string() + ": filter " +
                      std::to_string(association.filter_id) + " is not a negotiate filter of the table");
  }
  if (auto added = spd_->add_soft_association(association.filter_id, association.peer); !added) {
    return unexpected("xfrm: soft association with " + association.peer.to_string() + ": " + added.error());
  }
  soft_[{association.filter_id, association.peer}] =
      SoftPolicy{std::chrono::steady_clock::now(), association.idle_lifetime, static_cast<std::uint64_t>(std::time(nullptr))};
  return {};
}

Expected<void, std::string> XfrmDataplane::delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  std::lock_guard lock(mutex_);
  if (soft_.erase({filter_id, peer}) == 0) {
    return unexpected("xfrm: no soft association for filter " + std::to_string(filter_id) + " with " + peer.to_string());
  }
  if (auto removed = spd_->remove_soft_association(filter_id, peer); !removed) return unexpected("xfrm: " + removed.error());
  return {};
}

void XfrmDataplane::retire_idle_soft_associations() {
  std::lock_guard lock(mutex_);
  if (soft_.empty()) return;
  auto use = spd_->soft_association_use();
  if (!use) return;
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  for (auto it = soft_.begin(); it != soft_.end();) {
    if (auto found = use->find(it->first); found != use->end()) it->second.last_use = std::max(it->second.last_use, found->second);
    const auto idle = static_cast<std::uint64_t>(it->second.idle_lifetime.count());
    if (now >= it->second.last_use + idle) {
      (void)spd_->remove_soft_association(it->first.first, it->first.second);
      it = soft_.erase(it);
      continue;
    }
    ++it;
  }
}

Expected<void, std::string> XfrmDataplane::delete_sa(std::uint32_t spi, crypto::Direction direction) {
  std::lock_guard lock(mutex_);
  std::vector<std::map<SaKey, InstalledSa>::iterator> matches;
  for (auto it = sas_.begin(); it != sas_.end(); ++it) {
    if (it->first.spi == spi && it->first.direction == direction) matches.push_back(it);
  }
  if (matches.empty()) {
    return unexpected("xfrm: no " + std::string(crypto::name_of(direction)) + " SA with SPI " + std::to_string(spi) + " was installed by Ward");
  }
  if (matches.size() > 1) {
    std::string peers;
    for (const auto& it : matches) peers += (peers.empty() ? "" : ", ") + it->first.peer.to_string();
    return unexpected("xfrm: " + std::string(crypto::name_of(direction)) + " SPI " + std::to_string(spi) + " is the SPI of SAs with " + peers +
                      ": name the peer");
  }
  return delete_sa_locked(matches[0]);
}

Expected<void, std::string> XfrmDataplane::delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) {
  std::lock_guard lock(mutex_);
  const auto found = sas_.find(SaKey{spi, direction, peer});
  if (found == sas_.end()) {
    return unexpected("xfrm: no " + std::string(crypto::name_of(direction)) + " SA with SPI " + std::to_string(spi) +
                      (direction == crypto::Direction::Inbound ? " from " : " to ") + peer.to_string() + " was installed by Ward");
  }
  return delete_sa_locked(found);
}

Expected<void, std::string> XfrmDataplane::delete_sa_locked(std::map<SaKey, InstalledSa>::iterator found) {
  const auto spi = found->first.spi;
  const auto destination = found->second.destination;
  const auto protocol = kernel_protocol(found->second.protocol);
  const auto ah_spi = found->second.ah_spi;
  forget_sa(found);
  if (auto deleted = xfrm::delete_sa(*requests_, destination, spi, protocol); !deleted && deleted.error() != ENOENT) {
    return unexpected("xfrm: deleting SA " + std::to_string(spi) + " to " + destination.to_string() + ": " + std::strerror(deleted.error()));
  }
  if (ah_spi == 0) return {};
  if (auto deleted = xfrm::delete_sa(*requests_, destination, ah_spi, xfrm::kAhProtocol); !deleted && deleted.error() != ENOENT) {
    return unexpected("xfrm: deleting the bundle's AH SA " + std::to_string(ah_spi) + " to " + destination.to_string() + ": " +
                      std::strerror(deleted.error()));
  }
  return {};
}

Expected<std::uint32_t, std::string> XfrmDataplane::allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) {
  std::lock_guard lock(mutex_);
  auto local = local_address_towards(peer);
  if (!local) return unexpected("xfrm: an SPI for an SA from " + peer.to_string() + ": " + local.error());
  const auto kernel = kernel_protocol(protocol);
  auto spi = xfrm::allocate_spi(*requests_, peer, *local, kernel, 0, kFirstAllocatedSpi, UINT32_MAX);
  if (!spi) {
    return unexpected("xfrm: the kernel allocated no " + std::string(crypto::name_of(protocol)) + " SPI for an SA from " + peer.to_string() +
                      ": " + std::strerror(spi.error()));
  }
  allocated_[{*spi, kernel}] = Larval{*local, peer};
  return *spi;
}

Expected<void, std::string> XfrmDataplane::release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) {
  std::lock_guard lock(mutex_);
  const auto allocated = allocated_.find({spi, kernel_protocol(protocol)});
  if (allocated == allocated_.end()) {
    return unexpected("xfrm: " + std::string(crypto::name_of(protocol)) + " SPI " + std::to_string(spi) +
                      " is not reserved (installed, released or expired already)");
  }
  const auto local = allocated->second.local;
  allocated_.erase(allocated);
  // ENOENT: the kernel dropped the larval state already (net.core.xfrm_acq_expires).
  if (auto deleted = xfrm::delete_sa(*requests_, local, spi, kernel_protocol(protocol)); !deleted && deleted.error() != ENOENT) {
    return unexpected("xfrm: deleting the larval state of SPI " + std::to_string(spi) + ": " + std::strerror(deleted.error()));
  }
  return {};
}

Expected<std::size_t, std::string> XfrmDataplane::remove_all() {
  std::lock_guard lock(mutex_);
  for (const auto& [allocated, larval] : allocated_) (void)xfrm::delete_sa(*requests_, larval.local, allocated.first, allocated.second);
  allocated_.clear();
  for (const auto& [key, installed] : sas_) {
    (void)xfrm::delete_sa(*requests_, installed.destination, key.spi, kernel_protocol(installed.protocol));
    if (installed.ah_spi != 0) (void)xfrm::delete_sa(*requests_, installed.destination, installed.ah_spi, xfrm::kAhProtocol);
  }
  sas_.clear();
  dynamic_.clear();
  soft_.clear();
  auto removed = spd_->remove_all();
  if (!removed) return unexpected("xfrm: " + removed.error());
  return *removed;
}

Expected<void, std::string> XfrmDataplane::prepare_ike_socket(int fd, bool nat_traversal) {
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return unexpected(std::string("xfrm: IKE socket: getsockname: ") + std::strerror(errno));
  }
  const bool v6 = bound.ss_family == AF_INET6;
  // Per-socket policies come before the SPD's: IKE's datagrams pass whatever the filters say.
  for (const std::uint8_t direction : {std::uint8_t{XFRM_POLICY_IN}, std::uint8_t{XFRM_POLICY_OUT}}) {
    xfrm_userpolicy_info bypass;
    std::memset(&bypass, 0, sizeof bypass);
    bypass.action = XFRM_POLICY_ALLOW;
    bypass.sel.family = bound.ss_family;
    bypass.dir = direction;
    if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY, &bypass, sizeof bypass) != 0) {
      return unexpected(std::string("xfrm: IKE socket bypass policy (") + (direction == XFRM_POLICY_IN ? "in" : "out") +
                        "): " + std::strerror(errno));
    }
  }
  if (nat_traversal) {
    const int type = kEspInUdp;
    if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) != 0) {
      return unexpected(std::string("xfrm: NAT-T socket: UDP_ENCAP_ESPINUDP: ") + std::strerror(errno));
    }
  }
  return {};
}

void XfrmDataplane::serve_events() {
  const std::function<void(const nlmsghdr*)> handler = [this](const nlmsghdr* message) {
    if (message->nlmsg_type == XFRM_MSG_ACQUIRE) handle_acquire(message);
    if (message->nlmsg_type == XFRM_MSG_EXPIRE) handle_expire(message);
  };
  auto next_check = std::chrono::steady_clock::now() + kSoftAssociationCheck;
  while (!stopping_) {
    (void)events_->receive(handler, kEventWait);
    if (std::chrono::steady_clock::now() >= next_check) {
      retire_idle_soft_associations();
      next_check = std::chrono::steady_clock::now() + kSoftAssociationCheck;
    }
  }
}

void XfrmDataplane::handle_acquire(const nlmsghdr* message) {
  const auto kernel = xfrm::parse_acquire(message);
  if (!kernel) return;
  if (kernel->reqid >= kFirstDynamicFilterId) return;  // a dynamic filter: the initiator (re)negotiates, not us
  Acquire acquire;
  {
    std::lock_guard lock(mutex_);
    const DriverFilter* filter = kernel->reqid != 0 ? spd_->negotiate_filter(kernel->reqid) : nullptr;
    if (!filter) {
      if (const auto id = spd_->filter_at(kernel->policy_priority)) filter = spd_->negotiate_filter(*id);
    }
    if (!filter) return;  // not one of Ward's policies (or from a table already replaced)
    acquire.filter_id = filter->id;
    acquire.peer = filter->tunnel_endpoint.value_or(kernel->destination);
  }
  acquire.source = kernel->source;
  acquire.destination = kernel->destination;
  acquire.protocol = kernel->protocol;
  acquire.source_port = kernel->source_port;
  acquire.destination_port = kernel->destination_port;
  acquires_.fetch_add(1, std::memory_order_relaxed);
  listener_.on_acquire(acquire);
}

void XfrmDataplane::handle_expire(const nlmsghdr* message) {
  const auto kernel = xfrm::parse_expire(message);
  if (!kernel) return;
  SaExpiry expiry;
  {
    std::lock_guard lock(mutex_);
    // An ESP or AH state of ours, or the AH state of a bundle (named by its ESP SPI).
    auto found = std::find_if(sas_.begin(), sas_.end(), [&](const auto& entry) {
      const auto& installed = entry.second;
      if (installed.destination != kernel->destination) return false;
      if (kernel->protocol == kernel_protocol(installed.protocol) && entry.first.spi == kernel->spi) return true;
      return kernel->protocol == xfrm::kAhProtocol && installed.ah_spi == kernel->spi;
    });
    if (found == sas_.end()) return;  // someone else's SA
    expiry.spi = found->first.spi;
    expiry.direction = found->first.direction;
    expiry.filter_id = found->second.filter_id;
    expiry.peer = found->second.peer;
    // The kernel deletes a state that reached its hard lifetime itself; a bundle's other state goes too.
    if (kernel->hard) {
      const auto installed = found->second;
      if (installed.ah_spi != 0) {
        const bool ah_expired = kernel->protocol == xfrm::kAhProtocol;
        (void)xfrm::delete_sa(*requests_, installed.destination, ah_expired ? found->first.spi : installed.ah_spi,
                              ah_expired ? xfrm::kEspProtocol : xfrm::kAhProtocol);
      }
      forget_sa(found);
    }
  }
  expiry.kind = kernel->hard ? ExpiryKind::Hard : ExpiryKind::Soft;
  listener_.on_expiry(expiry);
}

DataplaneCounters XfrmDataplane::counters() const {
  DataplaneCounters out;
  out.acquires = acquires_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  for (const auto& filter : table_.filters) out.filters.push_back(FilterCounters{filter.id, 0, 0});
  if (kernel_) {
    // Permit and block: the nftables elements' counters. Negotiate filters stay 0 (no per-policy counts).
    if (auto kernel = kernel_->counters(); kernel && kernel->size() == out.filters.size()) {
      for (std::size_t i = 0; i < kernel->size(); ++i) {
        out.filters[i].packets = (*kernel)[i].packets;
        out.filters[i].bytes = (*kernel)[i].bytes;
        if (table_.filters[i].action == FilterAction::Block) out.blocked += (*kernel)[i].packets;
      }
    }
  }
  if (auto stats = xfrm::dump_sa_stats(*requests_)) {
    const auto stats_of = [&](const IpAddress& destination, std::uint8_t protocol, std::uint32_t spi) -> const xfrm::KernelSaStats* {
      for (const auto& kernel : *stats) {
        if (kernel.spi == spi && kernel.protocol == protocol && kernel.destination == destination) return &kernel;
      }
      return nullptr;
    };
    for (const auto& [key, installed] : sas_) {
      SaCounters counters;
      counters.spi = key.spi;
      counters.direction = key.direction;
      counters.protocol = installed.protocol;
      counters.filter_id = installed.filter_id;
      counters.bundled_ah_spi = installed.ah_spi;
      if (installed.dynamic) {
        if (const auto dynamic = dynamic_.find(*installed.dynamic); dynamic != dynamic_.end()) counters.dynamic_filter_id = dynamic->second.filter.id;
      }
      counters.peer = installed.peer;
      if (const auto* kernel = stats_of(installed.destination, kernel_protocol(installed.protocol), key.spi)) {
        counters.packets = kernel->packets;
        counters.bytes = kernel->bytes;
        counters.drops = kernel->drops;
      }
      if (installed.ah_spi != 0) {
        if (const auto* ah = stats_of(installed.destination, xfrm::kAhProtocol, installed.ah_spi)) counters.drops += ah->drops;
      }
      out.sas.push_back(counters);
    }
  }
  for (const auto& [selector, policy] : dynamic_) {
    std::size_t sas = 0;
    for (const auto& [key, installed] : sas_) sas += installed.dynamic == selector ? 1 : 0;
    out.dynamic_filters.push_back({policy.filter.id, policy.origin_filter_id, selector, sas, 0, 0});  // no per-policy counts
  }
  const auto steady_now = std::chrono::steady_clock::now();
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  for (const auto& [key, policy] : soft_) {
    const auto idle_for = now > policy.last_use ? now - policy.last_use : 0;
    const auto lifetime = static_cast<std::uint64_t>(policy.idle_lifetime.count());
    out.soft_associations.push_back({key.first, key.second, 0, 0, std::chrono::duration_cast<std::chrono::seconds>(steady_now - policy.created),
                                     std::chrono::seconds(lifetime > idle_for ? lifetime - idle_for : 0)});
  }
  if (xfrm_stat_fd_ >= 0) {
    std::string text(kXfrmStatBufferSize, '\0');
    const ssize_t length = pread(xfrm_stat_fd_, text.data(), text.size(), 0);
    text.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
    std::istringstream lines(text);
    std::string name;
    std::uint64_t value = 0;
    while (lines >> name >> value) {
      if (name == "XfrmInPolBlock" || name == "XfrmOutPolBlock") out.blocked += value;
      if (name == "XfrmInTmplMismatch" || name == "XfrmOutNoStates") out.unsecured_dropped += value;
      if (name == "XfrmInNoStates") out.unknown_spi = value;
      if (name == "XfrmInHdrError" || name == "XfrmFwdHdrError") out.malformed += value;
    }
  }
  return out;
}

}  // namespace ward::driver
