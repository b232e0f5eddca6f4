#include "driver/xfrm/xfrm_address.h"

#include <sys/socket.h>

#include <array>
#include <cstring>

namespace ward::driver::xfrm {

void put_address(xfrm_address_t& out, const IpAddress& address) {
  std::memcpy(&out, address.bytes().data(), address.family() == IpFamily::V4 ? 4 : 16);
}

IpAddress address_from(const xfrm_address_t& raw, std::uint16_t family) {
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), &raw, bytes.size());
  if (family == AF_INET) {
    return IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3]);
  }
  return IpAddress::v6(bytes);
}

}  // namespace ward::driver::xfrm
