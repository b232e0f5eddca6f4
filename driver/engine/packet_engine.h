// PacketEngine: the userspace dataplane's packet path, shared by the nfqueue and sim backends.
//
// Outbound: classify; permit passes, block drops, negotiate is protected with the outbound SA of
// (filter, peer) — or, with none yet, passes in clear under a soft association of (filter, peer),
// or is held (a few packets per flow, bounded) while an acquire asks IKE for an SA; when the SA
// (or a soft association) arrives the held packets are protected (or sent in clear) and released.
// Traffic no filter of the table covers meets the dynamic filters (dynamic_filters.h, Windows'
// default response): protected with the dynamic filter's newest outbound SA, or held without an
// acquire (the responder does not negotiate; the peer's quick mode brings the SA); else it passes.
// Inbound: ESP/AH (also ESP in UDP 4500) is looked up by SPI and protocol, verified and
// decrypted, and the decrypted packet must fall under the SA's own filter (or its dynamic filter,
// where the table has none for it); clear traffic that a negotiate filter covers is dropped (fail
// closed), unless the filter accepts unsecured communication (inbound pass-through) or a soft
// association of (filter, source) exists; clear traffic a dynamic filter covers is dropped.
// AH+ESP bundles (SaInstall::bundled_ah): outbound ESP then AH; inbound AH is opened first and
// must hold the bundle's ESP; the bundle's ESP arriving bare is dropped (bundle-incomplete).
//
// Thread safety: every public member may be called from any thread. The filter table is an
// immutable snapshot swapped atomically; SAs are looked up under a shared lock and each SA's
// crypto state has a mutex of its own, so queues on different threads protect different flows in
// parallel.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/crypto/ip_packet.h"
#include "driver/engine/dynamic_filters.h"
#include "driver/engine/soft_associations.h"
#include "driver/engine/spi_allocator.h"
#include "driver/packet/packet_summary.h"

namespace ward::driver {

struct PacketEngineTable;  // the engine's filter table snapshot (packet_engine.cpp)

struct EngineOptions {
  std::size_t max_held_per_flow = 4;   // as Windows: a few packets wait for IKE, the rest drop
  std::size_t max_held_total = 512;
  std::chrono::seconds hold_timeout{30};
  // A held flow whose packets keep coming asks IKE again this often (DataplaneListener::on_acquire):
  // a negotiation that failed or went unanswered (a dead peer) is retried as soon as traffic wants
  // it, not when the hold times out; IKE coalesces the acquires of a negotiation under way.
  std::chrono::milliseconds reacquire_interval{250};
  // Inbound SPIs for IKE (Dataplane::allocate_spi): range, reservation lifetime, limit.
  SpiAllocatorOptions spi_allocation;
};

enum class Disposition : std::uint8_t { Accept, AcceptModified, Drop, Held };

struct PacketOutcome {
  Disposition disposition = Disposition::Drop;
  std::vector<std::byte> bytes;  // the packet to send on instead, for AcceptModified
};

// A held packet whose fate is now decided: sent protected (AcceptModified) or dropped.
struct ReleasedPacket {
  std::uint64_t token = 0;
  Disposition disposition = Disposition::Drop;
  std::vector<std::byte> bytes;
};

class PacketEngine {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  PacketEngine(DataplaneListener& listener, EngineOptions options = {}, Clock clock = std::chrono::steady_clock::now);
  ~PacketEngine();

  // A table ready to swap in: its classifier is built, nothing is in force yet. A backend that
  // must commit the table to the kernel first prepares it, commits, then swaps it in, so that
  // the engine changes only when the kernel did.
  class PreparedTable {
   public:
    PreparedTable() = default;

