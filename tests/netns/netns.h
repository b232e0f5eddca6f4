// Network namespaces for tests: throwaway hosts joined by veth pairs, made and removed by the test
// itself. Names carry the test process's pid so parallel tests never collide.
#pragma once

#include <functional>
#include <string>
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
  ~Netns();
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

// A veth pair between two namespaces with the given addresses ("10.20.1.1/24"), links up.
void connect_veth(const Netns& a, const std::string& a_address, const Netns& b, const std::string& b_address);

}  // namespace ward::testing
