// The xfrm backend as a driver::Dataplane: the kernel does the work (ESP, AH, AES-NI), Ward
// programs it over netlink, as strongSwan's kernel-netlink and Libreswan do.
//
//   install_filter_table  permit and block in the kernel filter table (driver/kernel_table: `table
//                         inet ward`, one nftables transaction, a counter per filter), negotiate
//                         filters as kernel XFRM policies whose priorities carry Ward's precedence
//                         (xfrm_spd.h), with allow policies for the permit and block filters that
//                         outrank them (spd_view.h). The nftables table is committed first, then the
//                         SPD; if the SPD refuses, both go back to the previous table, and Ward's view
//                         of the table changes only once both took it. A new SPD table goes in below
//                         the old one, so each packet meets the whole old table or the whole new one
//                         (atomic_table_swap). Where the kernel has no nftables inet family (User-mode
//                         Linux's 6.1 build), permit and block stay XFRM policies (allow / block) and
//                         per-filter counters read 0: filter_placement() says which.
//   add_sa / delete_sa    kernel XFRM states (xfrm_sad.h): ESP, AH, or an AH+ESP bundle (two states,
//                         named by the ESP SPI), transport or tunnel mode, UDP-encapsulated ESP.
//                         An SA is (peer, SPI, direction), as in the userspace dataplanes: an inbound
//                         SPI already used by another peer's SA is refused naming both; two peers'
//                         outbound SAs may share an SPI; delete_sa without the peer is refused when
//                         that leaves it ambiguous (delete_sa_of_peer names it).
//                         The SAs of one filter and peer get policies of their own, narrowed to the
//                         peer just ahead of the filter, whose templates say what was negotiated
//                         (the newest SA pair's): the kernel then protects with AH or AH+ESP as well
//                         as ESP and refuses inbound traffic that lacks it. On a kernel without ESP
//                         or AH the kernel refuses the state and the error says so (and names what
//                         /proc/crypto lacks): the nfqueue backend is the one for such kernels.
//                         A default response SA brings its dynamic filter: kernel policies above
//                         every table (xfrm_spd.h), template reqid = the dynamic filter's id,
//                         removed with the filter's last SA. Acquires for a dynamic filter are not
//                         passed on (the responder never negotiates for one).
//   soft associations     allow-in-clear policies for the filter narrowed to the peer, just ahead
//                         of the filter; ended by an SA for the pair, by a table without the filter,
//                         or when the kernel says they have matched nothing for `idle_lifetime`
//                         (checked every second). Held packets are not released: the kernel drops
//                         what waited for the acquire (it holds none: holds_packets is false).
//   prepare_ike_socket    per-socket bypass policies (IP_XFRM_POLICY) on IKE's sockets, so that a
//                         filter covering IKE's own traffic never catches it; UDP_ENCAP_ESPINUDP
//                         on the NAT-T socket, so the kernel decapsulates ESP in UDP.
//   listener              kernel acquires (XFRMNLGRP_ACQUIRE; the filter is the template's reqid,
//                         or else the policy's priority) and SA expiries (XFRMNLGRP_EXPIRE), soft
//                         and hard, by bytes or time, arrive on a thread of the dataplane's own. The
//                         expiry of a bundle's AH state is reported under its ESP SPI.
//   counters              per SA: the kernel's packets/bytes/replay+integrity drops. Per filter (by
//                         table index): permit and block packets/bytes from the nftables table's
//                         element counters; negotiate filters 0 (the kernel keeps no per-policy
//                         traffic counts; their SAs count). blocked: the block filters' packets plus
//                         the XFRM policy blocks of /proc/net/xfrm_stat, which with unsecured_dropped
//                         / unknown_spi / malformed counts the whole namespace, not only Ward's
//                         policies; held / hold_dropped / policy_mismatch / drops_by_reason are not
//                         available (0).
//
// Everything is done in the network namespace of the thread that called start() (the netlink
// sockets are bound to it there). On destruction Ward's SAs, every policy in Ward's priorities and
// the nftables table are removed; other policies and SAs in the namespace are never touched.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/kernel_table/kernel_table.h"
#include "driver/xfrm/xfrm_socket.h"
#include "driver/xfrm/xfrm_spd.h"

namespace ward::driver {

// The kernel filter table as the xfrm backend uses it: negotiate traffic accepted (the SPD takes
// it from there), ESP, AH and NAT-T passed (the kernel opens them).
inline KernelTableOptions xfrm_kernel_table_options() {
  KernelTableOptions options;
  options.negotiate = NegotiateVerdict::Accept;
  options.queue_ipsec = false;
  return options;
}

struct XfrmOptions {
  xfrm::SpdOptions spd;
  // Permit and block in the kernel filter table (nftables); false, or a kernel without the nftables
  // inet family: as XFRM policies.
  bool kernel_table = true;
  KernelTableOptions kernel = xfrm_kernel_table_options();
};

class XfrmDataplane final : public Dataplane {
 public:
  static Expected<std::unique_ptr<XfrmDataplane>, std::string> start(DataplaneListener& listener, XfrmOptions options = {});
  ~XfrmDataplane() override;  // stops the event thread, removes Ward's SAs and policies

