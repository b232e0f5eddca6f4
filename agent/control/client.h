// A control socket client: one connection, one request at a time (wardctl and tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "agent/control/protocol.h"
#include "agent/control/server.h"
#include "common/expected.h"

namespace ward::agent::control {

struct ClientError {
  enum class Kind : std::uint8_t {
    NoSocket,          // the socket does not exist: is wardd running?
    PermissionDenied,  // the socket's mode says no
    Connect,           // any other connect failure (e.g. refused: a stale socket)
    Io,                // send/receive failed or timed out
    Protocol,          // the answer is not a valid response line
  };
  Kind kind = Kind::Io;
  std::string message;
};

class ControlClient {
 public:
  static Expected<ControlClient, ClientError> connect(const std::filesystem::path& socket_path,
                                                      std::chrono::milliseconds timeout) noexcept;
  // Sends one request and waits for its response line. A {"ok": false} answer is a Response too.
  Expected<Response, ClientError> call(const Request& request) noexcept;
  // Sends raw bytes (tests of malformed input) and reads one response line.
  Expected<Response, ClientError> call_raw(std::string_view bytes) noexcept;

 private:
  explicit ControlClient(FileDescriptor fd) : fd_(std::move(fd)) {}
  Expected<Response, ClientError> read_response() noexcept;

  FileDescriptor fd_;
  std::string buffer_;
};

}  // namespace ward::agent::control
