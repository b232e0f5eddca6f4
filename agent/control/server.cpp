#include "agent/control/server.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include "common/overloaded.h"

namespace ward::agent::control {

namespace {

constexpr std::size_t kRequestReadChunk = 4096;
constexpr int kListenBacklog = 16;
constexpr std::size_t kMaxGroups = 1024;

std::string errno_text(int error) { return std::strerror(error); }

std::optional<gid_t> group_id(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* result = nullptr;
  if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result) != 0 || !result) return std::nullopt;
  return result->gr_gid;
}

bool user_in_group(uid_t uid, gid_t primary, gid_t wanted) {
  if (primary == wanted) return true;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* result = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) != 0 || !result) return false;
  if (result->pw_gid == wanted) return true;
  std::vector<gid_t> groups(kMaxGroups);
  int count = static_cast<int>(groups.size());
  if (getgrouplist(result->pw_name, result->pw_gid, groups.data(), &count) < 0) return false;
  for (int i = 0; i < count; ++i) {
    if (groups[static_cast<std::size_t>(i)] == wanted) return true;
  }
  return false;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// An existing socket file: in use by a running daemon (refuse), or stale (remove).
Expected<void, std::string> clear_stale_socket(const std::filesystem::path& path, const sockaddr_un& address) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return {};
    return unexpected(path.string() + ": " + errno_text(errno));
  }
  if (!S_ISSOCK(info.st_mode)) return unexpected(path.string() + " exists and is not a socket; not removing it");
  FileDescriptor probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    return unexpected(path.string() + " is in use by a running agent");
  }
  if (::unlink(path.c_str()) != 0) return unexpected("cannot remove stale " + path.string() + ": " + errno_text(errno));
  return {};
}

}  // namespace

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

Authorizer root_or_group_member(std::string group_name) {
  return [group_name = std::move(group_name)](const PeerCredentials& peer) -> Expected<void, std::string> {
    if (peer.uid == 0) return {};
    const auto gid = group_id(group_name);
    if (gid && user_in_group(peer.uid, peer.gid, *gid)) return {};
    return unexpected("permission denied: uid " + std::to_string(peer.uid) + " is not root" +
                      (gid ? " and not in group " + group_name : std::string(" (group ") + group_name + " does not exist)"));
  };
}

HandlerResult dispatch(ControlHandler& handler, const Request& request) {
  return std::visit(Overloaded{
                        [&](const ShowPolicyRequest&) { return handler.show_policy(); },
                        [&](const ShowFiltersRequest& r) { return handler.show_filters(r.view); },
                        [&](const ExplainRequest& r) { return handler.explain(r.packet); },
                        [&](const ShowSaRequest&) { return handler.show_sa(); },
                        [&](const ShowEventsRequest& r) { return handler.show_events(r.since_unix); },
                        [&](const RefreshRequest&) { return handler.refresh(); },
                        [&](const FlushRequest&) { return handler.flush(); },
                    },
                    request);
}

Expected<std::unique_ptr<ControlServer>, std::string> ControlServer::start(ControlServerOptions options,
                                                                            ControlHandler& handler) noexcept {
  try {
    if (!options.warn) options.warn = [](std::string_view text) { std::cerr << "wardd: warning: " << text << "\n"; };
    if (!options.authorize) options.authorize = root_or_group_member(options.group_name);
    if (options.max_connections == 0) return unexpected(std::string("max_connections must be at least 1"));
    const auto& path = options.socket_path;

    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.native().size() >= sizeof address.sun_path) {
      return unexpected("control socket path '" + path.string() + "' is empty or longer than " +
                        std::to_string(sizeof address.sun_path - 1) + " bytes");
    }
    std::memcpy(address.sun_path, path.c_str(), path.native().size());

    const auto group = group_id(options.group_name);
    const auto directory = path.parent_path();
    if (!directory.empty()) {
      std::error_code ec;
      if (!std::filesystem::exists(directory, ec)) {
        if (!directory.parent_path().empty()) std::filesystem::create_directories(directory.parent_path(), ec);
        if (::mkdir(directory.c_str(), 0750) != 0 && errno != EEXIST) {
          return unexpected("cannot create " + directory.string() + ": " + errno_text(errno));
        }
        ::chmod(directory.c_str(), 0750);  // mkdir's mode went through the umask
        if (group && ::chown(directory.c_str(), static_cast<uid_t>(-1), *group) != 0) {
          return unexpected("cannot give " + directory.string() + " to group " + options.group_name + ": " + errno_text(errno));
        }
      }
    }
    if (auto cleared = clear_stale_socket(path, address); !cleared) return unexpected(cleared.error());

    FileDescriptor listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener) return unexpected("socket: " + errno_text(errno));
    if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      return unexpected("cannot bind " + path.string() + ": " + errno_text(errno));
    }
    // Permissions before listen(): nobody can connect until they are right.
    if (group) {
      if (::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0 || ::chmod(path.c_str(), 0660) != 0) {
        ::unlink(path.c_str());
        return unexpected("cannot set group " + options.group_name + " and mode 0660 on " + path.string() + ": " + errno_text(errno));
      }
    } else {
      if (::chmod(path.c_str(), 0600) != 0) {
        ::unlink(path.c_str());
        return unexpected("cannot set mode 0600 on " + path.string() + ": " + errno_text(errno));
      }
      options.warn("group " + options.group_name + " does not exist: control socket " + path.string() +
                   " is root-only (0600); create the group to let the helpdesk use wardctl");
    }
    if (::listen(listener.get(), kListenBacklog) != 0) {
      ::unlink(path.c_str());
      return unexpected("cannot listen on " + path.string() + ": " + errno_text(errno));
    }
    FileDescriptor wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) {
      ::unlink(path.c_str());
      return unexpected("eventfd: " + errno_text(errno));
    }
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(options), handler, std::move(listener), std::move(wake)));
  } catch (const std::exception& e) {
    return unexpected(std::string("control socket: ") + e.what());
  }
}

