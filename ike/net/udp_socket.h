// IKE's UDP transport: one socket bound to <address>:500 (RFC 2408 says ISAKMP uses UDP 500),
// datagrams in and out. A socket lives in the network namespace of the thread that opened it:
// open it inside the namespace (tests: Netns::run_inside), use it from anywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"

namespace ward::ike::net {

inline constexpr std::uint16_t kIsakmpPort = 500;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct Datagram {
  std::vector<std::byte> bytes;
  IpAddress from;
  std::uint16_t port = 0;
};

class UdpSocket {
 public:
  // reuse_port: SO_REUSEPORT before the bind (several engines on one port, reuseport.h).
  static Expected<UdpSocket, std::string> bind(const IpAddress& local, std::uint16_t port = kIsakmpPort, bool reuse_port = false);
  // A socket bound elsewhere (wardd's parent binds UDP 500/4500 and hands them to its IKE process).
  static UdpSocket adopt(UniqueFd fd) { return UdpSocket(std::move(fd)); }

  Expected<void, std::string> send_to(const IpAddress& peer, std::uint16_t port, std::span<const std::byte> bytes) const;
  // The kernel's receive queue for this socket, in bytes (a burst of datagrams beyond it is
  // dropped by the kernel before anyone sees it).
  Expected<void, std::string> set_receive_buffer(int bytes) const;
  // Waits up to `timeout` for one datagram (0: only what is queued); nullopt when none came.
  Expected<std::optional<Datagram>, std::string> receive(std::chrono::milliseconds timeout) const;
  // For an owner's poll() over several descriptors (the socket stays owned here).
  int native_handle() const noexcept { return fd_.get(); }

 private:
  explicit UdpSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace ward::ike::net
