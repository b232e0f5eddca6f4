// ipsecData of an ipsecFilter object (MS-GPIPSEC 2.2.1.5.1): a filter list. Part 1 holds IPv4-only
// legacy filters; the optional part 2 (Vista and later) holds filters with IPv6 addresses, ranges,
// "me" and server sets. IPv4 addresses are in network byte order, ports little-endian.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"
#include "directory/model/guid.h"

namespace ward::adblob {

namespace filter_code {
inline constexpr std::uint8_t kSpecialNone = 0;
inline constexpr std::uint8_t kSpecialSourceDns = 0x01;    // +1 WINS, +2 DHCP, +3 default gateway
inline constexpr std::uint8_t kSpecialDestinationDns = 0x81;
// V2 IPsec-Address-Type.
inline constexpr std::uint32_t kAddressAny = 0;
inline constexpr std::uint32_t kAddressSingle = 1;
inline constexpr std::uint32_t kAddressRange = 2;
inline constexpr std::uint32_t kAddressSubnet = 4;
inline constexpr std::uint32_t kAddressMe = 8;
inline constexpr std::uint32_t kAddressDnsServers = 0x10;
inline constexpr std::uint32_t kAddressWinsServers = 0x20;
inline constexpr std::uint32_t kAddressDhcpServer = 0x40;
inline constexpr std::uint32_t kAddressDefaultGateway = 0x80;
// V2 IPsec-Address-Version.
inline constexpr std::uint32_t kVersionV4 = 1;
inline constexpr std::uint32_t kVersionV6 = 2;
inline constexpr std::uint32_t kVersionBoth = 3;
// V2 Port-Type.
inline constexpr std::uint32_t kPortAny = 0;
inline constexpr std::uint32_t kPortSingle = 1;
inline constexpr std::uint32_t kPortRange = 2;
inline constexpr std::uint32_t kFlagUseV2Ranges = 0x8;
}  // namespace filter_code

struct LegacyFilterSpec {
  std::u16string source_dns_name;       // as found; Windows writes a lone NUL when empty
  std::u16string destination_dns_name;
  std::u16string description;
  model::Guid id;
  std::uint32_t mirrored = 0;
  std::array<std::uint8_t, 4> source_address{};
  std::array<std::uint8_t, 4> source_mask{};
  std::array<std::uint8_t, 4> destination_address{};
  std::array<std::uint8_t, 4> destination_mask{};
  std::array<std::uint8_t, 4> tunnel_address{};
  std::uint32_t protocol = 0;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint8_t is_tunnel = 0;
  std::uint8_t special_filter = filter_code::kSpecialNone;
  std::uint16_t filter_options = 0;

  friend bool operator==(const LegacyFilterSpec&, const LegacyFilterSpec&) = default;
};

struct FilterAddressBlock {
  std::uint32_t type = filter_code::kAddressAny;
  std::uint32_t version = filter_code::kVersionV4;
  std::array<std::uint8_t, 16> address{};
  std::array<std::uint8_t, 16> secondary{};  // range end, or mask (IPv6: prefix length in byte 0)

  friend bool operator==(const FilterAddressBlock&, const FilterAddressBlock&) = default;
};

struct FilterPortBlock {
  std::uint32_t type = filter_code::kPortAny;
  std::uint16_t port = 0;
  std::uint16_t range_end = 0;

  friend bool operator==(const FilterPortBlock&, const FilterPortBlock&) = default;
};

struct FilterSpecV2 {
  std::u16string source_dns_name;
  std::u16string destination_dns_name;
  std::u16string description;
  model::Guid id;
  std::uint32_t mirror_flags = 0;
  FilterAddressBlock source;
  FilterAddressBlock destination;
  FilterPortBlock source_port;
  FilterPortBlock destination_port;
  std::uint32_t protocol = 0;
  std::uint32_t flags = 0;

  friend bool operator==(const FilterSpecV2&, const FilterSpecV2&) = default;
};

struct FilterPartV2 {
  std::uint32_t legacy_count_override = 0;  // Number-Of-Filters11
  std::vector<FilterSpecV2> filters;
  std::optional<std::uint32_t> data_length_as_found;

  friend bool operator==(const FilterPartV2&, const FilterPartV2&) = default;
};

struct FilterBlob {
  std::vector<LegacyFilterSpec> legacy_filters;
  std::optional<std::uint8_t> pad_before_v2;  // tolerated when reading; Ward writes the pad last
  std::optional<FilterPartV2> v2;
  std::optional<std::uint32_t> data_length_as_found;
  std::vector<std::byte> trailer = {std::byte{0}};

  friend bool operator==(const FilterBlob&, const FilterBlob&) = default;
};

Expected<FilterBlob, ParseError> decode_filter_blob(std::span<const std::byte> data) noexcept;
std::vector<std::byte> encode_filter_blob(const FilterBlob& blob);

}  // namespace ward::adblob