   private:
    friend class PacketEngine;
    explicit PreparedTable(std::shared_ptr<const struct PacketEngineTable> table) : table_(std::move(table)) {}
    std::shared_ptr<const struct PacketEngineTable> table_;
  };
  PreparedTable prepare_table(FilterTable table) const;
  void install_prepared(PreparedTable prepared);
  void install_table(FilterTable table) { install_prepared(prepare_table(std::move(table))); }
  // Dataplane::allocate_spi / release_spi: an SPI no inbound SA (nor a bundle's AH) uses.
  Expected<std::uint32_t, std::string> allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer);
  Expected<void, std::string> release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol);
  // Returns the held packets the new SA releases. An inbound SA ends the reservation of its SPIs;
  // one reserved for another peer is refused.
  Expected<std::vector<ReleasedPacket>, std::string> add_sa(SaInstall sa);
  // Without `peer`: refused as ambiguous where two peers' outbound SAs share the SPI.
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction, const IpAddress* peer = nullptr);
  // Returns the held packets it releases, to be sent in clear (Accept, with their bytes).
  Expected<std::vector<ReleasedPacket>, std::string> add_soft_association(const SoftAssociation& association);
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer);

  // The dynamic filters, both directions (backends that mirror them into kernel rules), and a
  // number that changes whenever they do.
  std::vector<DriverFilter> dynamic_filters() const { return dynamic_.filters(); }
  std::uint64_t dynamic_filters_version() const noexcept { return dynamic_.version(); }

  // `hold_token` identifies the packet if it has to wait (the backend's handle for it).
  // Held packets released in clear (a soft association) are given back as Accept with their bytes.
  PacketOutcome outbound(std::span<const std::byte> packet, std::uint64_t hold_token);
  PacketOutcome inbound(std::span<const std::byte> packet);
  // inbound() into `out`, whose bytes buffer is reused: a caller that keeps `out` between packets
  // allocates nothing per decrypted packet. `inner`: MarkedValidByCaller where the caller hands
  // decrypted packets to the stack marked checksum-valid (a TUN device with virtio-net headers),
  // which spares transport-mode ESP in UDP the inner checksum recompute (crypto::InnerChecksum).
  void inbound_into(std::span<const std::byte> packet, PacketOutcome& out,
                    crypto::InnerChecksum inner = crypto::InnerChecksum::Refresh);
  // A burst of outbound packets, as a queue hands them over: classified together (the classifier's
  // burst lookup overlaps the walks), then each handled as outbound() would; out[i] is packets[i]'s
  // (its bytes buffer is reused, so a caller that keeps `out` between bursts allocates nothing).
  void outbound_burst(std::span<const std::span<const std::byte>> packets, std::span<const std::uint64_t> hold_tokens,
                      std::span<PacketOutcome> out);

  // Lifetimes and hold timeouts: call about once a second, and as soon as expiry_due() says so.
  // Returns held packets now dropped.
  std::vector<ReleasedPacket> tick();
  // True once an SA's traffic has crossed its soft or hard byte lifetime since the last tick: at a
  // gigabit, a whole byte lifetime can go by between two ticks a second apart, and the soft expiry
  // (which starts the rekey) would come too late to matter.
  bool expiry_due() const noexcept { return expiry_due_.load(std::memory_order_relaxed); }

  DataplaneCounters counters() const;

 private:
  using Table = PacketEngineTable;
  struct SaEntry;
  struct Flow;
  using FlowKey = std::pair<std::uint32_t, IpAddress>;  // (filter id, peer)

  std::shared_ptr<const Table> table() const;
  void count_drop(crypto::DropReason reason);
  PacketOutcome protect(SaEntry& entry, std::span<const std::byte> packet);
  void protect_into(SaEntry& entry, std::span<const std::byte> packet, PacketOutcome& outcome);
  // outbound() once the table's first match (or none) is known.
  void outbound_matched(const PacketSummary& summary, std::span<const std::byte> packet, std::uint64_t hold_token, const Table& snapshot,
                        const DriverFilter* filter, std::size_t index, PacketOutcome& out);
  void count_traffic(SaEntry& entry, std::size_t bytes);
  // Without `acquire` (a dynamic filter's flow) the packet waits for an SA nobody asks for.
  PacketOutcome hold(const FlowKey& key, const std::optional<Acquire>& acquire, std::span<const std::byte> packet, std::uint64_t token);
  PacketOutcome outbound_dynamic(const PacketSummary& summary, std::span<const std::byte> packet, std::uint64_t hold_token);
  PacketOutcome inbound_clear(const PacketSummary& summary, std::span<const std::byte> packet);
  void remove_sa_entry(SaEntry& entry);  // under sas_mutex_: its dynamic filter loses an SA, a bundle its AH SPI
  void open_ipsec(std::uint32_t spi, crypto::SecurityProtocol protocol, std::span<const std::byte> packet, PacketOutcome& out,
                  crypto::InnerChecksum inner);
  void forget_bundled_ah(const SaEntry& entry);   // sas_mutex_ held
  std::shared_ptr<SaEntry> outbound_sa(const FlowKey& key) const;

  DataplaneListener& listener_;
  EngineOptions options_;
  Clock clock_;

  std::atomic<std::shared_ptr<const Table>> table_;
  DynamicFilters dynamic_;        // changed under sas_mutex_
  SoftAssociations soft_;

  mutable std::shared_mutex sas_mutex_;
  std::map<std::uint32_t, std::shared_ptr<SaEntry>> inbound_sas_;   // by SPI (an AH+ESP bundle: its ESP SPI)
  std::map<std::uint32_t, std::shared_ptr<SaEntry>> inbound_bundle_ah_;   // AH+ESP bundles by their AH SPI
  // By (SPI, peer): outbound SPIs are the peers' choice and two peers may choose the same one.
  std::map<std::pair<std::uint32_t, IpAddress>, std::shared_ptr<SaEntry>> outbound_by_spi_;
  std::map<FlowKey, std::shared_ptr<SaEntry>> outbound_sas_;       // the newest per flow
  SpiAllocator spis_;                                                // under sas_mutex_ (unique)

  std::mutex held_mutex_;
  std::map<FlowKey, Flow> held_;
  std::size_t held_total_ = 0;

  std::array<std::atomic<std::uint64_t>, crypto::kDropReasonCount> drops_by_reason_{};
  std::atomic<std::uint64_t> malformed_{0}, blocked_{0}, unsecured_dropped_{0}, unsecured_accepted_{0}, unknown_spi_{0},
      policy_mismatch_{0}, held_count_{0}, hold_dropped_{0}, acquires_{0};
  std::atomic<bool> expiry_due_{false};
};

}  // namespace ward::driver
