// The control socket server.
//
// Concurrency: one accept thread plus one thread per connection, at most max_connections at once
// (more are answered "busy" and closed). Chosen over a poll() loop because a handler call such as
// refresh may take seconds (a directory fetch) and must not stall other clients' I/O, while the
// number of helpdesk clients is tiny; blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO gives each
// connection its timeout without a timer wheel. Calls that change something (refresh, flush) are
// serialized by one mutex; read-only ones (show-*, explain: protocol.h is_read_only) are not, so
// a refresh that waits on the directory never holds up `wardctl show policy`.
//
// Access: the socket's directory is created 0750 and the socket is 0660 with group "ward" when
// that group exists (getgrnam), otherwise 0600 (root only) with a warning. Each connection's peer
// credentials (SO_PEERCRED) are checked again: root or a member of the group, or it is refused.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "agent/control/handler.h"
#include "common/expected.h"

namespace ward::agent::control {

inline constexpr std::string_view kControlGroup = "ward";
inline constexpr std::size_t kDefaultMaxConnections = 8;
inline constexpr std::chrono::milliseconds kDefaultIoTimeout{5000};

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Yes, or the reason for no.
using Authorizer = std::function<Expected<void, std::string>(const PeerCredentials&)>;
// Root, or a user whose primary or supplementary groups include `group` (when it exists).
Authorizer root_or_group_member(std::string group_name);

struct ControlServerOptions {
  std::filesystem::path socket_path;
  std::string group_name{kControlGroup};
  std::size_t max_connections = kDefaultMaxConnections;
  std::chrono::milliseconds io_timeout = kDefaultIoTimeout;  // idle and per read/write
  Authorizer authorize;                                      // empty: root_or_group_member(group_name)
  std::function<void(std::string_view)> warn;                // empty: stderr
};

// Named counters, shown by the daemon's status.
struct ControlCounters {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> refused_peers{0};
  std::atomic<std::uint64_t> refused_busy{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> bad_requests{0};
  std::atomic<std::uint64_t> oversized_requests{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> handler_failures{0};
};

// One request line (newline excluded) -> one response line (newline included): parse, call the
// handler (under `handler_mutex` unless the command is read-only), count, and turn a throwing handler into an "internal" error.
// Shared by the Unix control socket and the TLS monitor endpoint (agent/monitor).
std::string answer_request_line(ControlHandler& handler, std::mutex& handler_mutex, ControlCounters& counters,
                                const std::function<void(std::string_view)>& warn, std::string_view line);

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

class ControlServer {
 public:
  // Creates the socket and starts serving. The handler must outlive the server.
  static Expected<std::unique_ptr<ControlServer>, std::string> start(ControlServerOptions options,
                                                                      ControlHandler& handler) noexcept;
  ~ControlServer();  // stops: closes every connection, joins the threads, removes the socket
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const ControlCounters& counters() const noexcept { return counters_; }
  const std::filesystem::path& socket_path() const noexcept { return options_.socket_path; }

 private:
  struct Connection {
    FileDescriptor fd;
    PeerCredentials peer;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  ControlServer(ControlServerOptions options, ControlHandler& handler, FileDescriptor listener, FileDescriptor wake);
  void accept_loop();
  void serve(Connection& connection);
  void reap(bool all);
  void answer_and_close(int fd, const std::string& line);
  std::string handle_line(std::string_view line);

  ControlServerOptions options_;
  ControlHandler& handler_;
  FileDescriptor listener_;
  FileDescriptor wake_;  // eventfd: stop() wakes the accept loop
  std::atomic<bool> stopping_{false};
  std::mutex handler_mutex_;      // one refresh or flush at a time
  std::mutex connections_mutex_;  // guards connections_
  std::list<std::unique_ptr<Connection>> connections_;
  ControlCounters counters_;
  std::thread accept_thread_;
};

}  // namespace ward::agent::control
