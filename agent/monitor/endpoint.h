// "host:port" and "[v6-address]:port" as written in ward.conf's [monitor] listen and wardctl --monitor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/expected.h"

struct addrinfo;

namespace ward::agent::monitor {

struct Endpoint {
  std::string host;  // a name, an IPv4 address or an IPv6 address (without brackets)
  std::uint16_t port = 0;

  std::string to_string() const;  // brackets an IPv6 address again
};

// Port 0 is allowed (the kernel picks one; tests use it). The error quotes the text and says why.
Expected<Endpoint, std::string> parse_endpoint(std::string_view text);

// Frees getaddrinfo's list: std::unique_ptr<addrinfo, AddrInfoDeleter>.
struct AddrInfoDeleter {
  void operator()(addrinfo* info) const noexcept;
};

}  // namespace ward::agent::monitor
