// ipsecData of an ipsecPolicy object (MS-GPIPSEC 2.2.1.1.1): the directory polling interval.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"

namespace ward::adblob {

struct PolicyBlob {
  static constexpr std::uint32_t kDefaultPollingSeconds = 10800;  // what 0 means

  std::uint32_t polling_interval_seconds = 0;  // 0 = kDefaultPollingSeconds
  std::optional<std::uint32_t> data_length_as_found;  // set only when not the usual 4
  std::vector<std::byte> trailer = {std::byte{0}};     // the Unused byte and anything after it

  friend bool operator==(const PolicyBlob&, const PolicyBlob&) = default;
};

Expected<PolicyBlob, ParseError> decode_policy_blob(std::span<const std::byte> data) noexcept;
std::vector<std::byte> encode_policy_blob(const PolicyBlob& blob);

}  // namespace ward::adblob
