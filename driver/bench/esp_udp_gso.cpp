// esp_udp_gso: what UDP encapsulation (RFC 3948, port 4500) would buy the fast path's per-ESP-packet
// kernel work, measured without Ward's crypto: host A blasts ESP-sized packets at host B over a
// veth pair for a few seconds, in superpackets of 44 (one 64 KiB TCP superpacket's worth of
// 1,424-byte ESP payloads), and B takes them as the fast path would. Each case prints what B
// received (Gbit/s of ESP payload), this process's CPU seconds per Gbit received (both hosts; the
// softirq work of the veth runs in the sending thread's context), and what was lost.
//   sender:   raw ESP sendmmsg (today's RawSender: IPPROTO_ESP, one message per packet)
//             UDP sendmmsg (ESP in UDP, one message per packet)
//             UDP_SEGMENT (ESP in UDP, one sendmsg per superpacket: UDP GSO)
//   receiver: ring (today's EspRing: TPACKET_V3, frames copied per packet, original dropped at
//             prerouting by nftables), ring with PACKET_VNET_HDR (a GSO skb is one frame, its
//             gso_size in the virtio-net header), a UDP socket with UDP_GRO, a plain UDP socket.
// Needs root (namespaces); traffic only between its own namespaces.
//   esp_udp_gso [seconds per case, default 2] [rounds, default 3]
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/netns/netns.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace {

using namespace std::chrono_literals;

// linux/virtio_net.h cannot be included from C++ (a member is named `class`).
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
constexpr std::uint8_t kGsoNone = 0;

constexpr std::size_t kPayload = 1424;  // ESP of a 1,368-byte TCP segment (AES-GCM, tunnel-free), roughly
constexpr std::size_t kPerSuper = 44;
constexpr std::uint16_t kPort = 4500;
const char* const kA = "10.20.11.1";
const char* const kB = "10.20.11.2";

enum class Send { RawEsp, UdpPerPacket, UdpSegment };
enum class Receive { Ring, RingVnet, UdpGro, UdpPerPacket };

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

sockaddr_in address(const char* ip, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  inet_pton(AF_INET, ip, &out.sin_addr);
  return out;
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

int open_sender(Send mode) {
  if (mode == Send::RawEsp) {
    const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ESP);
    check(fd >= 0, "raw ESP socket");
    return fd;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  check(fd >= 0, "UDP socket");
  const auto self = address(kA, kPort);
  check(bind(fd, reinterpret_cast<const sockaddr*>(&self), sizeof self) == 0, "bind 4500");
  const int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  return fd;
}

// Sends superpackets until `stop`; returns the packets the kernel refused.
std::uint64_t send_loop(int fd, Send mode, const std::atomic<bool>& stop) {
  std::vector<unsigned char> data(kPayload * kPerSuper);
  for (std::size_t i = 0; i < kPerSuper; ++i) {
    // SPI 0x1001 (never the non-ESP marker), then a sequence number and filler.
    data[i * kPayload + 2] = 0x10;
    data[i * kPayload + 3] = 0x01;
    std::memset(&data[i * kPayload + 8], 0xA5, kPayload - 8);
  }
  auto peer = address(kB, mode == Send::RawEsp ? 0 : kPort);
  std::vector<iovec> vectors(kPerSuper);
  std::vector<mmsghdr> messages(kPerSuper);
  for (std::size_t i = 0; i < kPerSuper; ++i) {
    vectors[i] = {&data[i * kPayload], kPayload};
    messages[i].msg_hdr = {};
    messages[i].msg_hdr.msg_name = &peer;
    messages[i].msg_hdr.msg_namelen = sizeof peer;
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  std::uint64_t refused = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (mode == Send::UdpSegment) {
      iovec whole{data.data(), data.size()};
      alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
      msghdr message{};
      message.msg_name = &peer;
      message.msg_namelen = sizeof peer;
      message.msg_iov = &whole;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&message);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const std::uint16_t size = kPayload;
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
      if (sendmsg(fd, &message, 0) < 0) refused += kPerSuper;
    } else {
      std::size_t done = 0;
      while (done < kPerSuper) {
        const int sent = sendmmsg(fd, &messages[done], static_cast<unsigned>(kPerSuper - done), 0);
        if (sent <= 0) {
          refused += kPerSuper - done;
          break;
        }
        done += static_cast<std::size_t>(sent);
      }
    }
  }
  return refused;
}

// BPF for the ring: IPv4 to this host, ESP (protocol 50) or UDP to port 4500 with a payload that
// is not the non-ESP marker. Offsets from the IP header (SKF_NET_OFF: the socket is SOCK_RAW, which
// PACKET_VNET_HDR needs), IPv4 without options here.
sock_filter kEspOrEspInUdp[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 8),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF + 9)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 50, 5, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 5),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF + 22)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kPort, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF + 28)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0x40000),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

