#include "driver/nfqueue/netfilter_queue.h"

#include <arpa/inet.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

namespace ward::driver {

namespace {

constexpr std::size_t kReceiveBufferSize = 0xFFFF + 4096;  // one full packet plus netlink framing
constexpr int kSocketReceiveBuffer = 8 * 1024 * 1024;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

struct CallbackContext {
  const NetfilterQueue::Handler* handler;
  std::size_t handled = 0;
};

int on_queue_message(const nlmsghdr* message, void* data) {
  auto* context = static_cast<CallbackContext*>(data);
  nlattr* attributes[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(message, attributes) < 0 || attributes[NFQA_PACKET_HDR] == nullptr) return MNL_CB_OK;
  nfqnl_msg_packet_hdr header{};
  std::memcpy(&header, mnl_attr_get_payload(attributes[NFQA_PACKET_HDR]), sizeof header);
  QueuedPacket packet;
  packet.id = ntohl(header.packet_id);
  packet.ether_protocol = ntohs(header.hw_protocol);
  packet.hook = header.hook;
  if (attributes[NFQA_PAYLOAD] != nullptr) {
    packet.payload = std::span<const std::byte>(static_cast<const std::byte*>(mnl_attr_get_payload(attributes[NFQA_PAYLOAD])),
                                                mnl_attr_get_payload_len(attributes[NFQA_PAYLOAD]));
  }
  (*context->handler)(packet);
  ++context->handled;
  return MNL_CB_OK;
}

}  // namespace

void NetfilterQueue::MnlSocketDeleter::operator()(mnl_socket* socket) const noexcept { mnl_socket_close(socket); }

NetfilterQueue::NetfilterQueue(std::unique_ptr<mnl_socket, MnlSocketDeleter> socket, QueueOptions options)
    : socket_(std::move(socket)),
      options_(options),
      port_id_(mnl_socket_get_portid(socket_.get())),
      receive_buffer_(kReceiveBufferSize),
      send_buffer_(kReceiveBufferSize) {}

NetfilterQueue::~NetfilterQueue() {
  if (socket_) (void)send_config(NFQNL_CFG_CMD_UNBIND, false);
}

int NetfilterQueue::fd() const noexcept { return mnl_socket_get_fd(socket_.get()); }

Expected<void, std::string> NetfilterQueue::send_config(std::uint8_t command, bool set_params) {
  nlmsghdr* message = nfq_nlmsg_put(send_buffer_.data(), NFQNL_MSG_CONFIG, options_.queue_number);
  if (command != 0) nfq_nlmsg_cfg_put_cmd(message, AF_UNSPEC, command);
  if (set_params) {
    nfq_nlmsg_cfg_put_params(message, NFQNL_COPY_PACKET, static_cast<int>(options_.copy_range));
    nfq_nlmsg_cfg_put_qmaxlen(message, options_.max_queued);
    // No NFQA_CFG_F_FAIL_OPEN: when Ward cannot keep up, packets are dropped, never let through.
    // No NFQA_CFG_F_GSO: the kernel segments before queueing, so every packet fits one ESP packet.
  }
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return unexpected(errno_text("NFQUEUE config"));
  return {};
}

Expected<std::unique_ptr<NetfilterQueue>, std::string> NetfilterQueue::open(const QueueOptions& options) {
  std::unique_ptr<mnl_socket, MnlSocketDeleter> socket(mnl_socket_open(NETLINK_NETFILTER));
  if (!socket) return unexpected(errno_text("netlink socket"));
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0) return unexpected(errno_text("netlink bind"));
  int no_enobufs = 1;
  mnl_socket_setsockopt(socket.get(), NETLINK_NO_ENOBUFS, &no_enobufs, sizeof no_enobufs);
  setsockopt(mnl_socket_get_fd(socket.get()), SOL_SOCKET, SO_RCVBUFFORCE, &kSocketReceiveBuffer, sizeof kSocketReceiveBuffer);

  std::unique_ptr<NetfilterQueue> queue(new NetfilterQueue(std::move(socket), options));
  if (auto bound = queue->send_config(NFQNL_CFG_CMD_BIND, false); !bound) return unexpected(bound.error());
  if (auto configured = queue->send_config(0, true); !configured) return unexpected(configured.error());
  return queue;
}

Expected<std::size_t, std::string> NetfilterQueue::receive(const Handler& handler, std::chrono::milliseconds timeout) {
  pollfd descriptor{fd(), POLLIN, 0};
  const int ready = poll(&descriptor, 1, static_cast<int>(timeout.count()));
  if (ready < 0) {
    if (errno == EINTR) return std::size_t{0};
    return unexpected(errno_text("poll NFQUEUE"));
  }
  if (ready == 0) return std::size_t{0};
  const ssize_t received = mnl_socket_recvfrom(socket_.get(), receive_buffer_.data(), receive_buffer_.size());
  if (received < 0) {
    if (errno == ENOBUFS || errno == EINTR) return std::size_t{0};
    return unexpected(errno_text("receive from NFQUEUE"));
  }
  CallbackContext context{&handler};
  if (mnl_cb_run(receive_buffer_.data(), static_cast<std::size_t>(received), 0, port_id_, on_queue_message, &context) < 0) {
    return unexpected(errno_text("NFQUEUE message"));
  }
  return context.handled;
}

Expected<void, std::string> NetfilterQueue::verdict(std::uint32_t packet_id, Verdict verdict, std::span<const std::byte> replacement) {
  nlmsghdr* message = nfq_nlmsg_put(send_buffer_.data(), NFQNL_MSG_VERDICT, options_.queue_number);
  nfq_nlmsg_verdict_put(message, static_cast<int>(packet_id), verdict == Verdict::Accept ? NF_ACCEPT : NF_DROP);
  if (!replacement.empty()) {
    if (replacement.size() > send_buffer_.size() - 256) return unexpected(std::string("replacement packet too large"));
    nfq_nlmsg_verdict_put_pkt(message, replacement.data(), static_cast<std::uint32_t>(replacement.size()));
  }
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return unexpected(errno_text("NFQUEUE verdict"));
  return {};
}

}  // namespace ward::driver
