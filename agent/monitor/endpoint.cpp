#include "agent/monitor/endpoint.h"

#include <netdb.h>

#include <charconv>

namespace ward::agent::monitor {

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Expected<Endpoint, std::string> parse_endpoint(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return unexpected("endpoint '" + std::string(text) + "': " + std::string(why) + " (want host:port or [v6]:port)");
  };
  Endpoint endpoint;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("no closing ']'");
    endpoint.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no ':port' after ']'");
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    endpoint.host = std::string(text.substr(0, colon));
    if (endpoint.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    port_text = text.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad("no host");
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("port must be a number 0..65535");
  }
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

void AddrInfoDeleter::operator()(addrinfo* info) const noexcept { ::freeaddrinfo(info); }

}  // namespace ward::agent::monitor
