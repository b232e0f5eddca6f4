#include "driver/xfrm/xfrm_dataplane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "driver/xfrm/xfrm_acquire.h"
#include "driver/xfrm/xfrm_sad.h"

namespace ward::driver {

namespace {

using namespace std::chrono_literals;

constexpr auto kEventWait = 100ms;
constexpr std::uint32_t kMaxKernelReplayWindow = 255;  // xfrm_usersa_info.replay_window is a __u8
constexpr std::uint16_t kDiscardPort = 9;              // any port will do: connect() sends nothing
constexpr std::size_t kXfrmStatBufferSize = 8192;

unsigned group_bit(unsigned group) { return 1U << (group - 1); }

IpAddress from_crypto(const crypto::IpAddress& address) {
  const auto raw = address.view();
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < raw.size(); ++i) bytes[i] = std::to_integer<std::uint8_t>(raw[i]);
  if (address.version == crypto::IpVersion::V4) {
    return IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3]);
  }
  return IpAddress::v6(bytes);
}

std::vector<std::uint8_t> copy_key(const crypto::SecureBytes& key) {
  const auto revealed = key.reveal();
  std::vector<std::uint8_t> out(revealed.size());
  for (std::size_t i = 0; i < revealed.size(); ++i) out[i] = std::to_integer<std::uint8_t>(revealed[i]);
  return out;
}

// The Linux crypto API names for Ward's algorithms.
Expected<void, std::string> fill_keys(const crypto::SaParams& params, xfrm::KernelSaKeys& keys) {
  using crypto::Cipher;
  using crypto::Integrity;
  if (params.cipher == Cipher::AesGcm128 || params.cipher == Cipher::AesGcm256) {
    keys.aead = "rfc4106(gcm(aes))";
    keys.aead_key = copy_key(params.encryption_key);
    keys.icv_bits = 128;
    return {};
  }
  switch (params.cipher) {
    case Cipher::Null: keys.cipher = "ecb(cipher_null)"; break;
    case Cipher::AesCbc128:
    case Cipher::AesCbc256: keys.cipher = "cbc(aes)"; break;
    case Cipher::TripleDesCbc: keys.cipher = "cbc(des3_ede)"; break;
    default: return unexpected(crypto::describe_sa(params) + ": cipher " + std::string(crypto::name_of(params.cipher)) + " has no kernel name");
  }
  switch (params.integrity) {
    case Integrity::HmacSha1_96: keys.integrity = "hmac(sha1)"; keys.icv_bits = 96; break;
    case Integrity::HmacSha256_128: keys.integrity = "hmac(sha256)"; keys.icv_bits = 128; break;
    case Integrity::HmacMd5_96: keys.integrity = "hmac(md5)"; keys.icv_bits = 96; break;
    case Integrity::None: return unexpected(crypto::describe_sa(params) + ": cipher " + std::string(crypto::name_of(params.cipher)) + " needs an integrity algorithm");
  }
  keys.cipher_key = copy_key(params.encryption_key);
  keys.integrity_key = copy_key(params.integrity_key);
  return {};
}

// Whether /proc/crypto lists an algorithm (the kernel loads modules on demand, so absence is a
// hint, not proof).
bool crypto_api_lists(const std::string& name) {
  std::ifstream file("/proc/crypto");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("name", 0) == 0 && line.size() > name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) {
      return true;
    }
  }
  return false;
}

std::string missing_esp_message(const crypto::SaParams& params, const xfrm::KernelSaKeys& keys, int error) {
  const std::string algorithm = keys.aead.empty() ? keys.cipher + " + " + keys.integrity : keys.aead;
  std::string message = "xfrm: the kernel refused " + crypto::describe_sa(params) + " (" + std::strerror(error) +
                        "): this kernel has no ESP support for it (kernel SAs need esp4/esp6 and " + algorithm +
                        " in the kernel crypto API";
  const std::string& probe = keys.aead.empty() ? keys.cipher : keys.aead;
  if (!crypto_api_lists(probe)) message += "; /proc/crypto does not list " + probe;
  return message + "); use the nfqueue backend, which does ESP in userspace";
}

}  // namespace

XfrmDataplane::XfrmDataplane(DataplaneListener& listener, XfrmOptions options) : listener_(listener), options_(std::move(options)) {}

