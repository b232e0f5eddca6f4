#include "driver/nfqueue/esp_ring.h"

#include "common/errno_text.h"
#include "common/ip_protocol.h"
#include "driver/nfqueue/udp_gso.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ward::driver {

namespace {

// 32 blocks of 256 KiB: about 5,000 full-size ESP packets, 8 MiB (as much as the 4,096 packets an
// NFQUEUE queue holds). With 8 blocks (2 MiB) the ring overflowed whenever the machine was busy and
// its thread waited for a CPU: thousands of TCP retransmissions per 3 s, and throughput swinging
// by 4x between runs (driver/bench nfqueue_throughput prints the ring's drops).
constexpr std::size_t kBlockSize = std::size_t{1} << 18;
constexpr std::size_t kBlockCount = 32;
// Blocks handed to the handler at once, then given back: the kernel keeps filling the rest.
constexpr std::size_t kBlocksPerBatch = 4;
constexpr std::size_t kFrameSize = 2048;  // TPACKET_V3 ignores it but checks block_size % frame_size
constexpr unsigned kRetireMs = 2;
constexpr std::uint32_t kNatTraversalPort = 4500;
constexpr std::uint32_t kSnap = 0x40000;  // a whole GSO frame (up to 64 KiB) fits a 256 KiB block
constexpr auto kNet = static_cast<std::uint32_t>(SKF_NET_OFF);

// ESP, or ESP in UDP to port 4500 whose payload does not start with the non-ESP marker (IKE's
// datagrams go on to IKE's socket), addressed to this host; IPv4 (any header length; not a later
// fragment, which has no UDP header) or IPv6 (ESP or UDP right after the fixed header). The kernel
// table drops exactly these at the first hook (KernelTableOptions::esp_taken_before). Offsets are
// from the IP header (SKF_NET_OFF: the socket is SOCK_RAW, which PACKET_VNET_HDR needs).
sock_filter kEspToThisHost[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 21),
    /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 10),
    /* 4 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kNet + 9),  // IPv4 protocol
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto::kEsp, 16, 0),
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto::kUdp, 0, 16),
    /* 7 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, kNet + 6),  // flags and fragment offset
    /* 8 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1FFF, 14, 0),
    /* 9 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, kNet + 0),  // X = IPv4 header length
    /* 10 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, kNet + 2),  // UDP destination port
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNatTraversalPort, 0, 11),
    /* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, kNet + 8),  // SPI, or the non-ESP marker
    /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 9, 8),
    /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IPV6, 0, 8),
    /* 15 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kNet + 6),  // IPv6 next header
    /* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto::kEsp, 5, 0),
    /* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_proto::kUdp, 0, 5),
    /* 18 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, kNet + 42),
    /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNatTraversalPort, 0, 3),
    /* 20 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNet + 48),
    /* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    /* 22 */ BPF_STMT(BPF_RET | BPF_K, kSnap),
    /* 23 */ BPF_STMT(BPF_RET | BPF_K, 0),
};

// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a member is named `class`).
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
constexpr std::uint8_t kGsoNone = 0;
constexpr std::uint8_t kGsoUdpL4 = 5;  // VIRTIO_NET_HDR_GSO_UDP_L4


}  // namespace

Expected<std::unique_ptr<EspRing>, std::string> EspRing::open(const std::vector<std::string>& exempt_interfaces) {
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return unexpected(errno_text("packet socket"));
  const auto fail = [fd](const char* what) -> Expected<std::unique_ptr<EspRing>, std::string> {
    auto text = errno_text(what);
    close(fd);
    return unexpected(std::move(text));
  };
  sock_fprog program{static_cast<unsigned short>(std::size(kEspToThisHost)), kEspToThisHost};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) return fail("SO_ATTACH_FILTER");
  const int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) return fail("PACKET_IGNORE_OUTGOING");
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) return fail("PACKET_VNET_HDR");
  const int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) return fail("PACKET_VERSION");
  tpacket_req3 request{};
  request.tp_block_size = kBlockSize;
  request.tp_block_nr = kBlockCount;
  request.tp_frame_size = kFrameSize;
  request.tp_frame_nr = kBlockSize * kBlockCount / kFrameSize;
  request.tp_retire_blk_tov = kRetireMs;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) != 0) return fail("PACKET_RX_RING");
  const std::size_t size = kBlockSize * kBlockCount;
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (map == MAP_FAILED) map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);  // over RLIMIT_MEMLOCK
  if (map == MAP_FAILED) return fail("mmap of the packet ring");
  std::vector<int> exempt;
  for (const auto& name : exempt_interfaces) {
    if (const unsigned index = if_nametoindex(name.c_str()); index != 0) exempt.push_back(static_cast<int>(index));
  }
  return std::unique_ptr<EspRing>(new EspRing(fd, static_cast<std::byte*>(map), size, kBlockSize, kBlockCount, std::move(exempt)));
}

