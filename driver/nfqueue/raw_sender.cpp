#include "driver/nfqueue/raw_sender.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ip_protocol.h"
#include "driver/crypto/constants.h"
#include "driver/nfqueue/udp_gso.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, which clashes with netinet/udp.h
#endif

namespace ward::driver {

namespace {

constexpr std::size_t kIpv4HeaderLength = 20;
constexpr std::size_t kUdpHeaderLength = 8;

// The ESP socket never reads: a filter that keeps nothing, so inbound ESP that reached local
// delivery (none does while the kernel table drops or queues it) would not queue up here.
sock_filter kKeepNothing[] = {BPF_STMT(BPF_RET | BPF_K, 0)};

// An IPv4 ESP packet the kernel can rebuild the header of: no options, not a fragment.
bool plain_ipv4_esp(std::span<const std::byte> packet) {
  return packet.size() > kIpv4HeaderLength && std::to_integer<unsigned>(packet[0]) == 0x45 &&
         std::to_integer<unsigned>(packet[9]) == ip_proto::kEsp && (std::to_integer<unsigned>(packet[6]) & 0x3F) == 0 &&
         packet[7] == std::byte{0};
}

}  // namespace

Expected<RawSender, std::string> RawSender::open() {
  const int v4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (v4 < 0) return unexpected(std::string("raw IPv4 socket: ") + std::strerror(errno));
  const int v6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (v6 < 0) {
    const int error = errno;
    close(v4);
    return unexpected(std::string("raw IPv6 socket: ") + std::strerror(error));
  }
  // Optional: without it every IPv4 ESP packet takes the IPPROTO_RAW socket.
  int esp4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
  if (esp4 >= 0) {
    sock_fprog program{static_cast<unsigned short>(std::size(kKeepNothing)), kKeepNothing};
    const int smallest = 1;
    if (setsockopt(esp4, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0 ||
        setsockopt(esp4, SOL_SOCKET, SO_RCVBUF, &smallest, sizeof smallest) != 0) {
      close(esp4);
      esp4 = -1;
    }
  }
  return RawSender(v4, v6, esp4);
}

RawSender::RawSender(RawSender&& other) noexcept
    : v4_(other.v4_), v6_(other.v6_), esp4_(other.esp4_), packets_(std::move(other.packets_)), udp_(std::move(other.udp_)),
      adopted_(std::move(other.adopted_)) {
  other.v4_ = other.v6_ = other.esp4_ = -1;
  other.udp_.clear();
}

RawSender::~RawSender() {
  if (v4_ >= 0) close(v4_);
  if (v6_ >= 0) close(v6_);
  if (esp4_ >= 0) close(esp4_);
  for (const auto& udp : udp_) {
    if (udp.owned && udp.fd >= 0) close(udp.fd);
  }
}

void RawSender::queue(std::span<const std::byte> packet) { packets_.push_back(packet); }

std::size_t RawSender::send(int fd, std::size_t first, std::size_t count) {
  std::size_t refused = 0;
  std::size_t done = 0;
  while (done < count) {
    const int sent = sendmmsg(fd, messages_.data() + first + done, static_cast<unsigned>(count - done), 0);
    if (sent < 0) {
      if (errno == EINTR) continue;
      ++refused;  // this one (no route, no buffer): skip it and go on with the rest
      ++done;
      continue;
    }
    done += static_cast<std::size_t>(sent);
  }
  return refused;
}

RawSender::Lane RawSender::prepare(std::size_t i) {
  const auto packet = packets_[i];
  auto& address = addresses_[i];
  std::memset(&address, 0, sizeof address);
  auto& message = messages_[i];
  message = mmsghdr{};
  message.msg_hdr.msg_name = &address;
  message.msg_hdr.msg_iov = &vectors_[i];
  message.msg_hdr.msg_iovlen = 1;
  vectors_[i] = iovec{const_cast<std::byte*>(packet.data()), packet.size()};
  const bool v4 = !packet.empty() && (std::to_integer<unsigned>(packet[0]) >> 4) == 4;
  if (v4 && packet.size() >= kIpv4HeaderLength) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, packet.data() + 16, 4);
    message.msg_hdr.msg_namelen = sizeof(sockaddr_in);
    if (plain_ipv4_udp(packet)) return Lane::V4Udp;  // prepared for IPPROTO_RAW, in case it goes there
    if (esp4_ < 0 || !plain_ipv4_esp(packet)) return Lane::V4Raw;
    // The kernel writes the IPv4 header from the route it keeps cached: the source, TOS and TTL of
    // Ward's header go along as control messages, and only the ESP part is sent. (IPPROTO_RAW
    // sends are routed with FLOWI_FLAG_KNOWN_NH, which for a peer on the link allocates and frees
    // an uncached route per packet: 10 % of the fast path's samples.)
    vectors_[i] = iovec{const_cast<std::byte*>(packet.data() + kIpv4HeaderLength), packet.size() - kIpv4HeaderLength};
    auto& control = controls_[i];
    std::memset(&control, 0, sizeof control);
    message.msg_hdr.msg_control = control.bytes;
    // Exactly what is used: the kernel refuses a message whose trailing control bytes are zero.
    message.msg_hdr.msg_controllen = 2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message.msg_hdr);
    const auto put_int = [&](int type, int value) {
      cmsg->cmsg_level = IPPROTO_IP;
      cmsg->cmsg_type = type;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cmsg), &value, sizeof value);
      cmsg = CMSG_NXTHDR(&message.msg_hdr, cmsg);
    };
    put_int(IP_TOS, std::to_integer<int>(packet[1]));
    put_int(IP_TTL, std::to_integer<int>(packet[8]));
    in_pktinfo source{};
    std::memcpy(&source.ipi_spec_dst, packet.data() + 12, 4);
    cmsg->cmsg_level = IPPROTO_IP;
    cmsg->cmsg_type = IP_PKTINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof source);
    std::memcpy(CMSG_DATA(cmsg), &source, sizeof source);
    return Lane::V4Esp;
  }
  if (packet.size() >= 40) {
    address.sin6_family = AF_INET6;
    std::memcpy(&address.sin6_addr, packet.data() + 24, 16);
    message.msg_hdr.msg_namelen = sizeof(sockaddr_in6);
    return plain_ipv6_udp(packet) ? Lane::V6Udp : Lane::V6Raw;  // prepared for IPPROTO_RAW, in case it goes there
  }
  return Lane::None;
}

