// From the driver API's SaParams to a kernel XFRM state: the Linux crypto API's names for Ward's
// algorithms, the keys, and the message for a kernel that refuses the state for lack of ESP or AH.
#pragma once

#include <string>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/crypto/sa_params.h"
#include "driver/xfrm/xfrm_sad.h"

namespace ward::driver::xfrm {

// ESP: an AEAD ("rfc4106(gcm(aes))") or a cipher and an authenticator; AH (params.protocol Ah):
// the authenticator only.
Expected<void, std::string> fill_keys(const crypto::SaParams& params, KernelSaKeys& keys);

// "xfrm: the kernel refused ESP SA 0x... (No such file or directory): this kernel has no ESP
// support for it (...; /proc/crypto does not list ...); use the nfqueue backend ...".
std::string missing_support_message(const crypto::SaParams& params, const KernelSaKeys& keys, int error);

IpAddress from_crypto(const crypto::IpAddress& address);

}  // namespace ward::driver::xfrm