EspRing::~EspRing() {
  munmap(map_, map_size_);
  close(fd_);
}

tpacket_block_desc* EspRing::block(std::size_t index) const {
  return static_cast<tpacket_block_desc*>(static_cast<void*>(map_ + index * block_size_));
}

std::size_t EspRing::receive(const BatchHandler& handler, std::chrono::milliseconds timeout) {
  const auto ready = [this](std::size_t index) {
    return (__atomic_load_n(&block(index)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
  };
  if (!ready(next_block_)) {
    pollfd wait{fd_, POLLIN | POLLERR, 0};
    if (poll(&wait, 1, static_cast<int>(timeout.count())) <= 0 || !ready(next_block_)) return 0;
  }
  batch_.clear();
  pieces_.clear();
  scratch_.clear();
  std::size_t taken = 0;
  while (taken < std::min(block_count_, kBlocksPerBatch) && ready((next_block_ + taken) % block_count_)) {
    auto* desc = block((next_block_ + taken) % block_count_);
    auto* at = static_cast<std::byte*>(static_cast<void*>(desc)) + desc->hdr.bh1.offset_to_first_pkt;
    for (std::uint32_t i = 0; i < desc->hdr.bh1.num_pkts; ++i) {
      const auto* header = static_cast<const tpacket3_hdr*>(static_cast<const void*>(at));
      const auto* link = static_cast<const sockaddr_ll*>(static_cast<const void*>(at + TPACKET_ALIGN(sizeof(tpacket3_hdr))));
      bool exempt = false;
      for (const int index : exempt_) exempt = exempt || link->sll_ifindex == index;
      const std::size_t link_header = header->tp_net - header->tp_mac;
      if (!exempt && header->tp_snaplen == header->tp_len && header->tp_snaplen > link_header) {
        const std::span<const std::byte> packet(at + header->tp_net, header->tp_snaplen - link_header);
        VnetHeader vnet{};
        std::memcpy(&vnet, at + header->tp_mac - sizeof vnet, sizeof vnet);
        if (vnet.gso_type == kGsoNone) {
          pieces_.push_back({packet.data(), 0, packet.size()});
        } else if (vnet.gso_type == kGsoUdpL4) {
          // One GSO skb of ESP in UDP (a peer's UDP_SEGMENT send that crossed a veth, or what the
          // kernel's UDP GRO joined): back into the datagrams the peer sent.
          split_.clear();
          if (append_udp_datagrams(packet, vnet.gso_size, scratch_, split_)) {
            for (const auto& [offset, size] : split_) pieces_.push_back({nullptr, offset, size});
            superpackets_.fetch_add(1, std::memory_order_relaxed);
          } else {
            unsplit_.fetch_add(1, std::memory_order_relaxed);
          }
        } else {
          unsplit_.fetch_add(1, std::memory_order_relaxed);  // GSO of another kind (ESP with offload): never seen here, so not opened
        }
      }
      at += header->tp_next_offset;
    }
    ++taken;
  }
  // Spans into scratch_ only now: it grew while the frames were cut.
  for (const auto& piece : pieces_) {
    batch_.emplace_back(piece.ring ? piece.ring : scratch_.data() + piece.offset, piece.size);
  }
  if (!batch_.empty()) handler(batch_);
  for (std::size_t i = 0; i < taken; ++i) {
    __atomic_store_n(&block((next_block_ + i) % block_count_)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  next_block_ = (next_block_ + taken) % block_count_;
  return batch_.size();
}

std::uint64_t EspRing::drops() {
  tpacket_stats_v3 stats{};
  socklen_t length = sizeof stats;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

}  // namespace ward::driver