void RawSender::adopt_udp_socket(int fd) {
  std::lock_guard lock(adopted_->mutex);
  adopted_->fds.push_back(fd);
}

int RawSender::udp_socket(std::span<const std::byte> packet) {
  const bool v6 = (std::to_integer<unsigned>(packet[0]) >> 4) == 6;
  const std::size_t header = v6 ? crypto::kIpv6HeaderLength : kIpv4HeaderLength;
  const std::size_t address_length = v6 ? 16 : 4;
  std::array<std::byte, 16> source{};
  std::memcpy(source.data(), packet.data() + (v6 ? 8 : 12), address_length);
  const auto port =
      static_cast<std::uint16_t>((std::to_integer<unsigned>(packet[header]) << 8) | std::to_integer<unsigned>(packet[header + 1]));
  for (const auto& udp : udp_) {
    if (udp.v6 == v6 && udp.port == port && (udp.owned || udp.source == source)) return udp.fd;
  }
  // Someone else's socket on this address and port (IKE's NAT-T socket)?
  {
    std::lock_guard lock(adopted_->mutex);
    for (const int fd : adopted_->fds) {
      sockaddr_in6 bound{};   // large enough for either family
      socklen_t length = sizeof bound;
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) continue;
      if (!v6 && bound.sin6_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(bound);
        if (ntohs(in.sin_port) == port && (std::memcmp(&in.sin_addr, source.data(), 4) == 0 || in.sin_addr.s_addr == INADDR_ANY)) {
          udp_.push_back({v6, source, port, fd, false});
          return fd;
        }
      }
      if (v6 && bound.sin6_family == AF_INET6 && ntohs(bound.sin6_port) == port &&
          (std::memcmp(&bound.sin6_addr, source.data(), 16) == 0 || IN6_IS_ADDR_UNSPECIFIED(&bound.sin6_addr))) {
        udp_.push_back({v6, source, port, fd, false});
        return fd;
      }
    }
  }
  // A socket of our own on the port (nothing else holds it: no IKE here, as in the harness), for
  // any source address (IP_PKTINFO, IPV6_PKTINFO). It never reads: ESP in UDP is taken before the
  // stack (esp_ring.h) or queued. A filter that keeps nothing, as for the ESP socket.
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    udp_error_ = std::string("UDP socket: ") + std::strerror(errno);
    udp_.push_back({v6, source, port, -1, false});
    return -1;
  }
  sock_fprog program{static_cast<unsigned short>(std::size(kKeepNothing)), kKeepNothing};
  const int smallest = 1;
  const int send_buffer = 4 << 20;  // a few dozen superpackets in flight
  const int only_v6 = 1;            // the IPv4 socket of the port is another
  sockaddr_in6 self{};              // large enough for either family
  socklen_t self_length = sizeof(sockaddr_in6);
  if (v6) {
    self.sin6_family = AF_INET6;
    self.sin6_port = htons(port);
  } else {
    auto& in = reinterpret_cast<sockaddr_in&>(self);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    self_length = sizeof(sockaddr_in);
  }
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &smallest, sizeof smallest) == 0 &&
      (!v6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only_v6, sizeof only_v6) == 0) &&
      bind(fd, reinterpret_cast<const sockaddr*>(&self), self_length) == 0) {
    udp_.push_back({v6, source, port, fd, true});
    return fd;
  }
  const int error = errno;
  close(fd);
  udp_error_ = std::string(v6 ? "IPv6" : "IPv4") + " UDP port " + std::to_string(port) + ": " + std::strerror(error) +
               ", and no IKE socket of that address and port";
  udp_.push_back({v6, source, port, -1, false});
  return -1;
}

