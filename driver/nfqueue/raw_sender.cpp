#include "driver/nfqueue/raw_sender.h"

#include <linux/filter.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ward::driver {

namespace {

constexpr std::uint8_t kEspProtocol = 50;
constexpr std::size_t kIpv4HeaderLength = 20;

// The ESP socket never reads: a filter that keeps nothing, so inbound ESP that reached local
// delivery (none does while the kernel table drops or queues it) would not queue up here.
sock_filter kKeepNothing[] = {BPF_STMT(BPF_RET | BPF_K, 0)};

// An IPv4 ESP packet the kernel can rebuild the header of: no options, not a fragment.
bool plain_ipv4_esp(std::span<const std::byte> packet) {
  return packet.size() > kIpv4HeaderLength && std::to_integer<unsigned>(packet[0]) == 0x45 &&
         std::to_integer<unsigned>(packet[9]) == kEspProtocol && (std::to_integer<unsigned>(packet[6]) & 0x3F) == 0 &&
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
    : v4_(other.v4_), v6_(other.v6_), esp4_(other.esp4_), packets_(std::move(other.packets_)) {
  other.v4_ = other.v6_ = other.esp4_ = -1;
}

RawSender::~RawSender() {
  if (v4_ >= 0) close(v4_);
  if (v6_ >= 0) close(v6_);
  if (esp4_ >= 0) close(esp4_);
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
    if (esp4_ < 0 || !plain_ipv4_esp(packet)) return Lane::V4Raw;
    // The kernel writes the IPv4 header from the route it keeps cached: the source, TOS and TTL of
    // Ward's header go along as control messages, and only the ESP part is sent. (IPPROTO_RAW
    // sends are routed with FLOWI_FLAG_KNOWN_NH, which for a peer on the link allocates and frees
    // an uncached route per packet: 10 % of the fast path's samples.)
    vectors_[i] = iovec{const_cast<std::byte*>(packet.data() + kIpv4HeaderLength), packet.size() - kIpv4HeaderLength};
    auto& control = controls_[i];
    std::memset(&control, 0, sizeof control);
    message.msg_hdr.msg_control = control.bytes;
    message.msg_hdr.msg_controllen = sizeof control.bytes;
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
    return Lane::V6Raw;
  }
  return Lane::None;
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
      case Lane::V6Raw: refused += send(v6_, first, end - first); break;
      case Lane::None: refused += end - first; break;
    }
    first = end;
  }
  packets_.clear();
  return refused;
}

}  // namespace ward::driver
