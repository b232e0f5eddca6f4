// privsep_probe: a child for privsep_test, started by a Supervisor like wardd's own parts. It
// enters the sandbox as the user named on its command line, says so on its channel (descriptor 3),
// then answers requests: its pid, what the sandbox lets it do (each attempt's errno), what a
// descriptor passed to it holds, and, on request, a crash.
//
//   privsep_probe --user USER [--internet]
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/privsep/channel.h"
#include "agent/privsep/probe_protocol.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"

namespace {

using namespace ward::agent::privsep;

std::string outcome(int rc) { return rc >= 0 ? "allowed" : std::string(strerrorname_np(errno)); }

std::string attempt(const std::string& what) {
  if (what == "execve") {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    return outcome(execve("/bin/true", argv, environ));
  }
  if (what == "socket-netlink") return outcome(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (what == "socket-packet") return outcome(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (what == "socket-inet") return outcome(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (what == "socket-unix") return outcome(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (what == "setuid-0") return outcome(setuid(0));
  if (what == "unshare-user") return outcome(unshare(CLONE_NEWUSER));
  if (what == "ptrace-parent") return outcome(static_cast<int>(ptrace(PTRACE_ATTACH, getppid(), nullptr, nullptr)));
  if (what.rfind("open:", 0) == 0) return outcome(open(what.substr(5).c_str(), O_RDONLY | O_CLOEXEC));
  return "unknown attempt " + what;
}

void reply(const Channel& channel, std::uint32_t type, const std::string& text) {
  if (!channel.send(type, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})) std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::string user;
  SandboxOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--user" && i + 1 < args.size()) user = args[++i];
    if (args[i] == "--internet") options.sockets = NetworkSockets::Internet;
  }
  const Channel channel{OwnedFd(kChildChannelFd)};
  auto identity = identity_of(user);
  if (!identity) {
    reply(channel, probe::kReady, "error: " + identity.error());
    return 1;
  }
  options.identity = *identity;
  if (auto entered = enter_sandbox(options); !entered) {
    reply(channel, probe::kReady, "error: " + entered.error());
    return 1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);   // cleared by the uid change: set again now
  reply(channel, probe::kReady, "ok");
  for (;;) {
    auto message = channel.receive(std::chrono::milliseconds(-1));
    if (!message) return message.error().kind == ChannelError::Kind::Closed ? 0 : 2;
    const std::string body(message->body.begin(), message->body.end());
    switch (message->type) {
      case probe::kPing:
        reply(channel, probe::kPong, std::to_string(getpid()));
        break;
      case probe::kAttempt:
        reply(channel, probe::kResult, attempt(body));
        break;
      case probe::kReadFd: {
        char buffer[256] = {};
        const ssize_t n = message->fd ? pread(message->fd.get(), buffer, sizeof buffer, 0) : -1;
        reply(channel, probe::kResult, n >= 0 ? std::string(buffer, static_cast<std::size_t>(n)) : outcome(-1));
        break;
      }
      case probe::kCrash:
        std::abort();
      default:
        reply(channel, probe::kResult, "unknown message type " + std::to_string(message->type));
    }
  }
}