std::size_t RawSender::send_udp(std::size_t first, std::size_t count) {
  const bool v6 = (std::to_integer<unsigned>(packets_[first][0]) >> 4) == 6;
  const int raw = v6 ? v6_ : v4_;
  const int fd = udp_socket(packets_[first]);
  if (fd < 0) return send(raw, first, count);
  const std::size_t headers = (v6 ? crypto::kIpv6HeaderLength : kIpv4HeaderLength) + kUdpHeaderLength;
  std::size_t refused = 0;
  const auto packets = std::span(packets_).subspan(first, count);
  for (std::size_t i = 0; i < count;) {
    const std::size_t run = udp_gso_run(packets, i);
    // The message prepare() made for IPPROTO_RAW: its destination (port added) and control
    // messages are reused; the iovecs become the datagrams' UDP payloads.
    auto& address = addresses_[first + i];
    auto& port = v6 ? address.sin6_port : reinterpret_cast<sockaddr_in&>(address).sin_port;
    std::memcpy(&port, packets[i].data() + headers - kUdpHeaderLength + 2, 2);
    gso_vectors_.resize(run);
    for (std::size_t j = 0; j < run; ++j) {
      const auto p = packets[i + j];
      gso_vectors_[j] = iovec{const_cast<std::byte*>(p.data() + headers), p.size() - headers};
    }
    auto& control = controls_[first + i];
    std::memset(&control, 0, sizeof control);
    msghdr message{};
    message.msg_name = &address;
    message.msg_namelen = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    message.msg_iov = gso_vectors_.data();
    message.msg_iovlen = run;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    std::size_t used = 0;
    const auto put = [&](int level, int type, const void* value, std::size_t size) {
      cmsg->cmsg_level = level;
      cmsg->cmsg_type = type;
      cmsg->cmsg_len = CMSG_LEN(size);
      std::memcpy(CMSG_DATA(cmsg), value, size);
      cmsg = CMSG_NXTHDR(&message, cmsg);
      used += CMSG_SPACE(size);
    };
    const auto head = packets[i];
    if (v6) {
      // The traffic class straddles the first two bytes; the flow label is the socket's.
      const int traffic_class = static_cast<int>(((std::to_integer<unsigned>(head[0]) & 0x0F) << 4) | (std::to_integer<unsigned>(head[1]) >> 4));
      const int hop_limit = std::to_integer<int>(head[7]);
      in6_pktinfo source{};
      std::memcpy(&source.ipi6_addr, head.data() + 8, 16);
      put(IPPROTO_IPV6, IPV6_TCLASS, &traffic_class, sizeof traffic_class);
      put(IPPROTO_IPV6, IPV6_HOPLIMIT, &hop_limit, sizeof hop_limit);
      put(IPPROTO_IPV6, IPV6_PKTINFO, &source, sizeof source);
    } else {
      const int tos = std::to_integer<int>(head[1]);
      const int ttl = std::to_integer<int>(head[8]);
      in_pktinfo source{};
      std::memcpy(&source.ipi_spec_dst, head.data() + 12, 4);
      put(IPPROTO_IP, IP_TOS, &tos, sizeof tos);
      put(IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
      put(IPPROTO_IP, IP_PKTINFO, &source, sizeof source);
    }
    if (run > 1) {
      const auto size = static_cast<std::uint16_t>(gso_vectors_[0].iov_len);
      put(SOL_UDP, UDP_SEGMENT, &size, sizeof size);
    }
    message.msg_controllen = used;
    ssize_t sent = -1;
    do {
      // Never blocks the queue thread (IKE's socket may be blocking): a full send buffer, or a run
      // the kernel will not take whole (a datagram past the route's MTU), goes per packet instead.
      sent = sendmsg(fd, &message, MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      port = 0;   // an IPv6 raw socket takes a non-zero port for the protocol, and refuses 4500
      refused += send(raw, first + i, run);  // prepare() made their IPPROTO_RAW messages
    } else if (run > 1) {
      gso_datagrams_.fetch_add(run, std::memory_order_relaxed);
      gso_sends_.fetch_add(1, std::memory_order_relaxed);
    }
    i += run;
  }
  return refused;
}

std::size_t RawSender::flush() {
  const std::size_t count = packets_.size();
  if (count == 0) return 0;
  addresses_.resize(count);
  vectors_.resize(count);
  messages_.resize(count);
  controls_.resize(count);
  lanes_.resize(count);
  for (std::size_t i = 0; i < count; ++i) lanes_[i] = prepare(i);
  // Runs of one socket, in order (the segments of one flow stay in sequence).
  std::size_t refused = 0;
  std::size_t first = 0;
  while (first < count) {
    const Lane lane = lanes_[first];
    std::size_t end = first + 1;
    while (end < count && lanes_[end] == lane) ++end;
    switch (lane) {
      case Lane::V4Raw: refused += send(v4_, first, end - first); break;
      case Lane::V4Esp: refused += send(esp4_, first, end - first); break;
      case Lane::V4Udp: refused += send_udp(first, end - first); break;
      case Lane::V6Raw: refused += send(v6_, first, end - first); break;
      case Lane::V6Udp: refused += send_udp(first, end - first); break;
      case Lane::None: refused += end - first; break;
    }
    first = end;
  }
  packets_.clear();
  return refused;
}

}  // namespace ward::driver
