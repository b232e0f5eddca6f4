// The read-only monitor endpoint: the control protocol (agent/control/protocol.h, newline-delimited
// JSON) over TLS with client certificates, for helpdesk viewing from another machine. Off unless
// ward.conf's [monitor] enables it.
//
// Every connection must present a certificate that chains to the configured CA (TLS 1.2 or newer);
// a handshake that fails is counted and logged with the peer's address and OpenSSL's reason. Only
// the looking commands are answered (ReadOnlyHandler): refresh and flush are refused. Threads and
// limits as the Unix control server: one accept thread, one thread per connection, at most
// max_connections at once, a per-read/write timeout, requests capped at kMaxRequestBytes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "agent/control/handler.h"
#include "agent/control/server.h"
#include "agent/monitor/read_only_handler.h"
#include "agent/monitor/tls.h"
#include "common/expected.h"

namespace ward::agent::monitor {

struct MonitorOptions {
  std::string listen;  // host:port or [v6]:port; port 0 picks a free one (tests)
  TlsFiles tls;
  std::size_t max_connections = control::kDefaultMaxConnections;
  std::chrono::milliseconds io_timeout = control::kDefaultIoTimeout;
  std::function<void(std::string_view)> log;  // connection lines (peer, certificate subject); empty: stderr
};

struct MonitorCounters {
  std::atomic<std::uint64_t> refused_handshakes{0};
  std::atomic<std::uint64_t> refused_busy{0};
};

class MonitorServer {
 public:
  // `handler` is wrapped in a ReadOnlyHandler; it must outlive the server and tolerate calls
  // concurrent with the control socket's (wardd's handler only reads snapshots).
  static Expected<std::unique_ptr<MonitorServer>, std::string> start(MonitorOptions options,
                                                                      control::ControlHandler& handler) noexcept;
  ~MonitorServer();  // stops: closes every connection and joins the threads
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }  // the bound port
  const control::ControlCounters& counters() const noexcept { return counters_; }
  const MonitorCounters& monitor_counters() const noexcept { return monitor_counters_; }

 private:
  struct Connection {
    control::FileDescriptor fd;
    std::string peer;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  MonitorServer(MonitorOptions options, control::ControlHandler& handler, SslContextPtr context,
                control::FileDescriptor listener, control::FileDescriptor wake, std::uint16_t port);
  void accept_loop();
  void serve(Connection& connection);
  void reap(bool all);

  MonitorOptions options_;
  ReadOnlyHandler handler_;
  SslContextPtr context_;
  control::FileDescriptor listener_;
  control::FileDescriptor wake_;
  std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::mutex handler_mutex_;
  std::mutex connections_mutex_;
  std::list<Connection> connections_;
  control::ControlCounters counters_;
  MonitorCounters monitor_counters_;
  std::thread accept_thread_;
};

}  // namespace ward::agent::monitor
