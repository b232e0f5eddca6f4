// Kernel acquires: the kernel asks for an SA for traffic that matched a negotiate policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/xfrm/xfrm_socket.h"

struct nlmsghdr;

namespace ward::driver::xfrm {

struct KernelAcquire {
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = 0;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t reqid = 0;  // the filter id from the policy's template
  std::uint32_t policy_priority = 0;
};

// Parses one XFRM_MSG_ACQUIRE message; nothing for other messages or malformed ones.
std::optional<KernelAcquire> parse_acquire(const nlmsghdr* message);

// Listens on the XFRMNLGRP_ACQUIRE multicast group of the calling thread's namespace.
class AcquireListener {
 public:
  static Expected<AcquireListener, std::string> open();
  std::vector<KernelAcquire> wait(std::chrono::milliseconds timeout);

 private:
  explicit AcquireListener(std::unique_ptr<XfrmSocket> socket) : socket_(std::move(socket)) {}
  std::unique_ptr<XfrmSocket> socket_;
};

}  // namespace ward::driver::xfrm
