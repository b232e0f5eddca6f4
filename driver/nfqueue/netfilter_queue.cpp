#include "driver/nfqueue/netfilter_queue.h"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "common/errno_text.h"

namespace ward::driver {

namespace {

constexpr std::size_t kReceiveSlotSize = 0xFFFF + 4096;  // one full packet plus netlink framing
// Pending verdicts (each up to one full packet): below the netlink socket's default send buffer
// (212,992 bytes), which bounds one sendto.
constexpr std::size_t kSendBufferSize = 128 * 1024;
constexpr std::size_t kVerdictFraming = 256;  // netlink, nfgen and attribute headers of one verdict
constexpr int kSocketReceiveBuffer = 8 * 1024 * 1024;


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
  if (attributes[NFQA_SKB_INFO] != nullptr) {
    const std::uint32_t info = ntohl(mnl_attr_get_u32(attributes[NFQA_SKB_INFO]));
    packet.checksum_not_ready = (info & NFQA_SKB_CSUMNOTREADY) != 0;
    packet.gso = (info & NFQA_SKB_GSO) != 0;
  }
  if (attributes[NFQA_CAP_LEN] != nullptr) packet.truncated = ntohl(mnl_attr_get_u32(attributes[NFQA_CAP_LEN])) > packet.payload.size();
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
      receive_buffer_(std::max<std::size_t>(options_.receive_batch, 1) * kReceiveSlotSize),
      receive_vectors_(std::max<std::size_t>(options_.receive_batch, 1)),
      receive_messages_(receive_vectors_.size()),
      send_buffer_(kSendBufferSize) {
  for (std::size_t i = 0; i < receive_vectors_.size(); ++i) {
    receive_vectors_[i] = iovec{receive_buffer_.data() + i * kReceiveSlotSize, kReceiveSlotSize};
  }
}

NetfilterQueue::~NetfilterQueue() {
  if (socket_) {
    (void)flush();
    send_used_ = 0;
    (void)send_config(NFQNL_CFG_CMD_UNBIND, false);
  }
}

int NetfilterQueue::fd() const noexcept { return mnl_socket_get_fd(socket_.get()); }

Expected<void, std::string> NetfilterQueue::send_config(std::uint8_t command, bool set_params) {
  if (auto flushed = flush(); !flushed) return flushed;
  nlmsghdr* message = nfq_nlmsg_put(send_buffer_.data(), NFQNL_MSG_CONFIG, options_.queue_number);
  if (command != 0) nfq_nlmsg_cfg_put_cmd(message, AF_UNSPEC, command);
  if (set_params) {
    nfq_nlmsg_cfg_put_params(message, NFQNL_COPY_PACKET, static_cast<int>(options_.copy_range));
    nfq_nlmsg_cfg_put_qmaxlen(message, options_.max_queued);
    // No NFQA_CFG_F_FAIL_OPEN: when Ward cannot keep up, packets are dropped, never let through.
    // NFQA_CFG_F_GSO only where asked: without it the kernel segments before queueing (one queue
    // round trip per MTU-sized packet) and completes checksums.
    const std::uint32_t flags = options_.gso ? NFQA_CFG_F_GSO : 0;
    mnl_attr_put_u32(message, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(message, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
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
  const auto take = [&] {
    for (std::size_t i = 0; i < receive_messages_.size(); ++i) {
      receive_messages_[i] = mmsghdr{};
      receive_messages_[i].msg_hdr.msg_iov = &receive_vectors_[i];
      receive_messages_[i].msg_hdr.msg_iovlen = 1;
    }
    return recvmmsg(fd(), receive_messages_.data(), static_cast<unsigned>(receive_messages_.size()), MSG_DONTWAIT, nullptr);
  };
  int count = take();
  if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // nothing waiting: sleep in poll
    pollfd descriptor{fd(), POLLIN, 0};
    const int ready = poll(&descriptor, 1, static_cast<int>(timeout.count()));
    if (ready < 0) {
      if (errno == EINTR) return std::size_t{0};
      return unexpected(errno_text("poll NFQUEUE"));
    }
    if (ready == 0) return std::size_t{0};
    count = take();
  }
  if (count < 0) {
    if (errno == ENOBUFS || errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return unexpected(errno_text("receive from NFQUEUE"));
  }
  CallbackContext context{&handler};
  std::string first_error;
  for (int i = 0; i < count; ++i) {
    const mmsghdr& received = receive_messages_[static_cast<std::size_t>(i)];
    if ((received.msg_hdr.msg_flags & MSG_TRUNC) != 0) {  // cannot happen with copy_range <= 0xFFFF
      if (first_error.empty()) first_error = "NFQUEUE message truncated (" + std::to_string(received.msg_len) + " bytes)";
      continue;
    }
    if (mnl_cb_run(receive_vectors_[static_cast<std::size_t>(i)].iov_base, received.msg_len, 0, port_id_, on_queue_message,
                   &context) < 0 &&
        first_error.empty()) {
      first_error = errno_text("NFQUEUE message");
    }
  }
  if (!first_error.empty()) return unexpected(first_error);
  return context.handled;
}

Expected<void, std::string> NetfilterQueue::verdict(std::uint32_t packet_id, Verdict verdict, std::span<const std::byte> replacement) {
  const std::size_t needed = replacement.size() + kVerdictFraming;
  if (needed > send_buffer_.size()) {
    return unexpected("replacement packet too large (" + std::to_string(replacement.size()) + " > " +
                      std::to_string(send_buffer_.size() - kVerdictFraming) + " bytes)");
  }
  if (send_used_ + needed > send_buffer_.size()) {
    if (auto flushed = flush(); !flushed) return flushed;
  }
  nlmsghdr* message = nfq_nlmsg_put(send_buffer_.data() + send_used_, NFQNL_MSG_VERDICT, options_.queue_number);
  nfq_nlmsg_verdict_put(message, static_cast<int>(packet_id), verdict == Verdict::Accept ? NF_ACCEPT : NF_DROP);
  if (!replacement.empty()) {
    nfq_nlmsg_verdict_put_pkt(message, replacement.data(), static_cast<std::uint32_t>(replacement.size()));
  }
  send_used_ += NLMSG_ALIGN(message->nlmsg_len);
  ++pending_verdicts_;
  return {};
}

Expected<void, std::string> NetfilterQueue::flush() {
  if (send_used_ == 0) return {};
  const std::size_t count = pending_verdicts_;
  const ssize_t sent = mnl_socket_sendto(socket_.get(), send_buffer_.data(), send_used_);
  send_used_ = 0;
  pending_verdicts_ = 0;
  if (sent < 0) return unexpected(errno_text(("NFQUEUE verdicts (" + std::to_string(count) + ")").c_str()));
  return {};
}

}  // namespace ward::driver
