#include "agent/privsep/child_main.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "agent/privsep/supervisor.h"

namespace ward::agent::privsep {
namespace {

void say(const Channel& channel, std::uint32_t type, const std::string& text) {
  Body body(sizeof(std::uint64_t), 0);   // call id 0: a notification
  body.insert(body.end(), text.begin(), text.end());
  (void)channel.send(type, body);
}

}  // namespace

int run_child(const std::string& user, NetworkSockets sockets, std::uint32_t ready_type,
              const std::function<Endpoint::Handler()>& make_handler,
              const std::function<Expected<void, std::string>()>& before_sandbox,
              const std::function<void(Endpoint&)>& attach) {
  auto channel = std::make_shared<Channel>(OwnedFd(kChildChannelFd));
  auto identity = identity_of(user);
  if (!identity) {
    say(*channel, ready_type, "error: " + identity.error());
    return 1;
  }
  if (before_sandbox) {
    if (auto prepared = before_sandbox(); !prepared) {
      say(*channel, ready_type, "error: " + prepared.error());
      return 1;
    }
  }
  if (auto entered = enter_sandbox({*identity, sockets}); !entered) {
    say(*channel, ready_type, "error: sandbox: " + entered.error());
    return 1;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;   // the parent died before that
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Endpoint parent(channel, make_handler(), [](const std::string&) { kill(getpid(), SIGTERM); });   // ends the sigwait below
  if (attach) attach(parent);
  say(*channel, ready_type, "ok");
  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace ward::agent::privsep
