// Network namespaces for tests: throwaway hosts joined by veth pairs, made and removed by the test
// itself. Names carry the test process's pid so parallel tests never collide.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace ward::testing {

// Runs a shell command; returns its exit status (127 when it could not run).
int run_command(const std::string& command);
// Runs a shell command and returns what it printed on standard output.
std::string command_output(const std::string& command);

// True when this process may create namespaces (root with the `ip` tool); otherwise tests skip.
bool can_use_network_namespaces(std::string* why_not);

class Netns {
 public:
  explicit Netns(const std::string& role);  // name: ward-<pid>-<role>-<counter>
  ~Netns();  // ends the processes still running inside (all started by the test), then deletes it
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const noexcept { return name_; }
  // `ip netns exec <name> sh -c '<command>'`; returns the exit status.
  int exec(const std::string& command) const;
  std::string exec_output(const std::string& command) const;
  // Runs `body` on a new thread that has entered this namespace (sockets it opens live here).
  void run_inside(const std::function<void()>& body) const;

 private:
  std::string name_;
};

// TCP listeners inside a namespace, closed when this object goes (the handshake completes in the
// kernel's backlog; nothing accepts).
class TcpListeners {
 public:
  TcpListeners(const Netns& ns, const std::string& address, std::initializer_list<std::uint16_t> ports);
  ~TcpListeners();
  TcpListeners(const TcpListeners&) = delete;
  TcpListeners& operator=(const TcpListeners&) = delete;

 private:
  std::vector<int> fds_;
};

// Connects from inside `ns` with a one-second timeout; true when the handshake completed.
bool tcp_connects(const Netns& ns, const std::string& address, std::uint16_t port);

// Pings once (one second to answer): 0 answered, 1 no answer; anything else means a broken test.
int ping_once(const Netns& from, const std::string& address);

// A veth pair between two namespaces with the given addresses ("10.20.1.1/24"), links up.
// Returns the two link names (a's end, b's end).
std::pair<std::string, std::string> connect_veth(const Netns& a, const std::string& a_address, const Netns& b,
                                                 const std::string& b_address);

}  // namespace ward::testing
