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
#include "driver/nfqueue/esp_ring.h"
#include "driver/nfqueue/gso_segments.h"
#include "driver/nfqueue/netfilter_queue.h"
#include "driver/nfqueue/raw_sender.h"
#include "driver/nfqueue/tun_injector.h"

namespace ward::driver {

struct NfqueueOptions {
  KernelTableOptions kernel;  // queue numbers, exempt interfaces, TCP MSS
  EngineOptions engine;
  // TCP through negotiate filters goes to one more queue (first_queue + queue_count) that takes
  // packets unsegmented (NFQA_CFG_F_GSO, up to 64 KiB): its thread cuts them into segments
  // (gso_segments.h), protects them in one burst and sends them through a raw socket
  // (raw_sender.h), and drops the original. Off: every packet is one queue round trip.
  // Needs raw sockets (CAP_NET_RAW); without them it is left off (tcp_segmentation_error()).
  // Off by default, as wardd's [driver] fast_path (README.md, "Throughput").
  bool tcp_segmentation = false;
  // Decrypted packets go to the stack through a TUN device (tun_injector.h: TCP segments of one
  // flow joined into 64 KiB packets) and the ESP packet is dropped, instead of coming back as the
  // ESP packet's verdict. Where the device cannot be made, verdicts it is. Off by default, as above.
  bool tun_injection = false;
  // Inbound ESP (not NAT-T) through a packet socket's ring instead of the queue (esp_ring.h); only
  // with the TUN device. Where the ring cannot be made, the queue it is.
  bool esp_ring = false;
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
  Expected<std::uint32_t, std::string> allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return engine_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) override {
    return engine_.release_spi(spi, protocol);
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) override;
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) override;
  Expected<void, std::string> add_soft_association(SoftAssociation association) override;
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override;
  DataplaneCounters counters() const override;
  // IKE's NAT-T sockets (duplicates are kept): ESP in UDP from their address and port leaves
  // through them with UDP_SEGMENT (raw_sender.h): IKE holds port 4500, so the fast path cannot
  // bind it itself.
  Expected<void, std::string> prepare_ike_socket(int fd, bool nat_traversal) override;

  KernelTable& kernel_table() noexcept { return *kernel_; }
  // The TUN device decrypted packets go through, or why there is none (empty name).
  std::string tun_device() const { return tun_ ? tun_->name() : std::string(); }
  const std::string& tun_error() const noexcept { return tun_error_; }
  bool esp_ring_used() const noexcept { return ring_ != nullptr; }
  // Whether TCP segmentation is on, or why not (no raw socket: CAP_NET_RAW; the dataplane then
  // starts without it rather than not at all).
  bool tcp_segmentation_used() const noexcept { return release_sender_ != nullptr; }
  const std::string& tcp_segmentation_error() const noexcept { return segmentation_error_; }
  // The three parts of the fast path, each on or off and why, for wardd's log.
  std::string fast_path_status() const;
  const std::string& esp_ring_error() const noexcept { return ring_error_; }
  // The backend's own failures (the engine counts the packets' fates).
  struct BackendCounters {
    std::uint64_t verdict_errors = 0;       // verdicts the kernel refused
    std::uint64_t segmentation_errors = 0;  // unsegmented packets that could not be cut (dropped)
    std::uint64_t raw_send_errors = 0;      // protected segments the raw socket refused
    std::uint64_t inject_errors = 0;        // decrypted packets the TUN device refused
    std::uint64_t ring_packets = 0;         // ESP packets taken from the packet ring
    std::uint64_t ring_drops = 0;           // ESP packets the kernel dropped with the ring full
    std::uint64_t ring_superpackets = 0;    // GSO frames of ESP in UDP the ring cut into datagrams
    std::uint64_t ring_unsplit = 0;         // GSO frames it could not cut (dropped)
    std::uint64_t udp_gso_datagrams = 0;    // ESP-in-UDP packets sent in UDP_SEGMENT runs
    std::uint64_t udp_gso_sends = 0;        // the sendmsg calls that carried them
  };
  BackendCounters backend_counters() const noexcept;

 private:
  struct Queue {
    std::unique_ptr<NetfilterQueue> queue;
    std::mutex verdict_mutex;  // verdicts (and flushes) come from the queue's thread and from add_sa's caller
    bool unsegmented = false;  // the TCP queue (NfqueueOptions::tcp_segmentation)
    std::unique_ptr<RawSender> raw;  // that queue's thread's
    // The queue thread's scratch, kept between batches (no allocation once warm).
    std::vector<QueuedPacket> batch;
    TcpSegments segments;  // the batch's unsegmented packets, cut
    struct Cut {
      std::uint32_t packet_id;
      std::size_t first;  // its segments in `segments`
      std::size_t count;
    };
    std::vector<Cut> cuts;
    std::vector<std::span<const std::byte>> spans;
    std::vector<std::uint64_t> tokens;
    std::vector<PacketOutcome> outcomes;
    std::vector<PacketOutcome> inbound_outcomes;
    std::vector<std::span<const std::byte>> decrypted;
    std::vector<std::span<const std::byte>> segment_spans;  // one unsegmented packet's segments
    std::vector<std::uint64_t> segment_tokens;
    std::vector<PacketOutcome> segment_outcomes;
  };

  NfqueueDataplane(DataplaneListener& listener, NfqueueOptions options, std::unique_ptr<KernelTable> kernel);
  void serve(std::size_t index);
  void handle_batch(std::size_t index);
  void serve_ring();  // the ESP ring's thread
  // Outbound TCP packets of the unsegmented queue: each cut into the batch's segments (a packet
  // that cannot be cut is dropped); then all of them protected in one burst and sent raw with one
  // sendmmsg, the originals dropped, or an original accepted as it is when none of its segments
  // needs protecting.
  void cut_unsegmented(std::size_t index, const QueuedPacket& packet);
  void send_unsegmented(std::size_t index);
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
  std::atomic<std::uint64_t> segmentation_errors_{0};
  std::atomic<std::uint64_t> raw_send_errors_{0};
  std::mutex release_mutex_;            // released packets that leave through release_sender_
  std::unique_ptr<RawSender> release_sender_;  // set when TCP segmentation is on
  std::string segmentation_error_;
  std::unique_ptr<TunInjector> tun_;
  std::string tun_error_;
  std::atomic<std::uint64_t> inject_errors_{0};
  std::unique_ptr<EspRing> ring_;
  std::string ring_error_;
  std::atomic<std::uint64_t> ring_packets_{0};
  std::atomic<std::uint64_t> ring_drops_{0};
  std::vector<int> ike_nat_t_sockets_;  // prepare_ike_socket()'s duplicates (IKE's, one per address)
};

}  // namespace ward::driver
