// wardd — the Ward policy agent. Reads ward.conf, gets the policy from its source (falling back
// to the cached last good policy), compiles it for this host's addresses, installs it into the
// dataplane, and serves the control socket. See policy_updater.h for what happens when a policy
// is broken or missing.
//
//   wardd [--config /etc/ward/ward.conf]
//
// Signals: SIGHUP refreshes the policy now; SIGTERM and SIGINT stop wardd cleanly (the dataplane's
// kernel rules are removed) with exit status 0. Exit 1: could not start; exit 2: bad usage or
// configuration.
#include <signal.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/config/config.h"
#include "agent/control/server.h"
#include "agent/daemon/acquire_listener.h"
#include "agent/daemon/applier.h"
#include "agent/daemon/control_handler.h"
#include "agent/daemon/dataplane_factory.h"
#include "agent/daemon/host_addresses.h"
#include "agent/daemon/log.h"
#include "agent/daemon/monitor_endpoint.h"
#include "agent/daemon/policy_updater.h"
#include "agent/daemon/schedule.h"
#include "agent/daemon/shared_cache.h"
#include "agent/daemon/source_factory.h"

namespace {

using namespace ward::agent;
using namespace ward::agent::daemon;

constexpr int kExitOk = 0;
constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::chrono::seconds kAddressPollInterval{5};

constexpr const char* kUsage =
    "usage: wardd [--config PATH]\n"
    "  --config PATH  the configuration file (default /etc/ward/ward.conf)\n"
    "Signals: SIGHUP refreshes the policy; SIGTERM or SIGINT stops wardd.\n";

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Waits up to `timeout` for one of the handled signals; 0 when none came.
int wait_for_signal(const sigset_t& set, std::chrono::milliseconds timeout) {
  const auto ms = std::max<std::int64_t>(timeout.count(), 0);
  timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  const int signal = sigtimedwait(&set, nullptr, &wait);
  return signal > 0 ? signal : 0;
}

int run(const std::filesystem::path& config_path) {
  Logger log(std::cerr);
  auto config = config::load_config(config_path);
  if (!config) {
    log.error("bad-config", {{"why", config.error().to_string()}});
    return kExitUsage;
  }
  log.set_threshold(config->log_level);
  log.info("starting", {{"config", config_path.string()}, {"driver", std::string(config::name_of(config->driver))}});

  // Before any thread starts, so that every thread inherits the mask and only sigtimedwait sees them.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write to a pipe or socket whose reader went away (a wardctl that quit, an iptables-restore
  // that failed) must be an error return, never the end of wardd.
  ::signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  auto opened = cache::Cache::open(config->cache_path, clock);
  if (!opened) {
    log.error("cache-open-failed", {{"path", config->cache_path.string()}, {"why", opened.error().message}});
    return kExitStartFailed;
  }
  SharedCache cache(std::move(*opened));
  if (auto pruned = cache.with([&](cache::Cache& c) { return c.prune_events(config->event_retention); }); !pruned) {
    log.warning("event-prune-failed", {{"why", pruned.error().message}});
  }

  const auto source = make_policy_source(*config, log);
  AcquireRecorder acquires(cache, log, clock);
  auto dataplane = make_dataplane(config->driver, acquires);
  if (!dataplane) {
    log.error("dataplane-start-failed", {{"why", dataplane.error()}});
    return kExitStartFailed;
  }

  auto addresses = host_addresses();
  if (!addresses) {
    log.error("address-enumeration-failed", {{"why", addresses.error()}});
    addresses = std::vector<ward::IpAddress>{};
  }
  AgentState state;
  Applier applier(**dataplane);
  PolicyUpdater updater(source.get(), cache, applier, state, log, clock, *addresses);
  updater.refresh("start-up");
  // Directory hosts: refresh as soon as the directory reports a change (polling stays as a fallback).
  auto watcher = make_change_watcher(*config, log, [&](std::string_view why) { updater.refresh(why); });

  DaemonHandler handler(state, cache, **dataplane, [&]() -> ward::Expected<std::string, std::string> {
    auto outcome = updater.refresh("control-socket");
    if (outcome.failed) return ward::unexpected(std::move(outcome.message));
    return std::move(outcome.message);
  });
  control::ControlServerOptions options;
  options.socket_path = config->control_socket;
  options.warn = [&](std::string_view message) { log.warning("control-socket", {{"message", std::string(message)}}); };
  auto server = control::ControlServer::start(std::move(options), handler);
  if (!server) {
    log.error("control-socket-failed", {{"path", config->control_socket.string()}, {"why", server.error()}});
    return kExitStartFailed;
  }
  auto monitor_server = start_monitor(config->monitor, handler, log);
  if (!monitor_server) {
    log.error("monitor-failed", {{"why", monitor_server.error()}});
    return kExitStartFailed;
  }
  log.info("ready", {{"socket", config->control_socket.string()}});

  std::mt19937_64 random(std::random_device{}());
  auto refresh_at = next_refresh(clock.now(), state.current()->policy.polling_interval_minutes, random);
  auto addresses_at = clock.now() + kAddressPollInterval;
  for (;;) {
    const auto now = clock.now();
    const auto wake = std::min(refresh_at, addresses_at);
    const int signal = wait_for_signal(signals, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now));
    if (signal == SIGTERM || signal == SIGINT) {
      log.info("stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    if (signal == SIGHUP || clock.now() >= refresh_at) {
      updater.refresh(signal == SIGHUP ? "SIGHUP" : "timer");
      refresh_at = next_refresh(clock.now(), state.current()->policy.polling_interval_minutes, random);
    }
    if (clock.now() >= addresses_at) {
      auto current = host_addresses();
      if (current && *current != state.current()->addresses) updater.readdress(std::move(*current));
      addresses_at = clock.now() + kAddressPollInterval;
    }
  }
  watcher.reset();      // no more change-triggered refreshes
  monitor_server->reset();
  server->reset();      // no more control requests
  dataplane->reset();   // removes the kernel rules
  log.info("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path config_path{std::string(ward::agent::config::kDefaultConfigPath)};
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
      continue;
    }
    std::cerr << "wardd: unexpected argument '" << args[i] << "'\n" << kUsage;
    return kExitUsage;
  }
  return run(config_path);
}
