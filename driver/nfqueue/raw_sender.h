// Sends complete IP packets (Ward's ESP packets) into the stack's output path through raw sockets,
// many per system call (sendmmsg): IPv4 ESP without options through an IPPROTO_ESP socket (the
// kernel writes the IPv4 header with the source, TOS and TTL of Ward's, on a cached route),
// everything else through IPPROTO_RAW (the header is the caller's). The queue thread that
// took an unsegmented packet protects its segments and sends them here, and drops the original:
// one queue round trip per 64 KiB instead of one per MTU-sized packet. The packets pass the output
// hook again, where the kernel table lets ESP (and NAT-T) through.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
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

 private:
  enum class Lane : std::uint8_t { None, V4Raw, V4Esp, V6Raw };
  // Room for IP_TOS, IP_TTL and IP_PKTINFO.
  struct Control {
    alignas(cmsghdr) unsigned char bytes[2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in_pktinfo))];
  };
  RawSender(int v4, int v6, int esp4) : v4_(v4), v6_(v6), esp4_(esp4) {}
  Lane prepare(std::size_t index);  // the message of packets_[index], and the socket it goes to
  std::size_t send(int fd, std::size_t first, std::size_t count);

  int v4_ = -1;
  int v6_ = -1;
  int esp4_ = -1;  // IPPROTO_ESP; -1 where it could not be opened (IPPROTO_RAW then)
  std::vector<std::span<const std::byte>> packets_;
  std::vector<sockaddr_in6> addresses_;  // large enough for either family
  std::vector<iovec> vectors_;
  std::vector<mmsghdr> messages_;
  std::vector<Control> controls_;
  std::vector<Lane> lanes_;
};

}  // namespace ward::driver
