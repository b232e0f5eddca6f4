#include "tests/netns/iperf3.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace ward::testing {

std::string iperf3_once(const Netns& server, const Netns& client, const std::string& address, std::uint16_t port,
                        const std::string& client_options) {
  using namespace std::chrono_literals;
  const std::string port_text = std::to_string(port);
  const std::string pid_file = "/tmp/ward-iperf3-" + std::to_string(getpid()) + "-" + port_text + ".pid";
  if (server.exec("iperf3 -s -1 -D -p " + port_text + " --pidfile " + pid_file) != 0) return "iperf3 -s did not start";
  // -D returns before the daemon listens: wait for the listener (5 s at most; the client then
  // reports "connection refused" itself).
  for (int i = 0; i < 100 && server.exec("ss -Hltn \"sport = :" + port_text + "\" | grep -q LISTEN") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  auto out = client.exec_output("iperf3 -c " + address + " -p " + port_text + " -J " + client_options);
  server.exec("test -s " + pid_file + " && kill $(cat " + pid_file + ") 2>/dev/null");
  std::remove(pid_file.c_str());
  return out;
}

}  // namespace ward::testing