Expected<std::unique_ptr<XfrmDataplane>, std::string> XfrmDataplane::start(DataplaneListener& listener, XfrmOptions options) {
  std::unique_ptr<XfrmDataplane> dataplane(new XfrmDataplane(listener, std::move(options)));
  auto requests = xfrm::XfrmSocket::open();
  if (!requests) return unexpected("xfrm: " + requests.error());
  dataplane->requests_ = std::move(*requests);
  auto events = xfrm::XfrmSocket::open(group_bit(XFRMNLGRP_ACQUIRE) | group_bit(XFRMNLGRP_EXPIRE));
  if (!events) return unexpected("xfrm: acquire/expire listener: " + events.error());
  dataplane->events_ = std::move(*events);
  dataplane->route_socket_v4_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  dataplane->route_socket_v6_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // -1 without IPv6: v6 transport SAs then fail
  dataplane->xfrm_stat_fd_ = open("/proc/thread-self/net/xfrm_stat", O_RDONLY | O_CLOEXEC);  // -1: kernel without XFRM statistics
  // Policies left in Ward's band by a crashed predecessor.
  if (auto stale = xfrm::remove_policies(*dataplane->requests_, dataplane->options_.spd); !stale) {
    return unexpected("xfrm: removing stale Ward policies: " + stale.error());
  }
  dataplane->event_thread_ = std::thread([d = dataplane.get()] { d->serve_events(); });
  return dataplane;
}

XfrmDataplane::~XfrmDataplane() {
  stopping_ = true;
  if (event_thread_.joinable()) event_thread_.join();
  if (requests_) (void)remove_all();
  for (const int fd : {route_socket_v4_, route_socket_v6_, xfrm_stat_fd_}) {
    if (fd >= 0) close(fd);
  }
}

Capabilities XfrmDataplane::capabilities() const {
  return Capabilities{.userspace_crypto = false, .kernel_sas = !kernel_refused_esp_, .atomic_table_swap = false, .holds_packets = false};
}

