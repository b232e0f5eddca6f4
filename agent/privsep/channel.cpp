#include "agent/privsep/channel.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/errno_text.h"

namespace ward::agent::privsep {

OwnedFd& OwnedFd::operator=(OwnedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

OwnedFd::~OwnedFd() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<std::pair<Channel, Channel>, std::string> Channel::pair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return unexpected(errno_text("socketpair"));
  return std::pair<Channel, Channel>{Channel(OwnedFd(fds[0])), Channel(OwnedFd(fds[1]))};
}

void Channel::shutdown() const noexcept { ::shutdown(fd_.get(), SHUT_RDWR); }

Expected<void, std::string> Channel::send(std::uint32_t type, std::span<const std::uint8_t> body, int fd) const {
  if (body.size() > kMaxBody) {
    return unexpected("message type " + std::to_string(type) + " of " + std::to_string(body.size()) +
                      " bytes is over the channel's limit of " + std::to_string(kMaxBody));
  }
  iovec parts[2] = {{&type, sizeof type}, {const_cast<std::uint8_t*>(body.data()), body.size()}};
  msghdr header{};
  header.msg_iov = parts;
  header.msg_iovlen = body.empty() ? 1 : 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  for (;;) {
    if (sendmsg(fd_.get(), &header, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return unexpected(errno_text("sending on the privsep channel"));
  }
}

Expected<Message, ChannelError> Channel::receive(std::chrono::milliseconds timeout) const {
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    const int ready = poll(&p, 1, timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
    if (ready > 0) break;
    if (ready == 0) return unexpected(ChannelError{ChannelError::Kind::Timeout, "no message within the timeout"});
    if (errno != EINTR) return unexpected(ChannelError{ChannelError::Kind::System, errno_text("poll")});
  }
  // Received into a buffer of the thread's own, made once, and copied out at its real size: a
  // buffer sized and zeroed per message was 13 % of wardd's samples under an IKE flood (a note per
  // refused main mode 1). The part used is wiped after the copy, or after a refusal: bodies carry keys.
  thread_local std::vector<std::uint8_t> scratch(kMaxBody + 1);   // one more: a longer message shows as truncated
  Message message;
  std::uint32_t type = 0;
  iovec parts[2] = {{&type, sizeof type}, {scratch.data(), scratch.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr header{};
  header.msg_iov = parts;
  header.msg_iovlen = 2;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  ssize_t n = -1;
  do {
    n = recvmsg(fd_.get(), &header, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return unexpected(ChannelError{ChannelError::Kind::System, errno_text("receiving on the privsep channel")});
  if (n == 0) return unexpected(ChannelError{ChannelError::Kind::Closed, "the other process closed the channel"});
  // recvmsg returns what it copied, so the body part is never more than the buffer.
  const std::size_t received = static_cast<std::size_t>(n) > sizeof type ? static_cast<std::size_t>(n) - sizeof type : 0;
  const struct WipeReceived {
    std::vector<std::uint8_t>& buffer;
    std::size_t size;
    ~WipeReceived() { explicit_bzero(buffer.data(), size); }
  } wipe{scratch, received};
  // Every descriptor that came is owned (and closed) here, whatever else is wrong.
  std::vector<OwnedFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  const auto malformed = [](std::string why) { return unexpected(ChannelError{ChannelError::Kind::Malformed, std::move(why)}); };
  if ((header.msg_flags & MSG_CTRUNC) != 0 || fds.size() > 1) return malformed("a message carried more than one descriptor");
  if ((header.msg_flags & MSG_TRUNC) != 0 || static_cast<std::size_t>(n) > sizeof type + kMaxBody) {
    return malformed("a message of type " + std::to_string(type) + " is over the channel's limit of " +
                     std::to_string(kMaxBody) + " bytes");
  }
  if (static_cast<std::size_t>(n) < sizeof type) return malformed("a message of " + std::to_string(n) + " bytes has no type");
  message.type = type;
  message.body.assign(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(received));
  if (!fds.empty()) message.fd = std::move(fds.front());
  return message;
}

}  // namespace ward::agent::privsep
