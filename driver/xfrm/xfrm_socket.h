// A NETLINK_XFRM socket: requests with acknowledgements, dumps, and multicast subscriptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"

struct mnl_socket;
struct nlmsghdr;

namespace ward::driver::xfrm {

// The IP protocol numbers XFRM states and templates name.
inline constexpr std::uint8_t kEspProtocol = 50;
inline constexpr std::uint8_t kAhProtocol = 51;

class XfrmSocket {
 public:
  // groups: a bit mask of XFRMNLGRP_* multicast groups to join (0 for a plain request socket).
  static Expected<std::unique_ptr<XfrmSocket>, std::string> open(unsigned groups = 0);
  ~XfrmSocket();
  XfrmSocket(const XfrmSocket&) = delete;
  XfrmSocket& operator=(const XfrmSocket&) = delete;

  // A fresh message in the send buffer, with NLM_F_REQUEST|NLM_F_ACK and `flags` added.
  nlmsghdr* new_message(std::uint16_t type, std::uint16_t flags = 0);
  // Sends the message and waits for the kernel's acknowledgement; the error carries errno's text.
  Expected<void, int> request(nlmsghdr* message);
  // Sends the message, calls `each` for every message the kernel answers with (XFRM_MSG_ALLOCSPI's
  // new state) and waits for the acknowledgement.
  Expected<void, int> request(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& each);
  // Sends a dump request and calls `each` for every message of the reply.
  Expected<void, int> dump(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& each);
  // Multicast sockets: waits up to `timeout` and calls `each` for every message received.
  Expected<std::size_t, int> receive(const std::function<void(const nlmsghdr*)>& each, std::chrono::milliseconds timeout);

 private:
  struct Deleter {
    void operator()(mnl_socket* socket) const noexcept;
  };
  explicit XfrmSocket(std::unique_ptr<mnl_socket, Deleter> socket);
  Expected<void, int> run_replies(std::uint32_t sequence, const std::function<void(const nlmsghdr*)>* each);

  std::unique_ptr<mnl_socket, Deleter> socket_;
  unsigned port_id_ = 0;
  std::uint32_t sequence_ = 0;
  std::vector<char> buffer_;
};

}  // namespace ward::driver::xfrm
