#include "driver/xfrm/xfrm_acquire.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "driver/xfrm/xfrm_address.h"

namespace ward::driver::xfrm {

std::optional<KernelAcquire> parse_acquire(const nlmsghdr* message) {
  if (message->nlmsg_type != XFRM_MSG_ACQUIRE) return std::nullopt;
  if (mnl_nlmsg_get_payload_len(message) < sizeof(xfrm_user_acquire)) return std::nullopt;
  xfrm_user_acquire acquire{};
  std::memcpy(&acquire, mnl_nlmsg_get_payload(message), sizeof acquire);
  KernelAcquire out;
  out.source = address_from(acquire.sel.saddr, acquire.sel.family);
  out.destination = address_from(acquire.sel.daddr, acquire.sel.family);
  out.protocol = acquire.sel.proto;
  out.source_port = ntohs(acquire.sel.sport);
  out.destination_port = ntohs(acquire.sel.dport);
  out.policy_priority = acquire.policy.priority;
  // The template that triggered the acquire follows as XFRMA_TMPL; its reqid is the filter id.
  const auto* attribute = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(message, sizeof(xfrm_user_acquire)));
  const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(message));
  while (mnl_attr_ok(attribute, static_cast<int>(end - reinterpret_cast<const char*>(attribute)))) {
    if (mnl_attr_get_type(attribute) == XFRMA_TMPL && mnl_attr_get_payload_len(attribute) >= sizeof(xfrm_user_tmpl)) {
      xfrm_user_tmpl tmpl{};
      std::memcpy(&tmpl, mnl_attr_get_payload(attribute), sizeof tmpl);
      out.reqid = tmpl.reqid;
      break;
    }
    attribute = mnl_attr_next(attribute);
  }
  return out;
}

Expected<AcquireListener, std::string> AcquireListener::open() {
  auto socket = XfrmSocket::open(1U << (XFRMNLGRP_ACQUIRE - 1));
  if (!socket) return unexpected(socket.error());
  return AcquireListener(std::move(*socket));
}

std::vector<KernelAcquire> AcquireListener::wait(std::chrono::milliseconds timeout) {
  std::vector<KernelAcquire> found;
  (void)socket_->receive(
      [&](const nlmsghdr* message) {
        if (auto acquire = parse_acquire(message)) found.push_back(*acquire);
      },
      timeout);
  return found;
}

}  // namespace ward::driver::xfrm
