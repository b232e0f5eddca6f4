#include "tests/netns/packet_capture.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ward::testing {

namespace {

constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kAh = 51;
constexpr std::uint16_t kIsakmpPort = 500;
constexpr std::uint16_t kNatTraversalPort = 4500;
constexpr std::size_t kIsakmpExchangeOffset = 18;  // RFC 2408 3.1: after cookies, next payload, version
constexpr std::size_t kNonEspMarker = 4;
constexpr std::size_t kUdpHeader = 8;
constexpr int kPollMilliseconds = 50;

IpAddress v4_at(const std::uint8_t* bytes) {
  return IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3]);
}

std::uint16_t be16(const std::uint8_t* bytes) { return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]); }

bool parse(const std::uint8_t* data, std::size_t length, CapturedPacket& out) {
  if (length < 20 || (data[0] >> 4) != 4) return false;
  const std::size_t header = std::size_t{data[0] & 0x0fU} * 4;
  if (header < 20 || header > length) return false;
  out.protocol = data[9];
  out.source = v4_at(data + 12);
  out.destination = v4_at(data + 16);
  const std::uint8_t* payload = data + header;
  const std::size_t rest = length - header;
  if (out.protocol == kAh && rest >= 2) out.ah_next_header = payload[0];
  if ((out.protocol == kUdp || out.protocol == kTcp) && rest >= 4) {
    out.source_port = be16(payload);
    out.destination_port = be16(payload + 2);
  }
  if (out.protocol != kUdp || rest < kUdpHeader) return true;
  const std::uint8_t* udp = payload + kUdpHeader;
  const std::size_t udp_length = rest - kUdpHeader;
  const bool ike_port = out.source_port == kIsakmpPort || out.destination_port == kIsakmpPort;
  const bool nat_port = out.source_port == kNatTraversalPort || out.destination_port == kNatTraversalPort;
  if (ike_port && udp_length > kIsakmpExchangeOffset) out.isakmp_exchange = udp[kIsakmpExchangeOffset];
  if (nat_port && udp_length > kNonEspMarker) {
    const bool marker = udp[0] == 0 && udp[1] == 0 && udp[2] == 0 && udp[3] == 0;
    if (marker && udp_length > kNonEspMarker + kIsakmpExchangeOffset) out.isakmp_exchange = udp[kNonEspMarker + kIsakmpExchangeOffset];
    out.udp_encapsulated_esp = !marker;
  }
  return true;
}

}  // namespace

PacketCapture::PacketCapture(const Netns& ns, const std::string& interface) {
  std::string error;
  ns.run_inside([&] {
    // ETH_P_ALL, not ETH_P_IP: the kernel shows a socket the packets the interface sends only when
    // it listens to every protocol (dev_queue_xmit_nit); drain() keeps the IPv4 ones.
    fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd_ < 0) {
      error = std::string("AF_PACKET socket: ") + std::strerror(errno);
      return;
    }
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
    if (at.sll_ifindex == 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
      error = "capturing on " + interface + " in " + ns.name() + ": " + std::strerror(errno);
    }
  });
  if (!error.empty()) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error(error);
  }
  reader_ = std::thread([this] {
    while (!stopping_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, kPollMilliseconds) > 0) drain();
    }
  });
}

PacketCapture::~PacketCapture() {
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

void PacketCapture::drain() {
  std::array<std::uint8_t, 65536> buffer{};
  const std::lock_guard lock(mutex_);
  for (;;) {
    sockaddr_ll from{};
    socklen_t from_length = sizeof from;
    const ssize_t got = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (got <= 0) return;
    if (from.sll_protocol != htons(ETH_P_IP)) continue;
    CapturedPacket packet;
    packet.outgoing = from.sll_pkttype == PACKET_OUTGOING;
    packet.length = static_cast<std::size_t>(got);
    if (parse(buffer.data(), static_cast<std::size_t>(got), packet)) packets_.push_back(packet);
  }
}

std::vector<CapturedPacket> PacketCapture::packets() {
  drain();
  const std::lock_guard lock(mutex_);
  return packets_;
}

std::map<std::string, int> PacketCapture::protocols_between(const IpAddress& a, const IpAddress& b, bool outgoing_only) {
  std::map<std::string, int> counts;
  for (const auto& p : packets()) {
    if (outgoing_only && !p.outgoing) continue;
    if (!((p.source == a && p.destination == b) || (p.source == b && p.destination == a))) continue;
    std::string key = std::to_string(p.protocol);
    if (p.protocol == kAh) key += "/" + std::to_string(p.ah_next_header);
    ++counts[key];
  }
  return counts;
}

std::string PacketCapture::describe(const std::map<std::string, int>& counts) {
  std::string text = "\non the wire (protocol[/AH next header]: packets):";
  for (const auto& [proto, n] : counts) text += " " + proto + ": " + std::to_string(n);
  return text;
}

}  // namespace ward::testing
