#include "agent/control/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ward::agent::control {

namespace {

// Responses can be large (a whole policy, a long event list), but not unbounded.
constexpr std::size_t kMaxResponseBytes = 16 * 1024 * 1024;
constexpr std::size_t kReadChunk = 16384;

}  // namespace

Expected<ControlClient, ClientError> ControlClient::connect(const std::filesystem::path& socket_path,
                                                            std::chrono::milliseconds timeout) noexcept {
  try {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.native().size() >= sizeof address.sun_path) {
      return unexpected(ClientError{ClientError::Kind::Connect, "socket path " + socket_path.string() + " is too long"});
    }
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.native().size());
    FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return unexpected(ClientError{ClientError::Kind::Connect, std::string("socket: ") + std::strerror(errno)});
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      const int error = errno;
      if (error == ENOENT) {
        return unexpected(ClientError{ClientError::Kind::NoSocket,
                                      socket_path.string() + " does not exist: is wardd running?"});
      }
      if (error == EACCES || error == EPERM) {
        return unexpected(ClientError{ClientError::Kind::PermissionDenied,
                                      "permission denied on " + socket_path.string() +
                                          ": run as root or as a member of group " + std::string(kControlGroup)});
      }
      if (error == ECONNREFUSED) {
        return unexpected(ClientError{ClientError::Kind::Connect,
                                      socket_path.string() + " refused the connection: wardd is not running (stale socket)"});
      }
      return unexpected(ClientError{ClientError::Kind::Connect,
                                    "cannot connect to " + socket_path.string() + ": " + std::strerror(error)});
    }
    return ControlClient(std::move(fd));
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Connect, e.what()});
  }
}

Expected<Response, ClientError> ControlClient::call(const Request& request) noexcept {
  try {
    return call_raw(encode_request(request));
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Io, e.what()});
  }
}

Expected<Response, ClientError> ControlClient::call_raw(std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      // The server may already have answered (e.g. refused the peer) and closed: read that answer.
      if (errno == EPIPE || errno == ECONNRESET) break;
      return unexpected(ClientError{ClientError::Kind::Io, std::string("sending the request: ") + std::strerror(errno)});
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return read_response();
}

Expected<Response, ClientError> ControlClient::read_response() noexcept {
  try {
    char chunk[kReadChunk];
    std::size_t newline;
    while ((newline = buffer_.find('\n')) == std::string::npos) {
      if (buffer_.size() > kMaxResponseBytes) {
        return unexpected(ClientError{ClientError::Kind::Protocol, "response exceeds " + std::to_string(kMaxResponseBytes) + " bytes"});
      }
      const ssize_t received = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (received < 0 && errno == EINTR) continue;
      if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return unexpected(ClientError{ClientError::Kind::Io, "timed out waiting for wardd's answer"});
      }
      if (received < 0) return unexpected(ClientError{ClientError::Kind::Io, std::string("receiving: ") + std::strerror(errno)});
      if (received == 0) return unexpected(ClientError{ClientError::Kind::Io, "wardd closed the connection without an answer"});
      buffer_.append(chunk, static_cast<std::size_t>(received));
    }
    const std::string line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    auto response = parse_response(line);
    if (!response) return unexpected(ClientError{ClientError::Kind::Protocol, response.error()});
    return std::move(response).value();
  } catch (const std::exception& e) {
    return unexpected(ClientError{ClientError::Kind::Io, e.what()});
  }
}

}  // namespace ward::agent::control
