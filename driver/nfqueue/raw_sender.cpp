#include "driver/nfqueue/raw_sender.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ward::driver {

Expected<RawSender, std::string> RawSender::open() {
  const int v4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (v4 < 0) return unexpected(std::string("raw IPv4 socket: ") + std::strerror(errno));
  const int v6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (v6 < 0) {
    const int error = errno;
    close(v4);
    return unexpected(std::string("raw IPv6 socket: ") + std::strerror(error));
  }
  return RawSender(v4, v6);
}

RawSender::RawSender(RawSender&& other) noexcept
    : v4_(other.v4_), v6_(other.v6_), packets_(std::move(other.packets_)) {
  other.v4_ = other.v6_ = -1;
}

RawSender::~RawSender() {
  if (v4_ >= 0) close(v4_);
  if (v6_ >= 0) close(v6_);
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

std::size_t RawSender::flush() {
  const std::size_t count = packets_.size();
  if (count == 0) return 0;
  addresses_.resize(count);
  vectors_.resize(count);
  messages_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto packet = packets_[i];
    auto& address = addresses_[i];
    std::memset(&address, 0, sizeof address);
    socklen_t length = 0;
    const bool v4 = !packet.empty() && (std::to_integer<unsigned>(packet[0]) >> 4) == 4;
    if (v4 && packet.size() >= 20) {
      auto* in = reinterpret_cast<sockaddr_in*>(&address);
      in->sin_family = AF_INET;
      std::memcpy(&in->sin_addr, packet.data() + 16, 4);
      length = sizeof(sockaddr_in);
    } else if (packet.size() >= 40) {
      address.sin6_family = AF_INET6;
      std::memcpy(&address.sin6_addr, packet.data() + 24, 16);
      length = sizeof(sockaddr_in6);
    }
    vectors_[i] = iovec{const_cast<std::byte*>(packet.data()), packet.size()};
    messages_[i] = mmsghdr{};
    messages_[i].msg_hdr.msg_name = &address;
    messages_[i].msg_hdr.msg_namelen = length;
    messages_[i].msg_hdr.msg_iov = &vectors_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
  // Runs of one family, in order (the segments of one flow stay in sequence).
  std::size_t refused = 0;
  std::size_t first = 0;
  while (first < count) {
    const int family = reinterpret_cast<const sockaddr*>(&addresses_[first])->sa_family;
    std::size_t end = first + 1;
    while (end < count && reinterpret_cast<const sockaddr*>(&addresses_[end])->sa_family == family) ++end;
    if (family == AF_INET || family == AF_INET6) {
      refused += send(family == AF_INET ? v4_ : v6_, first, end - first);
    } else {
      refused += end - first;
    }
    first = end;
  }
  packets_.clear();
  return refused;
}

}  // namespace ward::driver
