// Sends complete IP packets (Ward's ESP packets) into the stack's output path through raw sockets,
// many per system call (sendmmsg): IPv4 ESP without options through an IPPROTO_ESP socket (the
// kernel writes the IPv4 header with the source, TOS and TTL of Ward's, on a cached route),
// everything else through IPPROTO_RAW (the header is the caller's). The queue thread that
// took an unsegmented packet protects its segments and sends them here, and drops the original:
// one queue round trip per 64 KiB instead of one per MTU-sized packet. The packets pass the output
// hook again, where the kernel table lets ESP (and NAT-T) through.
//
// ESP in UDP (IPv4 without options, IPv6 without extension headers) goes through a UDP socket of its
// family bound to its source port instead, a run of equal-sized datagrams of one flow (a
// superpacket's ESP packets) as one sendmsg with UDP_SEGMENT (udp_gso.h): one skb through the
// output path instead of one per packet. The socket is opened on first use; where the port is taken
// (IKE's own NAT-T socket), the socket given to adopt_udp_socket() for that address and port is
// used, and where there is none, the packets take IPPROTO_RAW one by one.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ward::driver {

class RawSender {
 public:
  // Opens the IPv4 and IPv6 raw sockets in the calling thread's network namespace.
  static Expected<RawSender, std::string> open();
  RawSender(RawSender&& other) noexcept;
  RawSender& operator=(RawSender&&) = delete;
  RawSender(const RawSender&) = delete;
  ~RawSender();

  // Queues `packet` for the next flush(); the bytes must stay valid until then.
  void queue(std::span<const std::byte> packet);
  // Sends what is queued; returns how many packets the kernel refused.
  std::size_t flush();
  std::size_t pending() const noexcept { return packets_.size(); }
  // Datagrams sent through UDP_SEGMENT, and the sendmsg calls that carried them (for the harness).
  std::uint64_t gso_datagrams() const noexcept { return gso_datagrams_.load(std::memory_order_relaxed); }
  std::uint64_t gso_sends() const noexcept { return gso_sends_.load(std::memory_order_relaxed); }
  // Why ESP in UDP went out per packet (empty while it did not; the sending thread's).
  const std::string& udp_error() const noexcept { return udp_error_; }
  // Sends ESP in UDP from this socket's address and port through it where the sender cannot bind
  // the port itself (the caller keeps it open; IKE's NAT-T socket: sending on it from another
  // thread is safe). May be called from any thread.
  void adopt_udp_socket(int fd);

 private:
  enum class Lane : std::uint8_t { None, V4Raw, V4Esp, V4Udp, V6Raw, V6Udp };
  // Room for IP_TOS, IP_TTL, IP_PKTINFO and UDP_SEGMENT (IPv6: IPV6_TCLASS, IPV6_HOPLIMIT, IPV6_PKTINFO).
  struct Control {
    alignas(cmsghdr) unsigned char bytes[2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t))];
  };
  RawSender(int v4, int v6, int esp4) : v4_(v4), v6_(v6), esp4_(esp4) {}
  Lane prepare(std::size_t index);  // the message of packets_[index], and the socket it goes to
  std::size_t send(int fd, std::size_t first, std::size_t count);
  std::size_t send_udp(std::size_t first, std::size_t count);  // V4Udp or V6Udp packets, in runs
  int udp_socket(std::span<const std::byte> packet);             // -1: none, send per packet

  int v4_ = -1;
  int v6_ = -1;
  int esp4_ = -1;  // IPPROTO_ESP; -1 where it could not be opened (IPPROTO_RAW then)
  std::vector<std::span<const std::byte>> packets_;
  std::vector<sockaddr_in6> addresses_;  // large enough for either family
  std::vector<iovec> vectors_;
  std::vector<mmsghdr> messages_;
  std::vector<Control> controls_;
  std::vector<Lane> lanes_;
  struct UdpSocket {
    bool v6;
    std::array<std::byte, 16> source;  // IPv4: the first 4 bytes
    std::uint16_t port;  // host order
    int fd;              // -1: could not be had
    bool owned;
  };
  std::vector<UdpSocket> udp_;  // the sending thread's, by source address and port
  struct Adopted {
    std::mutex mutex;
    std::vector<int> fds;
  };
  std::unique_ptr<Adopted> adopted_ = std::make_unique<Adopted>();
  std::string udp_error_;
  std::vector<iovec> gso_vectors_;
  std::atomic<std::uint64_t> gso_datagrams_{0};  // written by the sending thread only
  std::atomic<std::uint64_t> gso_sends_{0};
};

}  // namespace ward::driver
