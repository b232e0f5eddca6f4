#include "ike/net/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/errno_text.h"

namespace ward::ike::net {
namespace {

constexpr std::size_t kMaxDatagram = 65535;


socklen_t fill(const IpAddress& address, std::uint16_t port, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  if (address.family() == IpFamily::V4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<UdpSocket, std::string> UdpSocket::bind(const IpAddress& local, std::uint16_t port, bool reuse_port) {
  const int family = local.family() == IpFamily::V4 ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  if (fd.get() < 0) return unexpected(errno_text("socket"));
  const int one = 1;
  if (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return unexpected(errno_text("SO_REUSEPORT"));
  sockaddr_storage storage;
  const socklen_t size = fill(local, port, storage);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), size) != 0) {
    return unexpected(errno_text("bind " + local.to_string() + ":" + std::to_string(port)));
  }
  return UdpSocket(std::move(fd));
}

Expected<void, std::string> UdpSocket::set_receive_buffer(int bytes) const {
  // SO_RCVBUFFORCE goes past net.core.rmem_max with CAP_NET_ADMIN; without it, as much as allowed.
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) return {};
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0) return {};
  return unexpected(errno_text("SO_RCVBUF"));
}

Expected<void, std::string> UdpSocket::send_to(const IpAddress& peer, std::uint16_t port, std::span<const std::byte> bytes) const {
  sockaddr_storage storage;
  const socklen_t size = fill(peer, port, storage);
  const auto sent = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&storage), size);
  if (sent < 0) return unexpected(errno_text("sendto " + peer.to_string()));
  if (static_cast<std::size_t>(sent) != bytes.size()) return unexpected(std::string("short send to ") + peer.to_string());
  return {};
}

Expected<std::optional<Datagram>, std::string> UdpSocket::receive(std::chrono::milliseconds timeout) const {
  if (timeout.count() > 0) {
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready < 0) return unexpected(errno_text("poll"));
    if (ready == 0) return std::optional<Datagram>{};
  }
  // One buffer per thread for the largest datagram; each Datagram gets only its bytes (a 64 KB
  // vector per datagram cost more than the rest of a flood's main mode 1).
  thread_local std::array<std::byte, kMaxDatagram> buffer;
  sockaddr_storage from;
  socklen_t from_size = sizeof from;
  const auto got = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_size);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<Datagram>{};
    return unexpected(errno_text("recvfrom"));
  }
  Datagram d;
  d.bytes.assign(buffer.begin(), buffer.begin() + got);
  if (from.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    d.from = IpAddress::v4(ntohl(in->sin_addr.s_addr));
    d.port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    std::array<std::uint8_t, 16> raw{};
    std::memcpy(raw.data(), &in6->sin6_addr, 16);
    d.from = IpAddress::v6(raw);
    d.port = ntohs(in6->sin6_port);
  }
  return std::optional<Datagram>(std::move(d));
}

}  // namespace ward::ike::net
