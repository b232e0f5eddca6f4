// The nfqueue backend: Ward's default dataplane on kernels without ESP. The kernel decides permit
// and block at the first hook (driver/kernel_table: one nftables transaction per table); negotiate
// traffic and inbound ESP/AH come to Ward through NFQUEUE, one thread per queue, and go back
// protected or decrypted as the packet's verdict. A packet that waits for its SA simply has no
// verdict yet: the kernel keeps it queued.
// A new table is committed to the kernel first and swapped into the engine only once the kernel
// took it; a refused table leaves both on the old one.
// The engine's dynamic filters (default response) are mirrored into the kernel table's dynamic
// maps whenever they change: before add_sa returns for an SA that brings a new one, so the host's
// reply to the peer is queued (and protected), never sent clear by the kernel.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "driver/api/dataplane.h"
#include "driver/engine/packet_engine.h"
#include "driver/kernel_table/kernel_table.h"
#include "driver/nfqueue/netfilter_queue.h"

namespace ward::driver {

struct NfqueueOptions {
  KernelTableOptions kernel;  // queue numbers, exempt interfaces, TCP MSS
  EngineOptions engine;
};

class NfqueueDataplane final : public Dataplane {
 public:
  // Binds the queues and opens the kernel table's netlink socket in the calling thread's network
  // namespace: the table goes there whatever thread later calls install_filter_table(), without
  // setns (so without CAP_SYS_ADMIN).
  static Expected<std::unique_ptr<NfqueueDataplane>, std::string> start(DataplaneListener& listener, NfqueueOptions options);
  ~NfqueueDataplane() override;  // stops the queue threads and removes the kernel table

  Capabilities capabilities() const override;
  Expected<void, std::string> install_filter_table(FilterTable table) override;
  Expected<void, std::string> add_sa(SaInstall sa) override;
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;

  KernelTable& kernel_table() noexcept { return *kernel_; }

 private:
  struct Queue {
    std::unique_ptr<NetfilterQueue> queue;
    std::mutex verdict_mutex;  // verdicts (and flushes) come from the queue's thread and from add_sa's caller
  };

  NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, std::unique_ptr<KernelTable> kernel);
  void serve(std::size_t index);
  void deliver(const std::vector<ReleasedPacket>& released);
  // Queues the verdict on its queue; flush_verdicts() sends what a queue has pending.
  void give_verdict(std::size_t queue, std::uint32_t packet_id, const PacketOutcome& outcome);
  void flush_verdicts(std::size_t queue);
  // Brings the kernel's dynamic maps up to the engine's dynamic filters (no-op when current).
  Expected<void, std::string> sync_dynamic_filters();

  NfqueueOptions options_;
  PacketEngine engine_;
  std::unique_ptr<KernelTable> kernel_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::thread> threads_;
  std::mutex kernel_mutex_;  // kernel table changes: the agent's table and IKE's dynamic filters
  std::uint64_t kernel_dynamic_version_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> verdict_errors_{0};
};

}  // namespace ward::driver