struct Received {
  std::uint64_t bytes = 0;    // ESP payload bytes (without IP and UDP headers)
  std::uint64_t packets = 0;  // ESP packets (datagrams: a GSO frame counts its segments)
  std::uint64_t frames = 0;   // what the receiver handled as one unit
  std::uint64_t drops = 0;    // ring overflow
};

class Receiver {
 public:
  Receiver(Receive mode) : mode_(mode) {
    if (mode == Receive::Ring || mode == Receive::RingVnet) {
      fd_ = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
      check(fd_ >= 0, "packet socket");
      sock_fprog program{static_cast<unsigned short>(std::size(kEspOrEspInUdp)), kEspOrEspInUdp};
      check(setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0, "filter");
      const int one = 1;
      check(setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) == 0, "ignore outgoing");
      if (mode == Receive::RingVnet) check(setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0, "PACKET_VNET_HDR");
      const int version = TPACKET_V3;
      check(setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) == 0, "version");
      tpacket_req3 request{};
      request.tp_block_size = kBlock;
      request.tp_block_nr = kBlocks;
      request.tp_frame_size = 2048;
      request.tp_frame_nr = kBlock * kBlocks / 2048;
      request.tp_retire_blk_tov = 2;
      check(setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) == 0, "ring");
      void* map = mmap(nullptr, kBlock * kBlocks, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
      check(map != MAP_FAILED, "mmap");
      map_ = static_cast<unsigned char*>(map);
    } else {
      fd_ = socket(AF_INET, SOCK_DGRAM, 0);
      check(fd_ >= 0, "UDP socket");
      const int buffer = 8 << 20;
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
      const int one = 1;
      if (mode == Receive::UdpGro) check(setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one) == 0, "UDP_GRO");
      const auto self = address(kB, kPort);
      check(bind(fd_, reinterpret_cast<const sockaddr*>(&self), sizeof self) == 0, "bind 4500");
    }
  }
  ~Receiver() {
    if (map_) munmap(map_, kBlock * kBlocks);
    close(fd_);
  }

  Received loop(const std::atomic<bool>& stop) {
    Received got;
    std::vector<unsigned char> scratch(1 << 16);  // where "decryption" would read each packet into
    if (mode_ == Receive::Ring || mode_ == Receive::RingVnet) {
      std::size_t next = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto* block = reinterpret_cast<tpacket_block_desc*>(map_ + next * kBlock);
        if ((__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) {
          pollfd wait{fd_, POLLIN, 0};
          poll(&wait, 1, 10);
          continue;
        }
        auto* at = reinterpret_cast<unsigned char*>(block) + block->hdr.bh1.offset_to_first_pkt;
        for (std::uint32_t i = 0; i < block->hdr.bh1.num_pkts; ++i) {
          const auto* header = reinterpret_cast<const tpacket3_hdr*>(at);
          const unsigned char* ip = at + header->tp_net;
          const std::size_t length = header->tp_snaplen - (header->tp_net - header->tp_mac);
          const std::size_t headers = (ip[9] == 17 ? 28 : 20);
          std::size_t segment = length - headers;
          if (mode_ == Receive::RingVnet) {
            VnetHeader vnet{};
            std::memcpy(&vnet, at + header->tp_mac - sizeof vnet, sizeof vnet);
            if (vnet.gso_type != kGsoNone) segment = vnet.gso_size;
          }
          for (std::size_t offset = headers; offset < length; offset += segment) {
            const std::size_t n = std::min(segment, length - offset);
            std::memcpy(scratch.data(), ip + offset, n);
            got.bytes += n;
            ++got.packets;
          }
          ++got.frames;
          at += header->tp_next_offset;
        }
        __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        next = (next + 1) % kBlocks;
      }
      tpacket_stats_v3 stats{};
      socklen_t size = sizeof stats;
      getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &size);
      got.drops = stats.tp_drops;
      return got;
    }
    constexpr std::size_t kBatch = 32;
    std::vector<std::vector<unsigned char>> buffers(kBatch, std::vector<unsigned char>(1 << 16));
    std::vector<iovec> vectors(kBatch);
    std::vector<mmsghdr> messages(kBatch);
    std::vector<std::array<unsigned char, CMSG_SPACE(sizeof(int))>> controls(kBatch);
    while (!stop.load(std::memory_order_relaxed)) {
      for (std::size_t i = 0; i < kBatch; ++i) {
        vectors[i] = {buffers[i].data(), buffers[i].size()};
        messages[i].msg_hdr = {};
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = controls[i].data();
        messages[i].msg_hdr.msg_controllen = controls[i].size();
      }
      pollfd wait{fd_, POLLIN, 0};
      if (poll(&wait, 1, 10) <= 0) continue;
      const int n = recvmmsg(fd_, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
      for (int i = 0; i < n; ++i) {
        const std::size_t length = messages[i].msg_len;
        std::size_t segment = length;
        for (cmsghdr* c = CMSG_FIRSTHDR(&messages[i].msg_hdr); c; c = CMSG_NXTHDR(&messages[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int size = 0;
            std::memcpy(&size, CMSG_DATA(c), sizeof size);
            segment = static_cast<std::size_t>(size);
          }
        }
        for (std::size_t offset = 0; offset < length; offset += segment) {
          const std::size_t take = std::min(segment, length - offset);
          std::memcpy(scratch.data(), buffers[i].data() + offset, take);
          got.bytes += take;
          ++got.packets;
        }
        ++got.frames;
      }
    }
    return got;
  }

 private:
  static constexpr std::size_t kBlock = std::size_t{1} << 18;
  static constexpr std::size_t kBlocks = 32;
  Receive mode_;
  int fd_ = -1;
  unsigned char* map_ = nullptr;
};