ControlServer::ControlServer(ControlServerOptions options, ControlHandler& handler, FileDescriptor listener,
                             FileDescriptor wake)
    : options_(std::move(options)), handler_(handler), listener_(std::move(listener)), wake_(std::move(wake)) {
  accept_thread_ = std::thread([this] { accept_loop(); });
}

ControlServer::~ControlServer() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard lock(connections_mutex_);
    for (auto& connection : connections_) ::shutdown(connection->fd.get(), SHUT_RDWR);  // wakes blocked reads
  }
  reap(/*all=*/true);
  ::unlink(options_.socket_path.c_str());
}

void ControlServer::reap(bool all) {
  std::list<std::unique_ptr<Connection>> done;
  {
    std::lock_guard lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (all || (*it)->finished) {
        done.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& connection : done) connection->thread.join();  // then the descriptor closes
}

void ControlServer::answer_and_close(int fd, const std::string& line) {
  set_timeouts(fd, options_.io_timeout);
  send_all(fd, line);
  ::close(fd);
}

void ControlServer::accept_loop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      options_.warn("control socket poll: " + errno_text(errno));
      return;
    }
    if (stopping_ || (fds[1].revents & POLLIN)) return;
    reap(/*all=*/false);
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EAGAIN after a client gave up, EMFILE: try again on the next event
    ++counters_.connections;

    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      ++counters_.refused_peers;
      answer_and_close(fd, encode_error(ErrorCode::PermissionDenied, "cannot read peer credentials"));
      continue;
    }
    const PeerCredentials peer{credentials.pid, credentials.uid, credentials.gid};
    if (auto allowed = options_.authorize(peer); !allowed) {
      ++counters_.refused_peers;
      options_.warn("control socket: refused pid " + std::to_string(peer.pid) + ": " + allowed.error());
      answer_and_close(fd, encode_error(ErrorCode::PermissionDenied, allowed.error()));
      continue;
    }
    std::lock_guard lock(connections_mutex_);
    if (connections_.size() >= options_.max_connections) {
      ++counters_.refused_busy;
      answer_and_close(fd, encode_error(ErrorCode::Busy, "too many control connections (" +
                                                             std::to_string(options_.max_connections) + "); try again"));
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = FileDescriptor(fd);
    connection->peer = peer;
    Connection& ref = *connection;
    connections_.push_back(std::move(connection));
    ref.thread = std::thread([this, &ref] { serve(ref); });
  }
}

std::string answer_request_line(ControlHandler& handler, std::mutex& handler_mutex, ControlCounters& counters,
                                const std::function<void(std::string_view)>& warn, std::string_view line) {
  ++counters.requests;
  auto request = parse_request(line);
  if (!request) {
    ++counters.bad_requests;
    return encode_error(ErrorCode::BadRequest, request.error());
  }
  try {
    HandlerResult result = [&] {
      if (is_read_only(command_of(*request))) return dispatch(handler, *request);
      std::lock_guard lock(handler_mutex);
      return dispatch(handler, *request);
    }();
    if (!result) {
      ++counters.handler_failures;
      return encode_error(ErrorCode::Failed, result.error());
    }
    return encode_ok(*result);
  } catch (const std::exception& e) {  // a handler bug must not take the daemon down
    ++counters.handler_failures;
    warn(std::string("control handler for ") + std::string(name_of(command_of(*request))) + " threw: " + e.what());
    return encode_error(ErrorCode::Internal, "internal error in " + std::string(name_of(command_of(*request))));
  }
}

std::string ControlServer::handle_line(std::string_view line) {
  return answer_request_line(handler_, handler_mutex_, counters_, options_.warn, line);
}

void ControlServer::serve(Connection& connection) {
  const int fd = connection.fd.get();
  set_timeouts(fd, options_.io_timeout);
  std::string buffer;
  char chunk[kRequestReadChunk];
  bool open = true;
  // A request must arrive whole within io_timeout of its first byte: a client trickling bytes
  // cannot hold a connection slot for longer than that.
  std::optional<std::chrono::steady_clock::time_point> request_started;
  while (open && !stopping_) {
    const ssize_t received = ::recv(fd, chunk, sizeof chunk, 0);
    if (received < 0 && errno == EINTR) continue;
    const bool too_slow = request_started && std::chrono::steady_clock::now() - *request_started > options_.io_timeout;
    if ((received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || too_slow) {
      ++counters_.timeouts;
      send_all(fd, encode_error(ErrorCode::BadRequest, "timed out waiting for a request"));
      break;
    }
    if (received <= 0) break;  // closed by the peer, or shut down by stop()
    if (buffer.empty()) request_started = std::chrono::steady_clock::now();
    buffer.append(chunk, static_cast<std::size_t>(received));
    std::size_t newline;
    while (open && (newline = buffer.find('\n')) != std::string::npos) {
      std::string_view line(buffer.data(), newline);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) open = send_all(fd, handle_line(line));
      buffer.erase(0, newline + 1);
      if (buffer.empty()) request_started.reset();
      else request_started = std::chrono::steady_clock::now();
    }
    if (open && buffer.size() > kMaxRequestBytes) {
      ++counters_.oversized_requests;
      send_all(fd, encode_error(ErrorCode::TooLarge, "request exceeds " + std::to_string(kMaxRequestBytes) +
                                                         " bytes without a newline; closing"));
      break;
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  connection.finished = true;
}

}  // namespace ward::agent::control
