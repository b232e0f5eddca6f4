// IpAddress to and from the kernel's xfrm_address_t (16 bytes; an IPv4 address in the first 4).
#pragma once

#include <linux/xfrm.h>

#include <cstdint>

#include "common/ip.h"

namespace ward::driver::xfrm {

void put_address(xfrm_address_t& out, const IpAddress& address);
IpAddress address_from(const xfrm_address_t& raw, std::uint16_t family);  // family: AF_INET or AF_INET6

}  // namespace ward::driver::xfrm
