#include "agent/monitor/monitor_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include "agent/control/protocol.h"
#include "agent/monitor/endpoint.h"

namespace ward::agent::monitor {

namespace {

constexpr int kListenBacklog = 16;
constexpr std::size_t kRequestReadChunk = 4096;

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string address_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
    port = ntohs(v4.sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  ::inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
  port = ntohs(v6.sin6_port);
  // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "[" + std::string(...).
  std::string text = "[";
  text += host;
  text += "]:";
  text += std::to_string(port);
  return text;
}

Expected<std::pair<control::FileDescriptor, std::uint16_t>, std::string> listen_on(const Endpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unexpected("monitor listen address " + endpoint.to_string() + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> owned(found);
  control::FileDescriptor fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
  if (!fd) return unexpected(std::string("monitor socket: ") + std::strerror(errno));
  const int yes = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
    return unexpected("monitor cannot listen on " + endpoint.to_string() + ": " + std::strerror(errno));
  }
  if (::listen(fd.get(), kListenBacklog) != 0) return unexpected(std::string("monitor listen: ") + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  const std::uint16_t bound_port = bound.ss_family == AF_INET
                                       ? ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port)
                                       : ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port);
  return std::pair{std::move(fd), bound_port};
}

bool write_all(SSL* ssl, const std::string& text) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    const int n = SSL_write(ssl, text.data() + sent, static_cast<int>(text.size() - sent));
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Expected<std::unique_ptr<MonitorServer>, std::string> MonitorServer::start(MonitorOptions options,
                                                                          control::ControlHandler& handler) noexcept {
  try {
    // OpenSSL writes through plain send(): a peer that has gone would raise SIGPIPE and end the
    // whole process. wardd ignores it anyway; a client program must too.
    ::signal(SIGPIPE, SIG_IGN);
    if (!options.log) options.log = [](std::string_view line) { std::cerr << "wardd monitor: " << line << '\n'; };
    auto endpoint = parse_endpoint(options.listen);
    if (!endpoint) return unexpected("[monitor] listen: " + endpoint.error());
    auto context = make_server_context(options.tls);
    if (!context) return unexpected("[monitor] " + context.error());
    auto listener = listen_on(*endpoint);
    if (!listener) return unexpected(listener.error());
    control::FileDescriptor wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) return unexpected(std::string("monitor eventfd: ") + std::strerror(errno));
    std::unique_ptr<MonitorServer> server(new MonitorServer(std::move(options), handler, std::move(*context),
                                                            std::move(listener->first), std::move(wake),
                                                            listener->second));
    server->accept_thread_ = std::thread([raw = server.get()] { raw->accept_loop(); });
    return server;
  } catch (const std::exception& e) {
    return unexpected(std::string("monitor start: ") + e.what());
  }
}

MonitorServer::MonitorServer(MonitorOptions options, control::ControlHandler& handler, SslContextPtr context,
                             control::FileDescriptor listener, control::FileDescriptor wake, std::uint16_t port)
    : options_(std::move(options)),
      handler_(handler),
      context_(std::move(context)),
      listener_(std::move(listener)),
      wake_(std::move(wake)),
      port_(port) {}

MonitorServer::~MonitorServer() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard lock(connections_mutex_);
    for (auto& connection : connections_) ::shutdown(connection.fd.get(), SHUT_RDWR);
  }
  reap(true);
}

void MonitorServer::reap(bool all) {
  std::list<Connection> done;
  {
    std::lock_guard lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (all || it->finished) done.splice(done.end(), connections_, it);
      it = next;
    }
  }
  for (auto& connection : done) {
    if (connection.thread.joinable()) connection.thread.join();
  }
}

void MonitorServer::accept_loop() {
  while (!stopping_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      options_.log(std::string("poll failed: ") + std::strerror(errno));
      return;
    }
    if (stopping_ || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    control::FileDescriptor fd(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC));
    if (!fd) continue;
    reap(false);
    std::lock_guard lock(connections_mutex_);
    if (connections_.size() >= options_.max_connections) {
      ++monitor_counters_.refused_busy;
      options_.log("refused " + address_text(peer) + ": " + std::to_string(options_.max_connections) +
                   " connections already open");
      continue;  // closing before the handshake: the client sees the connection reset
    }
    ++counters_.connections;
    auto& connection = connections_.emplace_back();
    connection.fd = std::move(fd);
    connection.peer = address_text(peer);
    connection.thread = std::thread([this, &connection] { serve(connection); });
  }
}

void MonitorServer::serve(Connection& connection) {
  const int fd = connection.fd.get();
  set_timeouts(fd, options_.io_timeout);
  SslPtr ssl(SSL_new(context_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) {
    ++monitor_counters_.refused_handshakes;
    options_.log("refused " + connection.peer + ": TLS handshake failed: " + drain_openssl_errors());
    connection.finished = true;
    return;
  }
  const std::string subject = peer_subject(ssl.get());
  options_.log("connection from " + connection.peer + " certificate " + subject);
  std::string buffer;
  char chunk[kRequestReadChunk];
  std::uint64_t requests = 0;
  bool open = true;
  while (open && !stopping_) {
    const int received = SSL_read(ssl.get(), chunk, sizeof chunk);
    if (received <= 0) break;  // closed, timed out or broken: all end the connection
    buffer.append(chunk, static_cast<std::size_t>(received));
    std::size_t newline;
    while (open && (newline = buffer.find('\n')) != std::string::npos) {
      const std::string_view line(buffer.data(), newline);
      if (!line.empty()) {
        ++requests;
        open = write_all(ssl.get(), control::answer_request_line(handler_, handler_mutex_, counters_, options_.log, line));
      }
      buffer.erase(0, newline + 1);
    }
    if (open && buffer.size() > control::kMaxRequestBytes) {
      ++counters_.oversized_requests;
      write_all(ssl.get(), control::encode_error(control::ErrorCode::TooLarge,
                                                 "request exceeds " + std::to_string(control::kMaxRequestBytes) +
                                                     " bytes without a newline; closing"));
      break;
    }
  }
  SSL_shutdown(ssl.get());
  options_.log("closed " + connection.peer + " after " + std::to_string(requests) + " requests");
  connection.finished = true;
}

}  // namespace ward::agent::monitor
