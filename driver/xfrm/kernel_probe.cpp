#include "driver/xfrm/kernel_probe.h"

#include <sched.h>

#include <cstring>
#include <thread>

#include "driver/xfrm/xfrm_sad.h"
#include "driver/xfrm/xfrm_socket.h"

namespace ward::driver::xfrm {

namespace {

// SPIs below 256 are reserved (RFC 4303 2.1): IKE never negotiates these, so they cannot collide.
constexpr std::uint32_t kProbeSpi = 0xfe;
constexpr const char* kProbeSource = "192.0.2.1";       // TEST-NET-1
constexpr const char* kProbeDestination = "192.0.2.2";

// Adds and deletes one state; the errno of a refusal, or 0.
int try_state(XfrmSocket& socket, std::uint8_t protocol) {
  KernelSa sa;
  sa.source = *IpAddress::parse(kProbeSource);
  sa.destination = *IpAddress::parse(kProbeDestination);
  sa.protocol = protocol;
  sa.spi = kProbeSpi;
  if (protocol == kEspProtocol) {
    sa.keys.aead = "rfc4106(gcm(aes))";
    sa.keys.aead_key.assign(20, 0x5a);
    sa.keys.icv_bits = 128;
  } else {
    sa.keys.integrity = "hmac(sha256)";
    sa.keys.integrity_key.assign(32, 0x5a);
    sa.keys.icv_bits = 128;
  }
  auto added = add_sa(socket, sa);
  if (!added) return added.error();
  (void)delete_sa(socket, sa.destination, sa.spi, protocol);
  return 0;
}

KernelIpsecProbe probe_here(const std::string& where) {
  KernelIpsecProbe probe;
  auto socket = XfrmSocket::open();
  if (!socket) {
    probe.detail = "no XFRM netlink (" + socket.error() + ")";
    return probe;
  }
  const int esp = try_state(**socket, kEspProtocol);
  const int ah = try_state(**socket, kAhProtocol);
  probe.esp = esp == 0;
  probe.ah = ah == 0;
  probe.detail = "the kernel " + std::string(probe.esp ? "accepted" : "refused") + " an ESP state (rfc4106(gcm(aes)))" +
                 (probe.esp ? "" : std::string(": ") + std::strerror(esp)) + " and " + (probe.ah ? "accepted" : "refused") +
                 " an AH state (hmac(sha256))" + (probe.ah ? "" : std::string(": ") + std::strerror(ah)) + " " + where;
  return probe;
}

}  // namespace

KernelIpsecProbe probe_kernel_ipsec() {
  KernelIpsecProbe probe;
  bool scratch = false;
  std::thread([&] {
    // Only this thread changes namespace; it ends with the thread.
    if (unshare(CLONE_NEWNET) != 0) return;
    scratch = true;
    probe = probe_here("in a scratch network namespace");
  }).join();
  if (!scratch) probe = probe_here("(added and deleted at once, TEST-NET-1 addresses)");
  return probe;
}

}  // namespace ward::driver::xfrm
