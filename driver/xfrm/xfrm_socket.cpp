#include "driver/xfrm/xfrm_socket.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

namespace ward::driver::xfrm {

namespace {
constexpr std::size_t kBufferSize = 64 * 1024;

struct Forward {
  const std::function<void(const nlmsghdr*)>* each;
};

int forward_message(const nlmsghdr* message, void* data) {
  const auto* forward = static_cast<Forward*>(data);
  if (forward->each) (*forward->each)(message);
  return MNL_CB_OK;
}
}  // namespace

void XfrmSocket::Deleter::operator()(mnl_socket* socket) const noexcept { mnl_socket_close(socket); }

XfrmSocket::XfrmSocket(std::unique_ptr<mnl_socket, Deleter> socket)
    : socket_(std::move(socket)),
      port_id_(mnl_socket_get_portid(socket_.get())),
      sequence_(static_cast<std::uint32_t>(time(nullptr))),
      buffer_(kBufferSize) {}

XfrmSocket::~XfrmSocket() = default;

Expected<std::unique_ptr<XfrmSocket>, std::string> XfrmSocket::open(unsigned groups) {
  std::unique_ptr<mnl_socket, Deleter> socket(mnl_socket_open(NETLINK_XFRM));
  if (!socket) return unexpected(std::string("NETLINK_XFRM socket: ") + std::strerror(errno));
  if (mnl_socket_bind(socket.get(), groups, MNL_SOCKET_AUTOPID) < 0) {
    return unexpected(std::string("NETLINK_XFRM bind: ") + std::strerror(errno));
  }
  return std::unique_ptr<XfrmSocket>(new XfrmSocket(std::move(socket)));
}

nlmsghdr* XfrmSocket::new_message(std::uint16_t type, std::uint16_t flags) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = type;
  message->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  message->nlmsg_seq = ++sequence_;
  return message;
}

Expected<void, int> XfrmSocket::run_replies(std::uint32_t sequence, const std::function<void(const nlmsghdr*)>* each) {
  Forward forward{each};
  for (;;) {
    const ssize_t received = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
    if (received < 0) return unexpected(errno);
    const int result = mnl_cb_run(buffer_.data(), static_cast<std::size_t>(received), sequence, port_id_, forward_message, &forward);
    if (result < 0) return unexpected(errno);
    if (result == MNL_CB_STOP) return {};
  }
}

Expected<void, int> XfrmSocket::request(nlmsghdr* message) {
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return unexpected(errno);
  return run_replies(message->nlmsg_seq, nullptr);
}

Expected<void, int> XfrmSocket::request(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& each) {
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return unexpected(errno);
  return run_replies(message->nlmsg_seq, &each);
}

Expected<void, int> XfrmSocket::dump(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& each) {
  message->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_DUMP);
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return unexpected(errno);
  return run_replies(message->nlmsg_seq, &each);
}

Expected<std::size_t, int> XfrmSocket::receive(const std::function<void(const nlmsghdr*)>& each, std::chrono::milliseconds timeout) {
  pollfd descriptor{mnl_socket_get_fd(socket_.get()), POLLIN, 0};
  const int ready = poll(&descriptor, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return ready == 0 || errno == EINTR ? Expected<std::size_t, int>(std::size_t{0}) : unexpected(errno);
  const ssize_t received = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
  if (received < 0) return unexpected(errno);
  std::size_t count = 0;
  const std::function<void(const nlmsghdr*)> counting = [&](const nlmsghdr* message) {
    ++count;
    each(message);
  };
  Forward forward{&counting};
  if (mnl_cb_run(buffer_.data(), static_cast<std::size_t>(received), 0, 0, forward_message, &forward) < 0) return unexpected(errno);
  return count;
}

}  // namespace ward::driver::xfrm