  Capabilities capabilities() const override;
  Expected<void, std::string> install_filter_table(FilterTable table) override;
  Expected<void, std::string> add_sa(SaInstall sa) override;
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) override;
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;
  Expected<void, std::string> prepare_ike_socket(int fd, bool nat_traversal) override;
  // An inbound SPI chosen by the kernel (XFRM_MSG_ALLOCSPI, as strongSwan's get_spi): unused on this
  // host for `protocol`, held in a larval state until add_sa installs the SA from `peer` with it
  // (XFRM_MSG_UPDSA), release_spi deletes it, or the kernel drops it (net.core.xfrm_acq_expires).
  Expected<std::uint32_t, std::string> allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) override;
  Expected<void, std::string> release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) override;

  // Removes Ward's SAs and policies now (the destructor does it too); the policies removed.
  Expected<std::size_t, std::string> remove_all();

  // Where permit and block are decided: "nftables table inet ward", or "XFRM policies (...why...)".
  const std::string& filter_placement() const noexcept { return filter_placement_; }
  bool kernel_table_in_use() const noexcept { return kernel_ != nullptr; }
  KernelTable* kernel_table_for_testing() noexcept { return kernel_.get(); }
  xfrm::Spd& spd_for_testing() noexcept { return *spd_; }

 private:
  struct InstalledSa {
    IpAddress destination;
    std::uint32_t filter_id = 0;
    IpAddress peer;
    std::optional<DynamicSelector> dynamic;
    crypto::SecurityProtocol protocol = crypto::SecurityProtocol::Esp;  // AH: AH alone
    std::uint32_t ah_spi = 0;                                            // an AH+ESP bundle's AH state
    xfrm::Protection protection;
    std::uint64_t order = 0;                                             // newest protects the pair
  };
  // An SA is named by (SPI, direction, peer), as in the userspace dataplanes: two peers may choose
  // the same outbound SPI (their kernel states differ by destination); an inbound SPI names one SA.
  struct SaKey {
    std::uint32_t spi = 0;
    crypto::Direction direction = crypto::Direction::Outbound;
    IpAddress peer;
    friend auto operator<=>(const SaKey&, const SaKey&) = default;
  };
  struct DynamicPolicy {
    DriverFilter filter;  // outbound direction, id = the dynamic filter's
    std::uint32_t origin_filter_id = 0;
    std::uint32_t slot = 0;
    xfrm::Protection protection;
  };
  struct SoftPolicy {
    std::chrono::steady_clock::time_point created;
    std::chrono::seconds idle_lifetime{0};
    std::uint64_t last_use = 0;  // unix seconds, from the kernel's policy use times
  };
  using PeerKey = std::pair<std::uint32_t, IpAddress>;

  XfrmDataplane(DataplaneListener& listener, XfrmOptions options);
  void serve_events();
  void handle_acquire(const struct nlmsghdr* message);
  void handle_expire(const struct nlmsghdr* message);
  void retire_idle_soft_associations();
  Expected<IpAddress, std::string> local_address_towards(const IpAddress& peer) const;
  // Under mutex_: the policies of the pair (filter, peer) or of a dynamic filter follow the newest
  // of their SAs, and go with the last.
  Expected<void, std::string> refresh_peer(const PeerKey& pair);
  Expected<void, std::string> refresh_dynamic(const DynamicSelector& selector);
  // Under mutex_: the SPD's table for `table` (all of it without the nftables table).
  FilterTable spd_table(const FilterTable& table) const;
  void forget_sa(std::map<SaKey, InstalledSa>::iterator found);
  Expected<void, std::string> delete_sa_locked(std::map<SaKey, InstalledSa>::iterator found);

  DataplaneListener& listener_;
  XfrmOptions options_;
  mutable std::mutex mutex_;  // guards requests_ and everything below it
  std::unique_ptr<xfrm::XfrmSocket> requests_;
  std::unique_ptr<xfrm::Spd> spd_;
  std::unique_ptr<KernelTable> kernel_;  // null: permit and block are XFRM policies
  std::string filter_placement_;
  FilterTable table_;                    // the whole table, as installed in both
  bool every_bypass_ = false;            // a dynamic filter came: every permit/block filter has an SPD allow policy
  std::map<SaKey, InstalledSa> sas_;
  // Larval states allocate_spi made and add_sa has not used yet: (SPI, kernel protocol) -> this
  // host's address they are for, and the peer whose SA may complete one.
  struct Larval {
    IpAddress local;
    IpAddress peer;
  };
  std::map<std::pair<std::uint32_t, std::uint8_t>, Larval> allocated_;
  std::uint64_t next_order_ = 0;
  std::map<DynamicSelector, DynamicPolicy> dynamic_;
  std::uint32_t next_dynamic_id_ = kFirstDynamicFilterId;
  std::map<PeerKey, SoftPolicy> soft_;
  int route_socket_v4_ = -1;  // unconnected UDP sockets in the dataplane's namespace: source lookup
  int route_socket_v6_ = -1;
  int xfrm_stat_fd_ = -1;     // /proc/thread-self/net/xfrm_stat of that namespace, or -1
  std::unique_ptr<xfrm::XfrmSocket> events_;
  std::thread event_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> kernel_refused_esp_{false};
  std::atomic<std::uint64_t> acquires_{0};
};

}  // namespace ward::driver
