// A client of the monitor endpoint (wardctl --monitor, the editor's Security monitor, tests): one
// TLS connection with this side's certificate, the server verified against `ca` and the host or
// address dialled; one request at a time.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "agent/control/client.h"
#include "agent/control/protocol.h"
#include "agent/monitor/tls.h"
#include "common/expected.h"

namespace ward::agent::monitor {

class MonitorClient {
 public:
  static Expected<MonitorClient, control::ClientError> connect(std::string_view endpoint, const TlsFiles& tls,
                                                               std::chrono::milliseconds timeout) noexcept;
  Expected<control::Response, control::ClientError> call(const control::Request& request) noexcept;
  // Sends raw bytes (tests of malformed input) and reads one response line.
  Expected<control::Response, control::ClientError> call_raw(std::string_view bytes) noexcept;

  MonitorClient(MonitorClient&&) noexcept = default;
  MonitorClient& operator=(MonitorClient&&) noexcept = default;
  ~MonitorClient();

 private:
  MonitorClient(control::FileDescriptor fd, SslContextPtr context, SslPtr ssl)
      : fd_(std::move(fd)), context_(std::move(context)), ssl_(std::move(ssl)) {}

  control::FileDescriptor fd_;
  SslContextPtr context_;
  SslPtr ssl_;
  std::string buffer_;
};

}  // namespace ward::agent::monitor
