// Ward's extension record: what the Windows blob fields cannot hold (AES, SHA-256/384, ECP and
// group 14 where no field exists, the legacy-algorithm opt-in). It follows the blob's usual pad
// byte, outside Data-Length, where Windows does not look (FINDINGS.md "Ward extension"):
//   00 | GUID {FE2D3F0B-5A5E-4313-BCF0-233084122B0A} | u32 length | u32 version (1) | records
//   record = u16 tag | u16 length | value   (all little-endian; unknown tags are skipped)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"
#include "directory/model/policy.h"

namespace ward::adblob {

extern const model::Guid kWardExtensionId;
inline constexpr std::uint32_t kWardExtensionVersion = 1;

struct WardExtension {
  std::vector<model::KeyExchangeMethod> key_exchange_methods;  // complete list, in order
  std::vector<model::SecurityMethod> security_methods;         // complete list, in order
  std::optional<bool> quick_mode_pfs;
  std::optional<bool> allow_legacy_algorithms;

  bool empty() const {
    return key_exchange_methods.empty() && security_methods.empty() && !quick_mode_pfs && !allow_legacy_algorithms;
  }
  friend bool operator==(const WardExtension&, const WardExtension&) = default;
};

// The whole trailer: the pad byte, then the record.
std::vector<std::byte> encode_ward_trailer(const WardExtension& extension);
// nullopt when the trailer holds no Ward record (a Windows-made blob); an error when it holds a
// broken one. `base_offset`: where the trailer starts inside the blob, for error offsets.
Expected<std::optional<WardExtension>, ParseError> decode_ward_trailer(std::span<const std::byte> trailer,
                                                                        std::size_t base_offset);

}  // namespace ward::adblob
