// Kernel SAs for the xfrm backend, on kernels that have ESP. On kernels without it (this
// workplace's) the kernel refuses the SA, and kernel_lacks_esp() says so, so callers and tests can
// report it clearly instead of failing obscurely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/xfrm/xfrm_socket.h"

namespace ward::driver::xfrm {

struct KernelSaKeys {
  // Linux crypto API names: AEAD "rfc4106(gcm(aes))" (key includes the 4-byte salt), or a cipher
  // such as "cbc(aes)" / "ecb(cipher_null)" with an authenticator such as "hmac(sha256)".
  std::string aead;
  std::string cipher;
  std::string integrity;
  std::vector<std::uint8_t> aead_key, cipher_key, integrity_key;
  unsigned icv_bits = 128;  // AEAD ICV, or the truncated HMAC length

  ~KernelSaKeys();
};

struct KernelSa {
  IpAddress source;
  IpAddress destination;
  std::uint32_t spi = 0;
  std::uint32_t reqid = 0;
  bool tunnel = false;
  std::uint8_t replay_window = 64;
  KernelSaKeys keys;
};

Expected<void, int> add_sa(XfrmSocket& socket, const KernelSa& sa);
Expected<void, int> delete_sa(XfrmSocket& socket, const IpAddress& destination, std::uint32_t spi);
bool kernel_lacks_esp(int error) noexcept;

}  // namespace ward::driver::xfrm
