// The nfqueue backend: Ward's default dataplane on kernels without ESP. The kernel decides permit
// and block at the first hook (chain_rules.h); negotiate traffic and inbound ESP/AH come to Ward
// through NFQUEUE, one thread per queue, and go back protected or decrypted as the packet's verdict.
// A packet that waits for its SA simply has no verdict yet: the kernel keeps it queued.
// The engine's dynamic filters (default response) are mirrored into the kernel's dynamic chains
// (chain_rules.h) whenever they change: before add_sa returns for an SA that brings a new one, so
// the host's reply to the peer is queued (and protected), never sent clear by the kernel.
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
#include "driver/nfqueue/chain_rules.h"
#include "driver/nfqueue/netfilter_queue.h"

namespace ward::driver {

struct NfqueueOptions {
  ChainOptions chains;
  EngineOptions engine;
};

class NfqueueDataplane final : public Dataplane {
 public:
  // Binds the queues and remembers the calling thread's network namespace, where the kernel rules
  // are installed whatever thread later calls install_filter_table(): directly when that thread is
  // in the same namespace (wardd: no setns, so no CAP_SYS_ADMIN), from a helper thread that enters
  // it otherwise (tests that drive a dataplane of another namespace).
  static Expected<std::unique_ptr<NfqueueDataplane>, std::string> start(DataplaneListener& listener, NfqueueOptions options);
  ~NfqueueDataplane() override;  // stops the queue threads and removes the kernel rules

  Capabilities capabilities() const override;
  Expected<void, std::string> install_filter_table(FilterTable table) override;
  Expected<void, std::string> add_sa(SaInstall sa) override;
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;

 private:
  struct Queue {
    std::unique_ptr<NetfilterQueue> queue;
    std::mutex verdict_mutex;  // verdicts (and flushes) come from the queue's thread and from add_sa's caller
  };

  NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, int namespace_fd);
  void serve(std::size_t index);
  void deliver(const std::vector<ReleasedPacket>& released);
  // Queues the verdict on its queue; flush_verdicts() sends what a queue has pending.
  void give_verdict(std::size_t queue, std::uint32_t packet_id, const PacketOutcome& outcome);
  void flush_verdicts(std::size_t queue);
  Expected<void, std::string> in_own_namespace(const std::function<Expected<void, std::string>()>& work);
  // Brings the kernel's dynamic chains up to the engine's dynamic filters (no-op when current).
  Expected<void, std::string> sync_dynamic_filters();

  NfqueueOptions options_;
  PacketEngine engine_;
  int namespace_fd_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::thread> threads_;
  std::mutex kernel_mutex_;  // kernel rule loads: the agent's table and IKE's dynamic filters
  std::uint64_t kernel_dynamic_version_ = 0;
  std::array<std::string, 2> kernel_dynamic_rules_;  // what the dynamic chains hold, IPv4 and IPv6
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> verdict_errors_{0};
};

}  // namespace ward::driver
