// PacketEngine: the userspace dataplane's packet path, shared by the nfqueue and sim backends.
//
// Outbound: classify; permit passes, block drops, negotiate is protected with the outbound SA of
// (filter, peer) — or, with none yet, held (a few packets per flow, bounded) while an acquire asks
// IKE for one; when the SA arrives the held packets are protected and released.
// Inbound: ESP/AH (also ESP in UDP 4500) is looked up by SPI and protocol, verified and
// decrypted, and the decrypted packet must fall under the SA's own filter; clear traffic that a
// negotiate filter covers is dropped (fail closed).
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
#include <shared_mutex>
#include <span>
#include <vector>

#include "driver/api/dataplane.h"

namespace ward::driver {

struct EngineOptions {
  std::size_t max_held_per_flow = 4;   // as Windows: a few packets wait for IKE, the rest drop
  std::size_t max_held_total = 512;
  std::chrono::seconds hold_timeout{30};
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

  void install_table(FilterTable table);
  // Returns the held packets the new SA releases.
  Expected<std::vector<ReleasedPacket>, std::string> add_sa(SaInstall sa);
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction);

  // `hold_token` identifies the packet if it has to wait (the backend's handle for it).
  PacketOutcome outbound(std::span<const std::byte> packet, std::uint64_t hold_token);
  PacketOutcome inbound(std::span<const std::byte> packet);

  // Lifetimes and hold timeouts: call about once a second, and as soon as expiry_due() says so.
  // Returns held packets now dropped.
  std::vector<ReleasedPacket> tick();
  // True once an SA's traffic has crossed its soft or hard byte lifetime since the last tick: at a
  // gigabit, a whole byte lifetime can go by between two ticks a second apart, and the soft expiry
  // (which starts the rekey) would come too late to matter.
  bool expiry_due() const noexcept { return expiry_due_.load(std::memory_order_relaxed); }

  DataplaneCounters counters() const;

 private:
  struct Table;
  struct SaEntry;
  struct Flow;
  using FlowKey = std::pair<std::uint32_t, IpAddress>;  // (filter id, peer)

  std::shared_ptr<const Table> table() const;
  void count_drop(crypto::DropReason reason);
  PacketOutcome protect(SaEntry& entry, std::span<const std::byte> packet);
  void count_traffic(SaEntry& entry, std::size_t bytes);
  PacketOutcome hold(const FlowKey& key, const Acquire& acquire, std::span<const std::byte> packet, std::uint64_t token);
  PacketOutcome open_ipsec(std::uint32_t spi, crypto::SecurityProtocol protocol, std::span<const std::byte> packet);
  void forget_bundled_ah(const SaEntry& entry);   // sas_mutex_ held
  std::shared_ptr<SaEntry> outbound_sa(const FlowKey& key) const;

  DataplaneListener& listener_;
  EngineOptions options_;
  Clock clock_;

  std::atomic<std::shared_ptr<const Table>> table_;

  mutable std::shared_mutex sas_mutex_;
  std::map<std::uint32_t, std::shared_ptr<SaEntry>> inbound_sas_;   // by SPI (an AH+ESP bundle: its ESP SPI)
  std::map<std::uint32_t, std::shared_ptr<SaEntry>> inbound_bundle_ah_;   // AH+ESP bundles by their AH SPI
  std::map<std::uint32_t, std::shared_ptr<SaEntry>> outbound_by_spi_;
  std::map<FlowKey, std::shared_ptr<SaEntry>> outbound_sas_;       // the newest per flow

  std::mutex held_mutex_;
  std::map<FlowKey, Flow> held_;
  std::size_t held_total_ = 0;

  std::array<std::atomic<std::uint64_t>, crypto::kDropReasonCount> drops_by_reason_{};
  std::atomic<std::uint64_t> malformed_{0}, blocked_{0}, unsecured_dropped_{0}, unknown_spi_{0}, policy_mismatch_{0}, held_count_{0},
      hold_dropped_{0}, acquires_{0};
  std::atomic<bool> expiry_due_{false};
};

}  // namespace ward::driver