Expected<void, std::string> XfrmDataplane::install_filter_table(FilterTable table) {
  std::lock_guard lock(mutex_);
  auto installed = xfrm::install_policies(*requests_, table, generation_, options_.spd);
  if (!installed) return unexpected("xfrm: " + installed.error());
  ++generation_;
  first_priority_ = installed->first_priority;
  filter_by_rank_ = std::move(installed->filter_ids);
  filters_.clear();
  for (auto& filter : table.filters) filters_.try_emplace(filter.id, std::move(filter));
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
  const int saved = errno;
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  (void)connect(fd, &unspecified, sizeof unspecified);
  if (named != 0) return unexpected("local address towards " + peer.to_string() + ": " + std::strerror(saved));
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
  // AH (alone or bundled with ESP) would need kernel policy templates per negotiated protocol;
  // the SPD this backend programs has one ESP template per filter (xfrm_spd.cpp).
  if (params.protocol != crypto::SecurityProtocol::Esp || sa.bundled_ah) {
    return unexpected("xfrm: " + crypto::describe_sa(params) + (sa.bundled_ah ? " bundled with AH" : "") +
                      ": the xfrm backend installs only ESP SAs (AH and AH+ESP need the nfqueue backend)");
  }
  if (params.extended_sequence_numbers) {
    return unexpected("xfrm: " + crypto::describe_sa(params) + ": extended sequence numbers are not supported by the xfrm backend");
  }
  if (params.replay_window > kMaxKernelReplayWindow) {
    return unexpected("xfrm: " + crypto::describe_sa(params) + ": replay window " + std::to_string(params.replay_window) +
                      " exceeds the " + std::to_string(kMaxKernelReplayWindow) + " the xfrm backend can program");
  }
  if (params.mode == crypto::Mode::Tunnel && !params.tunnel) {
    return unexpected("xfrm: " + crypto::describe_sa(params) + ": tunnel mode without tunnel endpoints");
  }
  const bool outbound = params.direction == crypto::Direction::Outbound;

  std::lock_guard lock(mutex_);
  xfrm::KernelSa kernel;
  if (params.tunnel) {
    const auto local = from_crypto(params.tunnel->local);
    const auto remote = from_crypto(params.tunnel->remote);
    kernel.source = outbound ? local : remote;
    kernel.destination = outbound ? remote : local;
  } else {
    auto local = local_address_towards(sa.peer);
    if (!local) return unexpected("xfrm: " + crypto::describe_sa(params) + ": " + local.error());
    kernel.source = outbound ? *local : sa.peer;
    kernel.destination = outbound ? sa.peer : *local;
  }
  kernel.spi = params.spi;
  kernel.reqid = sa.filter_id;
  if (sa.dynamic) {
    auto dynamic = acquire_dynamic(*sa.dynamic, sa.filter_id);
    if (!dynamic) return unexpected("xfrm: " + crypto::describe_sa(params) + ": " + dynamic.error());
    kernel.reqid = (*dynamic)->filter.id;  // the dynamic filter's policies name it in their template
  }
  kernel.tunnel = params.mode == crypto::Mode::Tunnel;
  kernel.replay_window = static_cast<std::uint8_t>(outbound ? 0 : params.replay_window);
  kernel.soft_bytes = sa.lifetime.soft_bytes;
  kernel.hard_bytes = sa.lifetime.hard_bytes;
  kernel.soft_seconds = static_cast<std::uint64_t>(sa.lifetime.soft_time.count());
  kernel.hard_seconds = static_cast<std::uint64_t>(sa.lifetime.hard_time.count());
  if (params.udp_encapsulation) {
    const auto& udp = *params.udp_encapsulation;
    kernel.encap_source_port = outbound ? udp.local_port : udp.remote_port;
    kernel.encap_destination_port = outbound ? udp.remote_port : udp.local_port;
  }
  if (auto filled = fill_keys(params, kernel.keys); !filled) {
    if (sa.dynamic) release_dynamic(*sa.dynamic);
    return unexpected("xfrm: " + filled.error());
  }

  const SaKey key{params.spi, params.direction};
  if (auto existing = sas_.find(key); existing != sas_.end()) {  // replace: the kernel refuses a duplicate NEWSA
    (void)xfrm::delete_sa(*requests_, existing->second.destination, params.spi);
    if (existing->second.dynamic) release_dynamic(*existing->second.dynamic);
    sas_.erase(existing);
  }
  if (auto added = xfrm::add_sa(*requests_, kernel); !added) {
    if (sa.dynamic) release_dynamic(*sa.dynamic);
    if (xfrm::kernel_lacks_esp(added.error())) {
      kernel_refused_esp_ = true;
      return unexpected(missing_esp_message(params, kernel.keys, added.error()));
    }
    return unexpected("xfrm: the kernel refused " + crypto::describe_sa(params) + ": " + std::strerror(added.error()));
  }
  sas_[key] = InstalledSa{kernel.destination, sa.filter_id, sa.peer, sa.dynamic};
  // An SA for the pair ends its soft association.
  if (!outbound || soft_.find({sa.filter_id, sa.peer}) == soft_.end()) return {};
  (void)xfrm::delete_extra_policy(*requests_, soft_.at({sa.filter_id, sa.peer}).filter);
  soft_.erase({sa.filter_id, sa.peer});
  return {};
}

Expected<XfrmDataplane::DynamicPolicy*, std::string> XfrmDataplane::acquire_dynamic(const DynamicSelector& selector,
                                                                                   std::uint32_t origin_filter_id) {
  if (auto found = dynamic_.find(selector); found != dynamic_.end()) {
    ++found->second.sas;
    return &found->second;
  }
  std::set<std::uint32_t> used;
  for (const auto& [s, policy] : dynamic_) used.insert(policy.slot);
  std::uint32_t slot = 0;
  while (used.contains(slot)) ++slot;
  DynamicPolicy policy;
  policy.filter.id = next_dynamic_id_;
  policy.filter.source = IpPrefix::host(selector.local);
  policy.filter.destination = IpPrefix::host(selector.remote);
  policy.filter.protocol = selector.protocol;
  policy.filter.source_ports = selector.local_port ? PortRange::single(selector.local_port) : PortRange::any();
  policy.filter.destination_ports = selector.remote_port ? PortRange::single(selector.remote_port) : PortRange::any();
  policy.filter.action = FilterAction::Negotiate;
  policy.origin_filter_id = origin_filter_id;
  policy.slot = slot;
  policy.sas = 1;
  if (auto added = xfrm::add_extra_policy(*requests_, policy.filter, xfrm::ExtraPolicy::DynamicFilter, slot, 0, options_.spd); !added) {
    return unexpected("the dynamic filter's policies: " + added.error());
  }
  next_dynamic_id_ = next_dynamic_id_ == UINT32_MAX ? kFirstDynamicFilterId : next_dynamic_id_ + 1;
  return &dynamic_.emplace(selector, std::move(policy)).first->second;
}

