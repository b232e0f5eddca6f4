// Does this kernel do ESP and AH? Asked the only way that is sure: an ESP state (AES-GCM) and an AH
// state (HMAC-SHA-256) are added and deleted again, in a scratch network namespace of their own (a
// thread that unshares its namespace, so nothing ever appears in the caller's SAD); where that
// namespace cannot be made, in the caller's namespace with addresses from TEST-NET-1 (RFC 5737)
// and SPIs no IKE hands out. Adding a state makes the kernel load esp4/ah4 and the algorithms on
// demand, so a kernel with those as modules counts as having them. /proc/crypto is no proof either
// way (it lists only what is loaded).
#pragma once

#include <string>

namespace ward::driver::xfrm {

struct KernelIpsecProbe {
  bool esp = false;
  bool ah = false;
  std::string detail;  // what was tried and what the kernel said, for logs and `wardctl show policy`
};

KernelIpsecProbe probe_kernel_ipsec();

}  // namespace ward::driver::xfrm
