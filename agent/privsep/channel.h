// The socketpair between wardd and one of its unprivileged processes (OpenBSD's imsg, reduced to
// what Ward needs): typed messages over a SOCK_SEQPACKET pair, so one send is one receive and a
// message is never split or merged; a message may carry one file descriptor (SCM_RIGHTS), which is
// how the parent hands a child sockets it may no longer open itself.
//
//   message = u32 type (host order: both ends are the same binary) | body (up to kMaxBody bytes)
//
// The body's layout is the business of whoever defines the type. A receive that finds a message
// longer than kMaxBody, shorter than its type, or with more than one descriptor refuses it (the
// descriptors are closed) and says so: the other side is then not to be trusted.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"

namespace ward::agent::privsep {

class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// A SOCK_SEQPACKET message must fit the socket's send buffer (net.core.wmem_default, 208 KiB on
// Debian) in one piece; larger state (a policy) is sent in parts by its message type.
inline constexpr std::size_t kMaxBody = 64 * 1024;

struct Message {
  std::uint32_t type = 0;
  std::vector<std::uint8_t> body;
  OwnedFd fd;   // the descriptor that came with it, if any
};

struct ChannelError {
  enum class Kind : std::uint8_t { Closed, Timeout, Malformed, System };
  Kind kind = Kind::System;
  std::string message;
};

class Channel {
 public:
  // Both ends, close-on-exec (a child gets its end by dup2 onto a fixed number, which clears it).
  static Expected<std::pair<Channel, Channel>, std::string> pair();
  explicit Channel(OwnedFd fd) : fd_(std::move(fd)) {}

  // Blocks until the kernel took the whole message. `fd` (optional) is duplicated into the peer.
  Expected<void, std::string> send(std::uint32_t type, std::span<const std::uint8_t> body, int fd = -1) const;
  // Waits up to `timeout` (negative: for ever).
  Expected<Message, ChannelError> receive(std::chrono::milliseconds timeout) const;

  int native_handle() const noexcept { return fd_.get(); }
  // Ends both directions: a receive blocked on this end (another thread's) returns Closed.
  void shutdown() const noexcept;

 private:
  OwnedFd fd_;
};

}  // namespace ward::agent::privsep