void XfrmDataplane::release_dynamic(const DynamicSelector& selector) {
  const auto found = dynamic_.find(selector);
  if (found == dynamic_.end() || --found->second.sas > 0) return;
  (void)xfrm::delete_extra_policy(*requests_, found->second.filter);
  dynamic_.erase(found);
}

Expected<void, std::string> XfrmDataplane::add_soft_association(SoftAssociation association) {
  std::lock_guard lock(mutex_);
  const auto found = filters_.find(association.filter_id);
  if (found == filters_.end() || found->second.action != FilterAction::Negotiate) {
    return unexpected("xfrm: soft association with " + association.peer.to_string() + ": filter " +
                      std::to_string(association.filter_id) + " is not a negotiate filter of the table");
  }
  // The filter narrowed to the peer, written from this host's side.
  DriverFilter narrowed = found->second;
  if (!narrowed.destination.contains(association.peer)) {
    std::swap(narrowed.source, narrowed.destination);
    std::swap(narrowed.source_ports, narrowed.destination_ports);
  }
  narrowed.destination = IpPrefix::host(association.peer);
  narrowed.action = FilterAction::Permit;
  narrowed.tunnel_endpoint.reset();
  const SoftKey key{association.filter_id, association.peer};
  std::uint32_t slot = 0;
  if (auto existing = soft_.find(key); existing != soft_.end()) {
    slot = existing->second.slot;
  } else {
    std::set<std::uint32_t> used;
    for (const auto& [k, policy] : soft_) used.insert(policy.slot);
    while (used.contains(slot)) ++slot;
  }
  const auto idle = static_cast<std::uint64_t>(association.idle_lifetime.count());
  if (auto added = xfrm::add_extra_policy(*requests_, narrowed, xfrm::ExtraPolicy::SoftAssociation, slot, idle, options_.spd); !added) {
    return unexpected("xfrm: soft association with " + association.peer.to_string() + ": " + added.error());
  }
  soft_[key] = SoftPolicy{narrowed, slot, std::chrono::steady_clock::now(), association.idle_lifetime};
  return {};
}

Expected<void, std::string> XfrmDataplane::delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) {
  std::lock_guard lock(mutex_);
  const auto found = soft_.find({filter_id, peer});
  if (found == soft_.end()) {
    return unexpected("xfrm: no soft association for filter " + std::to_string(filter_id) + " with " + peer.to_string());
  }
  auto deleted = xfrm::delete_extra_policy(*requests_, found->second.filter);
  soft_.erase(found);
  if (!deleted) return unexpected("xfrm: " + deleted.error());
  return {};
}

Expected<void, std::string> XfrmDataplane::delete_sa(std::uint32_t spi, crypto::Direction direction) {
  std::lock_guard lock(mutex_);
  const auto found = sas_.find({spi, direction});
  if (found == sas_.end()) {
    return unexpected("xfrm: no " + std::string(crypto::name_of(direction)) + " SA with SPI " + std::to_string(spi) + " was installed by Ward");
  }
  const auto destination = found->second.destination;
  if (found->second.dynamic) release_dynamic(*found->second.dynamic);
  sas_.erase(found);
  if (auto deleted = xfrm::delete_sa(*requests_, destination, spi); !deleted && deleted.error() != ENOENT) {
    return unexpected("xfrm: deleting SA " + std::to_string(spi) + " to " + destination.to_string() + ": " + std::strerror(deleted.error()));
  }
  return {};
}

Expected<std::size_t, std::string> XfrmDataplane::remove_all() {
  std::lock_guard lock(mutex_);
  for (const auto& [key, installed] : sas_) (void)xfrm::delete_sa(*requests_, installed.destination, key.first);
  sas_.clear();
  dynamic_.clear();
  soft_.clear();
  filter_by_rank_.clear();
  filters_.clear();
  auto removed = xfrm::remove_policies(*requests_, options_.spd);
  if (!removed) return unexpected("xfrm: " + removed.error());
  return *removed;
}

