// wardctl: the helpdesk's view of a host's policy agent, over the control socket.
// The program is a function so that tests run it in-process against a test server.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ward::agent::wardctl {

// Exit codes (also listed by --help).
enum ExitCode : int {
  kExitOk = 0,
  kExitCommandFailed = 1,     // wardd answered with an error
  kExitUsage = 2,             // bad command line
  kExitNoAgent = 3,           // the socket is missing or refuses connections: wardd is not running
  kExitPermissionDenied = 4,  // not root and not in group ward
  kExitProtocol = 5,          // I/O error, timeout, or an answer wardctl cannot read
};

inline constexpr const char* kDefaultSocket = "/run/ward/control.sock";

// `args` excludes the program name. `now_unix` is the current time (for --since 2h).
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::int64_t now_unix);

std::string usage_text();

}  // namespace ward::agent::wardctl
