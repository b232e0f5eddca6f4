#include "ike/net/reuseport.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ward::ike::net {
namespace {

// Mixing of the 32-bit address word (the finaliser of a common integer hash), so neighbouring
// addresses spread over the engines instead of alternating on their last bit.
constexpr std::uint32_t kMix = 0x045d9f3b;

std::uint32_t word(const std::array<std::uint8_t, 16>& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) | (std::uint32_t{bytes[at + 2]} << 8) |
         std::uint32_t{bytes[at + 3]};
}

std::uint32_t mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= kMix;
  h ^= h >> 16;
  return h;
}

// The program: A = the source address word (IPv4) or the XOR of its four words (IPv6), mixed as
// mix() does, modulo count. Classic BPF loads words in host order from network order, as word()
// reads them. The reuseport hook runs with the data at the UDP payload: the IP header is reached
// through SKF_NET_OFF.
std::vector<sock_filter> program(std::uint32_t count) {
  constexpr std::uint32_t kNet = static_cast<std::uint32_t>(SKF_NET_OFF);
  std::vector<sock_filter> p;
  const auto add = [&](std::uint16_t code, std::uint8_t jt, std::uint8_t jf, std::uint32_t k) { p.push_back({code, jt, jf, k}); };
  add(BPF_LD | BPF_B | BPF_ABS, 0, 0, kNet + 0);           // version and IHL
  add(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4);
  add(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 4);                 // IPv4: next; else the IPv6 loads
  add(BPF_LD | BPF_W | BPF_ABS, 0, 0, kNet + 12);          // IPv4 source
  const std::size_t jump = p.size();
  add(BPF_JMP | BPF_JA, 0, 0, 0);                          // to the mixing (offset set below)
  add(BPF_LD | BPF_W | BPF_ABS, 0, 0, kNet + 8);           // IPv6 source, word 0
  add(BPF_MISC | BPF_TAX, 0, 0, 0);
  for (std::uint32_t at : {12u, 16u, 20u}) {               // words 1-3, XORed in
    add(BPF_LD | BPF_W | BPF_ABS, 0, 0, kNet + at);
    add(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
    if (at != 20u) add(BPF_MISC | BPF_TAX, 0, 0, 0);
  }
  p[jump].k = static_cast<std::uint32_t>(p.size() - jump - 1);
  // mix(): A ^= A >> 16; A *= kMix; A ^= A >> 16; then A %= count.
  for (int round = 0; round < 2; ++round) {
    add(BPF_MISC | BPF_TAX, 0, 0, 0);
    add(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16);
    add(BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
    if (round == 0) add(BPF_ALU | BPF_MUL | BPF_K, 0, 0, kMix);
  }
  add(BPF_ALU | BPF_MOD | BPF_K, 0, 0, count);
  add(BPF_RET | BPF_A, 0, 0, 0);
  return p;
}

}  // namespace

std::size_t peer_engine(const IpAddress& peer, std::size_t count) noexcept {
  if (count <= 1) return 0;
  const auto& b = peer.bytes();
  const std::uint32_t w = peer.family() == IpFamily::V4 ? word(b, 0) : word(b, 0) ^ word(b, 4) ^ word(b, 8) ^ word(b, 12);
  return mix(w) % static_cast<std::uint32_t>(count);
}

Expected<std::vector<UdpSocket>, std::string> bind_group(const IpAddress& local, std::uint16_t port, std::size_t count) {
  std::vector<UdpSocket> sockets;
  if (count <= 1) {
    auto socket = UdpSocket::bind(local, port);
    if (!socket) return unexpected(std::move(socket.error()));
    sockets.push_back(std::move(*socket));
    return sockets;
  }
  // SO_REUSEPORT lets any socket of the same user join the group, so a second wardd (also root)
  // would take part of this one's IKE traffic instead of failing. A plain bind first fails as a
  // second service on the port always did; the group binds once it is released (port 0 has no
  // one to meet: each socket would get its own port anyway).
  if (port != 0) {
    auto probe = UdpSocket::bind(local, port);
    if (!probe) return unexpected(std::move(probe.error()));
  }
  for (std::size_t i = 0; i < count; ++i) {
    auto socket = UdpSocket::bind(local, port, true);
    if (!socket) return unexpected(std::move(socket.error()));
    sockets.push_back(std::move(*socket));
  }
  auto code = program(static_cast<std::uint32_t>(count));
  const sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  if (::setsockopt(sockets.front().native_handle(), SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
    return unexpected("SO_ATTACH_REUSEPORT_CBPF on " + local.to_string() + ":" + std::to_string(port) + ": " + std::strerror(errno));
  }
  return sockets;
}

}  // namespace ward::ike::net
