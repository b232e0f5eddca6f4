#include "agent/daemon/host_addresses.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace ward::agent::daemon {
namespace {

struct IfaddrsFree {
  void operator()(ifaddrs* list) const noexcept { freeifaddrs(list); }
};

std::optional<IpAddress> address_of(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    return IpAddress::v4(ntohl(v4.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    return IpAddress::v6(bytes);
  }
  return std::nullopt;
}

}  // namespace

Expected<std::vector<IpAddress>, std::string> host_addresses() {
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) return unexpected(std::string("getifaddrs: ") + std::strerror(errno));
  const std::unique_ptr<ifaddrs, IfaddrsFree> list(raw);
  std::vector<IpAddress> out;
  for (const ifaddrs* entry = list.get(); entry != nullptr; entry = entry->ifa_next) {
    if ((entry->ifa_flags & IFF_UP) == 0 || (entry->ifa_flags & IFF_LOOPBACK) != 0) continue;
    if (auto address = address_of(entry->ifa_addr)) out.push_back(*address);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string addresses_text(const std::vector<IpAddress>& addresses) {
  std::string out;
  for (const auto& address : addresses) {
    if (!out.empty()) out += ',';
    out += address.to_string();
  }
  return out;
}

}  // namespace ward::agent::daemon
