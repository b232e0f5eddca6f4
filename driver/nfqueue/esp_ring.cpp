#include "driver/nfqueue/esp_ring.h"

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
constexpr std::uint8_t kEspProtocol = 50;

// Offsets are from the IP header (SOCK_DGRAM).
sock_filter kEspToThisHost[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 8),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 2),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),  // IPv4 protocol
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kEspProtocol, 3, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IPV6, 0, 3),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),  // IPv6 next header (ESP right after the fixed header)
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kEspProtocol, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xFFFF),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

Expected<std::unique_ptr<EspRing>, std::string> EspRing::open(const std::vector<std::string>& exempt_interfaces) {
  const int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
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
  std::size_t taken = 0;
  while (taken < std::min(block_count_, kBlocksPerBatch) && ready((next_block_ + taken) % block_count_)) {
    auto* desc = block((next_block_ + taken) % block_count_);
    auto* at = static_cast<std::byte*>(static_cast<void*>(desc)) + desc->hdr.bh1.offset_to_first_pkt;
    for (std::uint32_t i = 0; i < desc->hdr.bh1.num_pkts; ++i) {
      const auto* header = static_cast<const tpacket3_hdr*>(static_cast<const void*>(at));
      const auto* link = static_cast<const sockaddr_ll*>(static_cast<const void*>(at + TPACKET_ALIGN(sizeof(tpacket3_hdr))));
      bool exempt = false;
      for (const int index : exempt_) exempt = exempt || link->sll_ifindex == index;
      if (!exempt && header->tp_snaplen == header->tp_len) batch_.emplace_back(at + header->tp_mac, header->tp_snaplen);
      at += header->tp_next_offset;
    }
    ++taken;
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