struct Case {
  const char* name;
  Send send;
  Receive receive;
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int seconds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) {
    std::fprintf(stderr, "esp_udp_gso: %s\n", why.c_str());
    return 2;
  }
  ward::testing::Netns a("gso-a");
  ward::testing::Netns b("gso-b");
  ward::testing::connect_veth(a, std::string(kA) + "/24", b, std::string(kB) + "/24");
  const Case cases[] = {
      {"raw ESP sendmmsg -> ring (today)", Send::RawEsp, Receive::Ring},
      {"UDP sendmmsg -> ring", Send::UdpPerPacket, Receive::Ring},
      {"UDP_SEGMENT -> ring", Send::UdpSegment, Receive::Ring},
      {"UDP_SEGMENT -> ring + vnet hdr", Send::UdpSegment, Receive::RingVnet},
      {"UDP sendmmsg -> UDP recvmmsg", Send::UdpPerPacket, Receive::UdpPerPacket},
      {"UDP_SEGMENT -> UDP_GRO socket", Send::UdpSegment, Receive::UdpGro},
  };
  constexpr std::size_t kCases = std::size(cases);
  const std::string rules = "/tmp/ward-esp-udp-gso-" + std::to_string(getpid()) + ".nft";
  {
    std::ofstream out(rules);
    out << "table ip esp_udp_gso {\n chain pre {\n  type filter hook prerouting priority -300;\n  meta l4proto esp drop\n"
           "  udp dport 4500 @th,64,32 != 0 drop\n }\n}\n";
  }
  std::vector<std::vector<double>> gbits(kCases), cpu(kCases);
  std::printf("load average at start: %s; %d s per case, %d rounds\n", load_average().c_str(), seconds, rounds);
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t c = 0; c < kCases; ++c) {
      const bool ring = cases[c].receive == Receive::Ring || cases[c].receive == Receive::RingVnet;
      // As the kernel table does for what the ring took: dropped at the first hook.
      if (ring) {
        b.exec("nft -f " + rules);
      }
      int send_fd = -1;
      std::unique_ptr<Receiver> receiver;
      a.run_inside([&] { send_fd = open_sender(cases[c].send); });
      b.run_inside([&] { receiver = std::make_unique<Receiver>(cases[c].receive); });
      std::atomic<bool> stop{false};
      Received got;
      std::uint64_t refused = 0;
      const double before = process_cpu_seconds();
      std::thread receiving([&] { got = receiver->loop(stop); });
      std::thread sending([&] { refused = send_loop(send_fd, cases[c].send, stop); });
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      stop = true;
      sending.join();
      receiving.join();
      const double used = process_cpu_seconds() - before;
      close(send_fd);
      receiver.reset();
      if (ring) b.exec("nft delete table ip esp_udp_gso");
      const double received = static_cast<double>(got.bytes) * 8 / 1e9;
      gbits[c].push_back(received / seconds);
      cpu[c].push_back(received > 0 ? used / received : 0);
      std::printf("  %-34s %6.2f Gbit/s, %.3f CPU s/Gbit, %llu packets in %llu frames, ring drops %llu, refused %llu, load %s\n",
                  cases[c].name, received / seconds, cpu[c].back(), static_cast<unsigned long long>(got.packets),
                  static_cast<unsigned long long>(got.frames), static_cast<unsigned long long>(got.drops),
                  static_cast<unsigned long long>(refused), load_average().c_str());
    }
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("\n%-34s %9s %9s %12s\n", "case", "Gbit/s", "of today", "CPU s/Gbit");
  const double today = median(gbits[0]);
  for (std::size_t c = 0; c < kCases; ++c) {
    std::printf("%-34s %9.2f %8.1fx %12.3f\n", cases[c].name, median(gbits[c]), today > 0 ? median(gbits[c]) / today : 0, median(cpu[c]));
  }
  std::printf("load average at end: %s\n", load_average().c_str());
  std::remove(rules.c_str());
  return 0;
}
