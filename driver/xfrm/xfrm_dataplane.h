// The xfrm backend as a driver::Dataplane: the kernel does the work, Ward programs it.
//
//   install_filter_table  the table as kernel XFRM policies in Ward's priority band (xfrm_spd.h):
//                         the new generation's policies go in (replacing same-selector twins in
//                         one step), then what is left of the old one is deleted. Not a true
//                         atomic swap: the kernel SPD has no transactions.
//   add_sa / delete_sa    kernel XFRM states (xfrm_sad.h), ESP only (AH and AH+ESP bundles are
//                         refused: the SPD's templates are ESP only). On a kernel without ESP the
//                         kernel refuses them and the error says so (and names what /proc/crypto
//                         lacks); the nfqueue backend is the one for such kernels. A default
//                         response SA brings its dynamic filter: kernel policies after the table's
//                         (xfrm_spd.h), template reqid = the dynamic filter's id, removed with the
//                         filter's last SA. Acquires for a dynamic filter are not passed on (the
//                         responder never negotiates for one).
//   soft associations     a permit policy for the filter narrowed to the peer, ahead of the table,
//                         that the kernel removes after the idle lifetime. Held packets are not
//                         released: the kernel drops what waited for the acquire.
//   listener              kernel acquires (XFRMNLGRP_ACQUIRE; the filter is the template's reqid,
//                         or else the policy's priority rank) and SA expiries (XFRMNLGRP_EXPIRE)
//                         arrive on a thread of the dataplane's own.
//   counters              per SA: the kernel's packets/bytes/replay+integrity drops. Per filter:
//                         listed, but packets/bytes are always 0 -- the kernel keeps no per-policy
//                         traffic counts (a policy's lifetime "current" holds only add/use times).
//                         blocked / unsecured_dropped / unknown_spi / malformed come from
//                         /proc/net/xfrm_stat and count the whole namespace, not only Ward's
//                         policies; held / hold_dropped / policy_mismatch / drops_by_reason are
//                         not available (0).
//
// Everything is done in the network namespace of the thread that called start() (the netlink
// sockets are bound to it there). On destruction Ward's SAs and every policy in Ward's band are
// removed; other policies and SAs in the namespace are never touched.
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
#include <unordered_map>
#include <utility>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/xfrm/xfrm_socket.h"
#include "driver/xfrm/xfrm_spd.h"

namespace ward::driver {

struct XfrmOptions {
  xfrm::SpdOptions spd;
};

class XfrmDataplane final : public Dataplane {
 public:
  static Expected<std::unique_ptr<XfrmDataplane>, std::string> start(DataplaneListener& listener, XfrmOptions options = {});
  ~XfrmDataplane() override;  // stops the event thread, removes Ward's SAs and policies

  Capabilities capabilities() const override;
  Expected<void, std::string> install_filter_table(FilterTable table) override;
  Expected<void, std::string> add_sa(SaInstall sa) override;
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;

  // Removes Ward's SAs and policies now (the destructor does it too); the policies removed.
  Expected<std::size_t, std::string> remove_all();

 private:
  struct InstalledSa {
    IpAddress destination;
    std::uint32_t filter_id = 0;
    IpAddress peer;
    std::optional<DynamicSelector> dynamic;
  };
  using SaKey = std::pair<std::uint32_t, crypto::Direction>;
  struct DynamicPolicy {
    DriverFilter filter;  // outbound direction, id = the dynamic filter's
    std::uint32_t origin_filter_id = 0;
    std::uint32_t slot = 0;
    std::size_t sas = 0;
  };
  struct SoftPolicy {
    DriverFilter filter;  // permit, narrowed to the peer
    std::uint32_t slot = 0;
    std::chrono::steady_clock::time_point created;
    std::chrono::seconds idle_lifetime{0};
  };
  using SoftKey = std::pair<std::uint32_t, IpAddress>;

  XfrmDataplane(DataplaneListener& listener, XfrmOptions options);
  void serve_events();
  void handle_acquire(const struct nlmsghdr* message);
  void handle_expire(const struct nlmsghdr* message);
  Expected<IpAddress, std::string> local_address_towards(const IpAddress& peer) const;
  // Under mutex_: the dynamic filter of a default response SA, made on first use.
  Expected<DynamicPolicy*, std::string> acquire_dynamic(const DynamicSelector& selector, std::uint32_t origin_filter_id);
  void release_dynamic(const DynamicSelector& selector);

  DataplaneListener& listener_;
  XfrmOptions options_;
  mutable std::mutex mutex_;  // guards requests_ and everything below it
  std::unique_ptr<xfrm::XfrmSocket> requests_;
  std::uint64_t generation_ = 0;
  std::uint32_t first_priority_ = 0;
  std::vector<std::uint32_t> filter_by_rank_;
  std::unordered_map<std::uint32_t, DriverFilter> filters_;  // by id: the first filter with that id
  std::map<SaKey, InstalledSa> sas_;
  std::map<DynamicSelector, DynamicPolicy> dynamic_;
  std::uint32_t next_dynamic_id_ = kFirstDynamicFilterId;
  std::map<SoftKey, SoftPolicy> soft_;
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
