// Inbound ESP through a packet socket's memory-mapped ring (AF_PACKET, TPACKET_V3) instead of one
// NFQUEUE round trip per packet: the kernel copies each ESP packet addressed to this host into a
// ring block shared with Ward and retires the block when it is full or after 2 ms, and Ward takes
// a whole block per wakeup, with no system call per packet and no verdict. The kernel table drops
// the original at the first hook (KernelTableOptions::esp_taken_before): the packet socket has
// taken its copy before netfilter runs. What the engine decrypts goes to the stack through the TUN
// device (tun_injector.h), so the ring works only with it.
//
// A classic BPF filter on the socket keeps only IPv4/IPv6 ESP addressed to this host (PACKET_HOST:
// not what a promiscuous interface overhears, nor this host's own outgoing packets, which
// PACKET_IGNORE_OUTGOING keeps from being cloned at all): IP protocol 50, and ESP in UDP to port
// 4500 (not IKE's datagrams, which start with the non-ESP marker, nor later IPv4 fragments). AH,
// NAT keepalives and IKE stay on the queue. With PACKET_VNET_HDR a GSO skb of ESP in UDP (a peer's
// UDP_SEGMENT send over a veth, or the kernel's UDP GRO) is one frame, cut back into its datagrams
// here (udp_gso.h): one copy per superpacket instead of one per packet. When the ring is full the
// kernel drops (counted: drops()), never lets anything through in clear.
#pragma once

#include <linux/if_packet.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"

namespace ward::driver {

class EspRing {
 public:
  // Opens the socket and maps its ring in the calling thread's network namespace (CAP_NET_RAW).
  // Packets that arrive on `exempt_interfaces` (loopback, the TUN device) are skipped, as the
  // kernel table exempts them.
  static Expected<std::unique_ptr<EspRing>, std::string> open(const std::vector<std::string>& exempt_interfaces);
  ~EspRing();
  EspRing(const EspRing&) = delete;
  EspRing& operator=(const EspRing&) = delete;

  using BatchHandler = std::function<void(std::span<const std::span<const std::byte>>)>;
  // Waits up to `timeout` for a retired block, then hands the packets of every retired block to
  // `handler` in one batch (the spans are valid during the call only) and gives the blocks back.
  // Returns how many packets were handed over.
  std::size_t receive(const BatchHandler& handler, std::chrono::milliseconds timeout);
  // Packets the kernel dropped because the ring was full, since the last call.
  std::uint64_t drops();
  // GSO frames cut into datagrams, and GSO frames that could not be (dropped), since opening.
  std::uint64_t superpackets() const noexcept { return superpackets_.load(std::memory_order_relaxed); }
  std::uint64_t unsplit() const noexcept { return unsplit_.load(std::memory_order_relaxed); }

 private:
  EspRing(int fd, std::byte* map, std::size_t map_size, std::size_t block_size, std::size_t block_count, std::vector<int> exempt)
      : fd_(fd), map_(map), map_size_(map_size), block_size_(block_size), block_count_(block_count), exempt_(std::move(exempt)) {}
  tpacket_block_desc* block(std::size_t index) const;

  int fd_;
  std::byte* map_;
  std::size_t map_size_;
  std::size_t block_size_;
  std::size_t block_count_;
  std::size_t next_block_ = 0;
  std::vector<int> exempt_;  // interface indexes
  std::vector<std::span<const std::byte>> batch_;
  struct Piece {
    const std::byte* ring;  // in the ring, or (nullptr) at `offset` in scratch_
    std::size_t offset;
    std::size_t size;
  };
  std::vector<Piece> pieces_;
  std::vector<std::byte> scratch_;  // datagrams cut from GSO frames
  std::vector<std::pair<std::size_t, std::size_t>> split_;
  std::atomic<std::uint64_t> superpackets_{0};  // written by the ring's thread only
  std::atomic<std::uint64_t> unsplit_{0};
};

}  // namespace ward::driver
