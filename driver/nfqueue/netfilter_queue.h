// One NFQUEUE queue: packets the kernel hands to Ward and the verdicts Ward gives back.
// Built on libnetfilter_queue's netlink message helpers over a libmnl socket. A queue is owned by
// one thread; packets are handed over by reference into the receive buffers and must be given a
// verdict before the next receive.
//
// Per-packet system calls are the cost here (a full-size ESP packet is encrypted in about a
// microsecond), so both directions are batched: receive() takes up to QueueOptions::receive_batch
// queued packets with one recvmmsg (polling only when nothing is waiting), and verdict() only
// appends the verdict message to a send buffer; flush() sends every pending verdict with one
// sendto (the kernel walks the netlink messages of one buffer in order). The owner must flush
// after each receive() and after verdicts given outside it; verdict() flushes by itself when the
// buffer is full.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

#include "common/expected.h"

struct mnl_socket;

namespace ward::driver {

enum class Verdict : std::uint8_t { Accept, Drop };

struct QueuedPacket {
  std::uint32_t id = 0;
  std::uint16_t ether_protocol = 0;  // 0x0800 IPv4, 0x86DD IPv6
  std::uint8_t hook = 0;             // NF_INET_* hook the packet was queued from
  std::span<const std::byte> payload;  // the IP datagram; valid until the next receive()
  // With QueueOptions::gso: the kernel handed the packet over without computing its TCP/UDP
  // checksum (locally generated, checksum offload), and/or unsegmented (up to 64 KiB).
  bool checksum_not_ready = false;
  bool gso = false;
  bool truncated = false;  // longer than copy_range: payload is only its beginning
};

struct QueueOptions {
  std::uint16_t queue_number = 0;
  std::uint32_t max_queued = 4096;  // the kernel drops beyond this (we never fail open)
  std::uint32_t copy_range = 0xFFFF;
  std::size_t receive_batch = 32;  // packets taken per receive() (one recvmmsg)
  // NFQA_CFG_F_GSO: the kernel neither segments nor completes checksums before queueing; the
  // owner must (gso_segments.h) or accept the packet unchanged.
  bool gso = false;
};

class NetfilterQueue {
 public:
  using Handler = std::function<void(const QueuedPacket&)>;

  // Binds the queue in the calling thread's network namespace.
  static Expected<std::unique_ptr<NetfilterQueue>, std::string> open(const QueueOptions& options);
  ~NetfilterQueue();
  NetfilterQueue(const NetfilterQueue&) = delete;
  NetfilterQueue& operator=(const NetfilterQueue&) = delete;

  int fd() const noexcept;
  std::uint16_t queue_number() const noexcept { return options_.queue_number; }

  // Takes the packets already waiting (up to receive_batch), or waits up to `timeout` for some,
  // and calls `handler` for each one. Returns how many packets were handled (0 on timeout).
  Expected<std::size_t, std::string> receive(const Handler& handler, std::chrono::milliseconds timeout);

  // Queues a verdict for sending (see flush()); with `replacement`, the kernel continues with those
  // bytes instead. Flushes first when the send buffer cannot take it.
  Expected<void, std::string> verdict(std::uint32_t packet_id, Verdict verdict, std::span<const std::byte> replacement = {});
  // Sends the pending verdicts (one system call); nothing to do when none are pending.
  Expected<void, std::string> flush();
  std::size_t pending_verdicts() const noexcept { return pending_verdicts_; }

 private:
  struct MnlSocketDeleter {
    void operator()(mnl_socket* socket) const noexcept;
  };
  NetfilterQueue(std::unique_ptr<mnl_socket, MnlSocketDeleter> socket, QueueOptions options);
  Expected<void, std::string> send_config(std::uint8_t command_or_zero, bool set_params);

  std::unique_ptr<mnl_socket, MnlSocketDeleter> socket_;
  QueueOptions options_;
  unsigned port_id_ = 0;
  std::vector<char> receive_buffer_;    // receive_batch slots of kReceiveSlotSize bytes
  std::vector<iovec> receive_vectors_;  // one per slot
  std::vector<mmsghdr> receive_messages_;
  std::vector<char> send_buffer_;
  std::size_t send_used_ = 0;  // bytes of pending verdict messages at the start of send_buffer_
  std::size_t pending_verdicts_ = 0;
};

}  // namespace ward::driver