void XfrmDataplane::serve_events() {
  const std::function<void(const nlmsghdr*)> handler = [this](const nlmsghdr* message) {
    if (message->nlmsg_type == XFRM_MSG_ACQUIRE) handle_acquire(message);
    if (message->nlmsg_type == XFRM_MSG_EXPIRE) handle_expire(message);
  };
  while (!stopping_) (void)events_->receive(handler, kEventWait);
}

void XfrmDataplane::handle_acquire(const nlmsghdr* message) {
  const auto kernel = xfrm::parse_acquire(message);
  if (!kernel) return;
  if (kernel->reqid >= kFirstDynamicFilterId) return;  // a dynamic filter: the initiator (re)negotiates, not us
  Acquire acquire;
  {
    std::lock_guard lock(mutex_);
    const DriverFilter* filter = nullptr;
    if (auto found = filters_.find(kernel->reqid); kernel->reqid != 0 && found != filters_.end()) filter = &found->second;
    if (!filter && kernel->policy_priority >= first_priority_ && kernel->policy_priority - first_priority_ < filter_by_rank_.size()) {
      if (auto found = filters_.find(filter_by_rank_[kernel->policy_priority - first_priority_]); found != filters_.end()) filter = &found->second;
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
    auto found = sas_.begin();
    while (found != sas_.end() && !(found->first.first == kernel->spi && found->second.destination == kernel->destination)) ++found;
    if (found == sas_.end()) return;  // someone else's SA
    expiry.spi = kernel->spi;
    expiry.direction = found->first.second;
    expiry.filter_id = found->second.filter_id;
    expiry.peer = found->second.peer;
    // The kernel deletes an SA that reached its hard lifetime itself.
    if (kernel->hard) {
      if (found->second.dynamic) release_dynamic(*found->second.dynamic);
      sas_.erase(found);
    }
  }
  expiry.kind = kernel->hard ? ExpiryKind::Hard : ExpiryKind::Soft;
  listener_.on_expiry(expiry);
}

DataplaneCounters XfrmDataplane::counters() const {
  DataplaneCounters out;
  out.acquires = acquires_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  std::set<std::uint32_t> listed;
  for (const auto id : filter_by_rank_) {
    if (listed.insert(id).second) out.filters.push_back(FilterCounters{id, 0, 0});  // the kernel counts nothing per policy
  }
  if (auto stats = xfrm::dump_sa_stats(*requests_)) {
    for (const auto& [key, installed] : sas_) {
      SaCounters counters;
      counters.spi = key.first;
      counters.direction = key.second;
      counters.filter_id = installed.filter_id;
      if (installed.dynamic) {
        if (const auto dynamic = dynamic_.find(*installed.dynamic); dynamic != dynamic_.end()) counters.dynamic_filter_id = dynamic->second.filter.id;
      }
      counters.peer = installed.peer;
      for (const auto& kernel : *stats) {
        if (kernel.spi == key.first && kernel.destination == installed.destination) {
          counters.packets = kernel.packets;
          counters.bytes = kernel.bytes;
          counters.drops = kernel.drops;
        }
      }
      out.sas.push_back(counters);
    }
  }
  for (const auto& [selector, policy] : dynamic_) {
    out.dynamic_filters.push_back({policy.filter.id, policy.origin_filter_id, selector, policy.sas, 0, 0});  // no per-policy counts
  }
  if (!soft_.empty()) {
    // The kernel retires idle soft associations itself: list the ones it still holds.
    const auto now = std::chrono::steady_clock::now();
    const auto held = xfrm::extra_policy_slots(*requests_, xfrm::ExtraPolicy::SoftAssociation, options_.spd);
    for (const auto& [key, policy] : soft_) {
      if (held && std::find(held->begin(), held->end(), policy.slot) == held->end()) continue;
      out.soft_associations.push_back({key.first, key.second, 0, 0,
                                       std::chrono::duration_cast<std::chrono::seconds>(now - policy.created), policy.idle_lifetime});
    }
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
