#include "driver/nfqueue/tun_injector.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/ip_protocol.h"
#include "driver/crypto/ip_packet.h"
#include "driver/packet/packet_bytes.h"

namespace ward::driver {

namespace {

// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a member is named
// `class`), in host byte order as a TUN device without TUNSETVNETLE/BE reads it.
struct virtio_net_hdr {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
constexpr std::uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_TCPV6 = 4;
constexpr std::size_t kVnetHeader = sizeof(virtio_net_hdr);
static_assert(kVnetHeader == 10);
constexpr std::size_t kMaxJoined = 65535;  // IPv4 total length, IPv6 payload length

using packet_bytes::be16;
using packet_bytes::be32;
using packet_bytes::put16;
using packet_bytes::u8;

// A TCP segment that may be joined with others: plain ACK (PSH allowed, it ends a run), data, no
// IPv4 options or fragments, no IPv6 extension headers.
struct Segment {
  bool v4 = true;
  std::size_t ip_header = 0;
  std::size_t tcp_header = 0;
  std::size_t payload = 0;
  std::uint32_t sequence = 0;
  std::uint8_t flags = 0;
};

bool joinable(std::span<const std::byte> p, Segment& s) {
  if (p.size() < 40) return false;
  const unsigned version = u8(p, 0) >> 4;
  std::size_t total = 0;
  if (version == 4) {
    if ((u8(p, 0) & 0x0F) != 5 || u8(p, 9) != ip_proto::kTcp || (be16(p, 6) & 0x3FFF) != 0) return false;  // options, fragments
    s.v4 = true;
    s.ip_header = 20;
    total = be16(p, 2);
  } else if (version == 6) {
    if (p.size() < 60 || u8(p, 6) != ip_proto::kTcp) return false;
    s.v4 = false;
    s.ip_header = 40;
    total = 40 + std::size_t{be16(p, 4)};
  } else {
    return false;
  }
  if (total != p.size() || total < s.ip_header + 20) return false;
  s.tcp_header = static_cast<std::size_t>(u8(p, s.ip_header + 12) >> 4) * 4;
  if (s.tcp_header < 20 || s.ip_header + s.tcp_header > total) return false;
  s.payload = total - s.ip_header - s.tcp_header;
  s.sequence = be32(p, s.ip_header + 4);
  s.flags = u8(p, s.ip_header + 13);
  return s.payload > 0 && (s.flags & ~tcp_flag::kPsh) == tcp_flag::kAck;
}

// Whether `next` continues `first`'s run: the same IP and TCP headers but for lengths,
// identification, checksums, sequence and window.
bool continues(std::span<const std::byte> first, const Segment& f, std::span<const std::byte> next, const Segment& n) {
  if (f.v4 != n.v4 || f.tcp_header != n.tcp_header) return false;
  if (f.v4) {
    if (std::memcmp(first.data(), next.data(), 2) != 0 || u8(first, 6) != u8(next, 6) || u8(first, 8) != u8(next, 8) ||
        std::memcmp(first.data() + 12, next.data() + 12, 8) != 0) {
      return false;
    }
  } else if (std::memcmp(first.data(), next.data(), 4) != 0 || u8(first, 7) != u8(next, 7) ||
             std::memcmp(first.data() + 8, next.data() + 8, 32) != 0) {
    return false;
  }
  const std::size_t t = f.ip_header;
  return std::memcmp(first.data() + t, next.data() + t, 4) == 0 &&        // ports
         std::memcmp(first.data() + t + 8, next.data() + t + 8, 4) == 0 &&  // acknowledgement
         std::memcmp(first.data() + t + 20, next.data() + t + 20, f.tcp_header - 20) == 0;  // options
}

// The pseudo-header sum (RFC 793/768/8200, not complemented) a checksum-partial packet carries in
// its checksum field: the stack adds the segment's bytes from csum_start if it ever needs the
// checksum (forwarding), and trusts it as it is on local delivery.
std::uint16_t pseudo_header_sum(std::span<const std::byte> packet, bool v4, std::uint8_t protocol, std::size_t transport_length) {
  std::uint32_t sum = v4 ? crypto::ones_complement_sum(packet.subspan(12, 8)) : crypto::ones_complement_sum(packet.subspan(8, 32));
  sum += protocol;
  sum += static_cast<std::uint32_t>(transport_length >> 16) + static_cast<std::uint32_t>(transport_length & 0xFFFF);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// Where a single packet's TCP/UDP checksum starts, for a checksum-partial write: IPv4 (not a
// fragment) or IPv6 with TCP/UDP right after the fixed header, the transport header complete, UDP
// with a checksum (an IPv4 zero stays "none"). This covers every packet whose checksum
// EspSa::decapsulate leaves as the peer wrote it (InnerChecksum::MarkedValidByCaller: the
// RFC 3948 3.1.2 refresh applies to no other).
bool partial_checksum_layout(std::span<const std::byte> p, bool& v4, std::size_t& ip_header, std::uint8_t& protocol) {
  if (p.size() < 20) return false;
  const unsigned version = u8(p, 0) >> 4;
  std::size_t total = 0;
  if (version == 4) {
    v4 = true;
    ip_header = std::size_t{u8(p, 0) & 0x0FU} * 4;
    total = be16(p, 2);
    protocol = u8(p, 9);
    if (ip_header < 20 || (be16(p, 6) & 0x3FFF) != 0) return false;  // a fragment: the checksum covers the whole datagram
  } else if (version == 6) {
    if (p.size() < 40) return false;
    v4 = false;
    ip_header = 40;
    total = 40 + std::size_t{be16(p, 4)};
    protocol = u8(p, 6);
  } else {
    return false;
  }
  if (total > p.size() || total < ip_header) return false;
  const std::size_t transport = total - ip_header;
  if (protocol == ip_proto::kTcp) return transport >= 20;
  if (protocol == ip_proto::kUdp) return transport >= 8 && (!v4 || be16(p, ip_header + 6) != 0);
  return false;
}

// One packet as it is: TCP and UDP checksum-partial (the stack does not check them on local
// delivery; a TUN write ignores VIRTIO_NET_HDR_F_DATA_VALID, so "valid" must be said this way),
// anything else (ICMP: no pseudo-header) with an empty header, its checksum checked by the stack.
void write_single(std::span<const std::byte> packet, TunPacket& tun_packet) {
  tun_packet.payloads.clear();
  std::vector<std::byte>& out = tun_packet.head;
  virtio_net_hdr header{};
  header.gso_type = VIRTIO_NET_HDR_GSO_NONE;
  out.resize(kVnetHeader + packet.size());
  std::memcpy(out.data() + kVnetHeader, packet.data(), packet.size());
  bool v4 = true;
  std::size_t ip_header = 0;
  std::uint8_t protocol = 0;
  if (partial_checksum_layout(packet, v4, ip_header, protocol)) {
    const std::span<std::byte> written = std::span(out).subspan(kVnetHeader);
    const std::size_t total = v4 ? be16(packet, 2) : 40 + std::size_t{be16(packet, 4)};
    const std::size_t field = protocol == ip_proto::kTcp ? 16 : 6;
    put16(written, ip_header + field, pseudo_header_sum(packet, v4, protocol, total - ip_header));
    header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    header.csum_start = static_cast<std::uint16_t>(ip_header);
    header.csum_offset = static_cast<std::uint16_t>(field);
  }
  std::memcpy(out.data(), &header, kVnetHeader);
}

// Completes a run of `count` segments (`joined`: the vnet header and the first segment's headers,
// then every segment's payload): lengths, the IPv4 header checksum, and the TCP checksum left
// partial (the pseudo-header sum) for the stack, with the segmentation the stack would undo.
void finish_run(TunPacket& joined, const Segment& first, std::size_t count, std::size_t gso_size) {
  std::vector<std::byte>& out = joined.head;
  const std::span<std::byte> packet = std::span(out).subspan(kVnetHeader);  // the IP and TCP headers
  const std::size_t total = joined.size() - kVnetHeader;
  const std::size_t tcp_length = total - first.ip_header;
  if (first.v4) {
    put16(packet, 2, static_cast<std::uint16_t>(total));
    put16(packet, 10, 0);
    put16(packet, 10, crypto::internet_checksum(packet.first(20)));
  } else {
    put16(packet, 4, static_cast<std::uint16_t>(tcp_length));
  }
  put16(packet, first.ip_header + 16, pseudo_header_sum(packet, first.v4, ip_proto::kTcp, tcp_length));
  virtio_net_hdr header{};
  header.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  header.csum_start = static_cast<std::uint16_t>(first.ip_header);
  header.csum_offset = 16;
  if (count > 1) {
    header.gso_type = first.v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
    header.hdr_len = static_cast<std::uint16_t>(first.ip_header + first.tcp_header);
    header.gso_size = static_cast<std::uint16_t>(gso_size);
  }
  std::memcpy(out.data(), &header, kVnetHeader);
}

}  // namespace

std::size_t TunPacket::size() const noexcept {
  std::size_t total = head.size();
  for (const auto payload : payloads) total += payload.size();
  return total;
}

std::vector<std::byte> TunPacket::bytes() const {
  std::vector<std::byte> all(head);
  for (const auto payload : payloads) all.insert(all.end(), payload.begin(), payload.end());
  return all;
}

std::size_t join_tcp_segments(std::span<const std::span<const std::byte>> packets, std::vector<TunPacket>& out) {
  std::size_t written = 0;
  std::size_t run_count = 0;   // segments in the open run (0: none)
  std::size_t run_length = 0;  // the open run's IP packet length so far
  Segment run_first;
  std::span<const std::byte> run_head;
  std::uint32_t next_sequence = 0;
  std::size_t gso_size = 0;
  const auto close_run = [&] {
    if (run_count == 0) return;
    if (run_count == 1) {
      write_single(run_head, out[written - 1]);
    } else {
      finish_run(out[written - 1], run_first, run_count, gso_size);
    }
    run_count = 0;
  };
  const auto slot = [&]() -> TunPacket& {
    if (out.size() <= written) out.resize(written + 1);
    return out[written++];
  };
  for (const auto packet : packets) {
    Segment s;
    const bool candidate = joinable(packet, s);
    if (run_count > 0 && candidate && continues(run_head, run_first, packet, s) && s.sequence == next_sequence && s.payload <= gso_size &&
        run_length + s.payload <= kMaxJoined + (run_first.v4 ? 0 : 40)) {
      auto& joined = out[written - 1];
      joined.payloads.push_back(packet.subspan(s.ip_header + s.tcp_header, s.payload));
      run_length += s.payload;
      ++run_count;
      next_sequence += static_cast<std::uint32_t>(s.payload);
      // The TCP flags of the joined packet are the first segment's; a PSH (or a short segment)
      // ends the run, so it is set on the joined packet too.
      if ((s.flags & tcp_flag::kPsh) != 0) joined.head[kVnetHeader + run_first.ip_header + 13] = std::byte(s.flags);
      if (s.payload < gso_size || (s.flags & tcp_flag::kPsh) != 0) close_run();
      continue;
    }
    close_run();
    if (candidate && (s.flags & tcp_flag::kPsh) == 0) {
      // A run's headers are copied (the lengths and checksums change); its payloads are written
      // from where decryption left them (gather I/O: no copy of the data in userspace).
      auto& joined = slot();
      const std::size_t headers = s.ip_header + s.tcp_header;
      joined.head.resize(kVnetHeader + headers);
      std::memcpy(joined.head.data() + kVnetHeader, packet.data(), headers);
      joined.payloads.assign(1, packet.subspan(headers, s.payload));
      run_length = packet.size();
      run_count = 1;
      run_first = s;
      run_head = packet;
      next_sequence = s.sequence + static_cast<std::uint32_t>(s.payload);
      gso_size = s.payload;
      continue;
    }
    write_single(packet, slot());
  }
  close_run();
  return written;
}

Expected<std::unique_ptr<TunInjector>, std::string> TunInjector::open() {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return unexpected(std::string("/dev/net/tun: ") + std::strerror(errno));
  ifreq request{};
  std::strncpy(request.ifr_name, "ward%d", IFNAMSIZ - 1);
  request.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  const auto fail = [&](const char* what) -> Expected<std::unique_ptr<TunInjector>, std::string> {
    const int error = errno;
    close(fd);
    return unexpected(std::string(what) + ": " + std::strerror(error));
  };
  if (ioctl(fd, TUNSETIFF, &request) != 0) return fail("TUNSETIFF");
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0) return fail("TUNSETOFFLOAD");
  std::string name(request.ifr_name);
  const int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (control < 0) return fail("socket");
  ifreq flags{};
  std::strncpy(flags.ifr_name, name.c_str(), IFNAMSIZ - 1);
  const bool up = ioctl(control, SIOCGIFFLAGS, &flags) == 0 && (flags.ifr_flags |= IFF_UP, ioctl(control, SIOCSIFFLAGS, &flags) == 0);
  close(control);
  if (!up) return fail(("bringing " + name + " up").c_str());
  // The inner source routes through the real interface: a strict reverse-path filter would drop
  // every packet arriving here. The effective value is the larger of the device's and conf/all's:
  // the device's is set to 0 (where /proc/sys is writable), and where conf/all is 1 (strict: RHEL's
  // default, CIS hardening) or cannot be read, there is no TUN device: decrypted packets go back
  // as verdicts on the interface they came in on, which any rp_filter accepts.
  std::ofstream("/proc/sys/net/ipv4/conf/" + name + "/rp_filter") << "0\n";
  const auto sysctl = [](const std::string& path) {
    int value = -1;
    std::ifstream(path) >> value;
    return value;
  };
  const int all = sysctl("/proc/sys/net/ipv4/conf/all/rp_filter");
  const int own = sysctl("/proc/sys/net/ipv4/conf/" + name + "/rp_filter");
  if (all < 0 || own < 0 || std::max(all, own) == 1) {
    close(fd);  // the device goes with its descriptor
    return unexpected("reverse-path filter: net.ipv4.conf.all.rp_filter = " + std::to_string(all) + ", " + name + " " +
                      std::to_string(own) + " (strict, or unreadable) would drop every decrypted packet arriving on " + name);
  }
  return std::unique_ptr<TunInjector>(new TunInjector(fd, std::move(name)));
}

TunInjector::~TunInjector() { close(fd_); }

std::size_t TunInjector::inject(std::span<const std::span<const std::byte>> packets) {
  thread_local std::vector<TunPacket> scratch;
  thread_local std::vector<iovec> vectors;
  const std::size_t count = join_tcp_segments(packets, scratch);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& packet = scratch[i];
    vectors.clear();
    vectors.push_back({const_cast<std::byte*>(packet.head.data()), packet.head.size()});  // iovec wants non-const; writev only reads
    for (const auto payload : packet.payloads) vectors.push_back({const_cast<std::byte*>(payload.data()), payload.size()});
    if (::writev(fd_, vectors.data(), static_cast<int>(vectors.size())) < 0) ++refused;
  }
  return refused;
}

}  // namespace ward::driver
