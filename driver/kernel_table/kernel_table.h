// The kernel half of a filter table: one nftables table (inet: IPv4 and IPv6 together) that
// decides at the first hook (raw priority, before connection tracking) what the kernel permits or
// blocks outright and what goes to Ward. Every change is one netlink transaction: the kernel
// applies all of it or none of it, so a refused install leaves the previous table in place for
// both families.
//
//   output / prerouting  base chains: exempt interfaces and IKE pass; ESP, AH and NAT-T coming in
//                        go to Ward (`ipsec`); then the table's filters, then the dynamic filters
//   filters              the table as layered verdict maps (kernel_layers.h): accept (permit),
//                        drop (block), goto negotiate; one element per filter and key, each with
//                        a counter, so permit and block counters come back from the kernel
//   negotiate            TCP MSS clamped for ESP's overhead, then the queue (or accept: a backend
//                        whose kernel policies take negotiate traffic from there, xfrm)
//   dynamic              the engine's dynamic filters (Windows' default response), the same way;
//                        replaced alone, in a transaction of their own, when they change
//
// What matches nothing passes, as on Windows. Soft associations need nothing here: their traffic
// matches a negotiate filter and is queued anyway; the engine passes it in clear and keeps the
// association's idle timer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/api/filter_table.h"
#include "driver/kernel_table/kernel_layers.h"

namespace ward::driver {

namespace nft {
class Batch;
class Socket;
}  // namespace nft

enum class NegotiateVerdict : std::uint8_t { Queue, Accept };

struct KernelTableOptions {
  std::string table = "ward";
  NegotiateVerdict negotiate = NegotiateVerdict::Queue;
  bool queue_ipsec = true;  // inbound ESP, AH and UDP 4500 go to the queue (else they pass)
  std::uint16_t first_queue = 0;
  std::uint16_t queue_count = 1;  // more than one spreads flows over queues (hash of addresses and ports)
  // TCP through negotiate filters goes to this queue instead (one that takes unsegmented packets).
  std::optional<std::uint16_t> tcp_queue;
  // Inbound ESP (IP protocol 50, and ESP in UDP to port 4500 other than IKE's datagrams and NAT
  // keepalives) is dropped at the first hook instead of queued: a packet socket (nfqueue's
  // esp_ring.h) has taken its copy before netfilter saw it.
  bool esp_taken_before = false;
  std::vector<std::string> exempt_interfaces{"lo"};
  // TCP MSS for connections through negotiate filters: a 1500-byte link minus IP and TCP headers
  // minus room for the largest ESP overhead (tunnel mode, UDP encapsulation, CBC padding, ICV).
  std::uint16_t tcp_mss_ipv4 = 1360;
  std::uint16_t tcp_mss_ipv6 = 1340;
  // A layer of more elements is split into maps of at most this many. The kernel's interval maps
  // check each insert against the whole map, so an install costs elements x this; every map is one
  // more lookup for a packet that misses it (driver/bench/filter_apply measures both).
  std::size_t max_map_elements = 2048;
};

// IKE's own ports, exempt from filtering as Windows exempts IKE.
inline constexpr std::uint16_t kIkePort = 500;
inline constexpr std::uint16_t kNatTraversalPort = 4500;

struct KernelTableFigures {
  std::size_t elements = 0;  // map elements of the table's filters
  std::size_t layers = 0;    // the deepest key's layers
  std::size_t shadowed = 0;
  std::size_t messages = 0;  // netlink messages in the transaction
};

class KernelTable {
 public:
  // Opens the netlink socket in the calling thread's network namespace: the table is installed
  // there whatever thread calls later (no setns, no CAP_SYS_ADMIN).
  static Expected<std::unique_ptr<KernelTable>, std::string> open(KernelTableOptions options);
  ~KernelTable();

  // Replaces the whole table (filters and dynamic filters) in one transaction. On failure the
  // kernel keeps what it had.
  Expected<KernelTableFigures, std::string> install(const FilterTable& table, std::span<const DriverFilter> dynamic);
  // Replaces the dynamic filters alone (one transaction); before any install, installs an empty
  // table with them.
  Expected<void, std::string> replace_dynamic(std::span<const DriverFilter> dynamic);
  // Packets and bytes the kernel decided for each filter of the installed table (by index; zero
  // for negotiate filters, whose packets Ward counts).
  struct Count {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
  };
  Expected<std::vector<Count>, std::string> counters() const;
  // Deletes the table (shutdown). A missing table is not an error.
  Expected<void, std::string> remove();

  const KernelTableOptions& options() const noexcept { return options_; }

  // Tests only: from now on, install transactions carry, after their IPv4 part, an element for a
  // map that does not exist, which the kernel refuses (and with it the whole transaction).
  void inject_failure_after_ipv4_for_testing(bool inject) { inject_failure_after_ipv4_ = inject; }

 private:
  KernelTable(KernelTableOptions options, std::unique_ptr<nft::Socket> socket);
  // Maps and rules of `filters` under chain prefix `prefix` for one family (chains exist).
  void emit_family(nft::Batch& batch, const std::string& prefix, const KernelPlan& plan, IpFamily family, bool decided_here,
                   std::vector<std::string>& maps);
  void emit_base(nft::Batch& batch);
  Expected<KernelTableFigures, std::string> install_locked(const FilterTable& table, std::span<const DriverFilter> dynamic);

  KernelTableOptions options_;
  std::unique_ptr<nft::Socket> socket_;
  mutable std::mutex mutex_;          // the socket and what is installed
  bool installed_ = false;
  std::size_t filter_count_ = 0;
  std::vector<std::string> counted_maps_;   // maps of the table's filters (permit and block elements)
  std::vector<std::string> dynamic_maps_;
  std::uint32_t next_set_id_ = 1;
  std::atomic<bool> inject_failure_after_ipv4_{false};
};

}  // namespace ward::driver
