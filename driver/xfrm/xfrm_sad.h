// Kernel SAs (ESP or AH) for the xfrm backend, on kernels that have ESP/AH. On kernels without
// them (this workplace's host) the kernel refuses the SA, and kernel_lacks_esp() says so, so
// callers and tests can report it clearly instead of failing obscurely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/xfrm/xfrm_socket.h"

struct nlmsghdr;

namespace ward::driver::xfrm {

struct KernelSaKeys {
  // Linux crypto API names: AEAD "rfc4106(gcm(aes))" (key includes the 4-byte salt), or a cipher
  // such as "cbc(aes)" / "ecb(cipher_null)" with an authenticator such as "hmac(sha256)". AH has
  // the authenticator only.
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
  std::uint8_t protocol = kEspProtocol;  // or kAhProtocol
  std::uint32_t spi = 0;
  std::uint32_t reqid = 0;
  bool tunnel = false;
  std::uint8_t replay_window = 64;
  // Lifetimes; 0 means no limit. The kernel reports reaching them as XFRM_MSG_EXPIRE.
  std::uint64_t soft_bytes = 0, hard_bytes = 0, soft_seconds = 0, hard_seconds = 0;
  // RFC 3948 UDP encapsulation: the ports this SA's packets go from and to (0: none).
  std::uint16_t encap_source_port = 0, encap_destination_port = 0;
  KernelSaKeys keys;
  bool update = false;  // completes the larval state allocate_spi made (XFRM_MSG_UPDSA)
};

// One XFRM_MSG_EXPIRE: an SA reached its soft or hard lifetime.
struct KernelExpire {
  IpAddress destination;
  std::uint8_t protocol = kEspProtocol;
  std::uint32_t spi = 0;
  bool hard = false;
};
std::optional<KernelExpire> parse_expire(const nlmsghdr* message);

// What the kernel counts per SA.
struct KernelSaStats {
  IpAddress destination;
  std::uint8_t protocol = kEspProtocol;
  std::uint32_t spi = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;  // replay + integrity failures
};
Expected<std::vector<KernelSaStats>, int> dump_sa_stats(XfrmSocket& socket);

Expected<void, int> add_sa(XfrmSocket& socket, const KernelSa& sa);
// XFRM_MSG_ALLOCSPI: the kernel picks an SPI in [min, max] unused for (destination, protocol) and
// holds it in a larval state from `source` (which expires unless add_sa with `update` completes it).
Expected<std::uint32_t, int> allocate_spi(XfrmSocket& socket, const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                                          std::uint32_t reqid, std::uint32_t min, std::uint32_t max);
Expected<void, int> delete_sa(XfrmSocket& socket, const IpAddress& destination, std::uint32_t spi, std::uint8_t protocol = kEspProtocol);
bool kernel_lacks_esp(int error) noexcept;

}  // namespace ward::driver::xfrm
