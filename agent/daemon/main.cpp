// wardd — the Ward policy agent. Reads ward.conf, enforces the cached last good policy (or the
// boot policy) before any network call, serves the control socket at once, then gets the policy
// from its source on a thread of its own (refresh_loop.h), compiles it for this host's addresses
// and installs it into the dataplane. See policy_updater.h for what happens when a policy is
// broken or missing, cache_recovery.h for a broken cache file.
//
//   wardd [--config /etc/ward/ward.conf]
//
// IKE: wardd runs an IkeService (UDP 500) on each non-loopback host address, whatever the
// dataplane, following the address poll (addresses that appear get one, those that go away lose
// theirs); acquires go to it, its results to the event log, and every policy apply
// replaces the bridge's snapshot and deletes the SAs of filters that went away. With
// [privsep] user the services run in `wardd --privsep-child ike --user USER` (ike_process.h), and
// the directory fetch in `wardd --privsep-child fetch --user USER` (fetch_process.h).
//
// Signals: SIGHUP refreshes the policy now and reloads [certificates] if its files changed (they
// are also checked once a minute); SIGTERM and SIGINT stop wardd cleanly (the dataplane's
// kernel rules are removed) with exit status 0. Exit 1: could not start; exit 2: bad usage or
// configuration.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/config/config.h"
#include "agent/control/server.h"
#include "agent/daemon/acquire_listener.h"
#include "agent/daemon/applier.h"
#include "agent/daemon/boot_policy.h"
#include "agent/daemon/cache_recovery.h"
#include "agent/daemon/certificate_reload.h"
#include "agent/daemon/key_child.h"
#include "agent/daemon/key_process.h"
#include "agent/daemon/control_handler.h"
#include "agent/daemon/dataplane_factory.h"
#include "agent/daemon/fetch_child.h"
#include "agent/daemon/host_addresses.h"
#include "agent/daemon/ike_process.h"
#include "agent/daemon/kerberos_auth.h"
#include "agent/daemon/log.h"
#include "agent/daemon/monitor_endpoint.h"
#include "agent/daemon/policy_updater.h"
#include "agent/daemon/refresh_loop.h"
#include "agent/daemon/schedule.h"
#include "agent/daemon/shared_cache.h"
#include "agent/daemon/source_factory.h"
#include "agent/ikebridge/ike_bridge.h"
#include "agent/ikeproc/ike_child.h"
#include "ike/auth/certificate_provider.h"
#include "ike/service/ike_service.h"

namespace {

using namespace ward::agent;
using namespace ward::agent::daemon;

constexpr int kExitOk = 0;
constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::chrono::seconds kAddressPollInterval{5};
// Repeated events counted since the last flush are written this often (event_aggregator.h).
constexpr std::chrono::seconds kEventFlushInterval{1};
// [certificates] files checked for changes (a new CRL, a renewed certificate); SIGHUP checks at once.
constexpr std::chrono::seconds kCertificatePollInterval{60};
// At SIGTERM a refresh still waiting on the directory gets this long; then wardd exits without it
// (the dataplane's rules are removed first either way).
constexpr std::chrono::seconds kRefreshStopGrace{2};

constexpr const char* kUsage =
    "usage: wardd [--config PATH]\n"
    "  --config PATH  the configuration file (default /etc/ward/ward.conf)\n"
    "Signals: SIGHUP refreshes the policy and reloads changed [certificates] files; SIGTERM or SIGINT stops wardd.\n";

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

// IKE inside wardd (no [privsep] user).
class IkeInProcess final : public IkeRunner {
 public:
  IkeInProcess(Logger& log, AcquireRecorder& recorder, ikebridge::AuthFactory auth, config::IkeSettings settings)
      : log_(log), recorder_(recorder), bridge_(std::move(auth)), settings_(settings) {}
  ~IkeInProcess() override { stop(); }

  void start(const std::vector<ward::IpAddress>& addresses, ward::driver::Dataplane& dataplane) override {
    dataplane_ = &dataplane;
    recorder_.attach_ike(IkeHooks{[this](const ward::driver::Acquire& a) {
                                    const std::lock_guard lock(mutex_);
                                    if (auto* s = route(a)) s->initiate(a);
                                  },
                                  [this](const ward::driver::SaExpiry& e) {
                                    const std::lock_guard lock(mutex_);
                                    for (auto& s : services_) s->on_expiry(e);
                                  }});
    readdress(addresses);
  }

  void readdress(const std::vector<ward::IpAddress>& addresses) override {
    if (dataplane_ == nullptr) return;
    const auto wanted = ike_addresses(addresses, log_);
    std::vector<std::unique_ptr<ward::ike::service::IkeService>> gone;
    {
      const std::lock_guard lock(mutex_);
      for (auto it = services_.begin(); it != services_.end();) {
        if (std::find(wanted.begin(), wanted.end(), (*it)->options().local) != wanted.end()) {
          ++it;
          continue;
        }
        log_.info("ike-stopped", {{"address", (*it)->options().local.to_string()}, {"why", "the address is gone from the host"}});
        gone.push_back(std::move(*it));
        it = services_.erase(it);
      }
    }
    gone.clear();   // outside the lock: stopping deletes SAs, and the dataplane may call back
    for (const auto& address : wanted) {
      {
        const std::lock_guard lock(mutex_);
        if (std::any_of(services_.begin(), services_.end(), [&](const auto& s) { return s->options().local == address; })) continue;
      }
      auto started = ward::ike::service::IkeService::start(service_options(address), *dataplane_, bridge_, recorder_);
      if (!started) {
        log_.warning("ike-start-failed", {{"address", address.to_string()}, {"why", started.error()}});
        continue;
      }
      log_.info("ike-started", {{"address", address.to_string()}, {"port", std::to_string(ward::ike::net::kIsakmpPort)}});
      const std::lock_guard lock(mutex_);
      services_.push_back(std::move(*started));
    }
  }

  void replace_certificates(ikebridge::CertificateCredentialsPtr certificates) override {
    bridge_.replace_certificates(std::move(certificates));
  }

  void sync(const AgentState& state) override {
    const std::lock_guard lock(mutex_);
    auto live = bridge_sync_.update(state, bridge_);
    if (!live || !*live) return;
    for (auto& s : services_) s->retain_filters(**live);
  }

  std::vector<ward::ike::service::IkeSnapshot> snapshots() const override {
    const std::lock_guard lock(mutex_);
    std::vector<ward::ike::service::IkeSnapshot> out;
    for (const auto& s : services_) out.push_back(s->snapshot());
    return out;
  }
  bool running() const override { return dataplane_ != nullptr; }

  void stop() override {
    recorder_.attach_ike({});
    std::vector<std::unique_ptr<ward::ike::service::IkeService>> services;
    {
      const std::lock_guard lock(mutex_);
      services.swap(services_);
    }
    services.clear();
  }

 private:
  ward::ike::service::IkeServiceOptions service_options(const ward::IpAddress& address) const {
    ward::ike::service::IkeServiceOptions options;
    options.local = address;
    options.retransmit = kIkeRetransmit;
    // RFC 3947/3948: detect NATs, float to UDP 4500 and UDP-encapsulate ESP when one is found
    // (peers such as strongSwan's kernel-libipsec insist on it even without a NAT).
    options.nat_traversal = true;
    options.pretend_nat = settings_.force_udp_encapsulation;   // [ike] udp_encapsulation = force
    options.ikev2_fragmentation = settings_.fragmentation;     // [ike] fragmentation, fragment_size
    options.ikev2_fragment_size = settings_.fragment_size.value_or(0);
    options.log = [this](const std::string& line) { log_.debug("ike", {{"detail", line}}); };
    options.ike_version = ike_version_policy(settings_.version);
    if (settings_.fallback_delay) options.fallback_delay = *settings_.fallback_delay;
    if (settings_.soft_association_lifetime) options.soft_association_lifetime = *settings_.soft_association_lifetime;
    if (settings_.dpd_idle) options.dpd.idle = *settings_.dpd_idle;
    if (settings_.dpd_retry) options.dpd.retry = *settings_.dpd_retry;
    if (settings_.dpd_probes) options.dpd.max_probes = *settings_.dpd_probes;
    return options;
  }

  // The service of the acquire's source address, else one of its family (mutex_ held).
  ward::ike::service::IkeService* route(const ward::driver::Acquire& acquire) {
    for (auto& s : services_) {
      if (s->options().local == acquire.source) return s.get();
    }
    for (auto& s : services_) {
      if (s->options().local.family() == acquire.source.family()) return s.get();
    }
    return services_.empty() ? nullptr : services_.front().get();
  }

  Logger& log_;
  AcquireRecorder& recorder_;
  ikebridge::PolicyBridge bridge_;
  BridgeSync bridge_sync_;
  config::IkeSettings settings_;
  ward::driver::Dataplane* dataplane_ = nullptr;
  std::vector<std::unique_ptr<ward::ike::service::IkeService>> services_;
  mutable std::mutex mutex_;
};

// wardd's own path, for the IKE process (the same binary in another role).
std::string own_program() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}


int run(const std::filesystem::path& config_path) {
  Logger log(std::cerr);
  log.use_journal_if_connected();  // under systemd: structured journal entries (log.h)
  auto config = config::load_config(config_path);
  if (!config) {
    log.error("bad-config", {{"why", config.error().to_string()}});
    return kExitUsage;
  }
  log.set_threshold(config->log_level);
  log.info("starting", {{"config", config_path.string()}, {"driver", std::string(config::name_of(config->driver))},
                        {"legacy_algorithms", std::string(config::name_of(config->legacy_algorithms))}});
  // Before any thread starts, so that every thread inherits the mask and only sigtimedwait sees them.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write to a pipe or socket whose reader went away (a wardctl that quit, an iptables-restore
  // that failed) must be an error return, never the end of wardd.
  ::signal(SIGPIPE, SIG_IGN);

  // [privsep] user: the certificate's private key and the preshared keys live in a process of
  // their own (key_process.h), started before the certificates are loaded.
  std::unique_ptr<KeyProcess> keys;
  if (!config->privsep_user.empty()) {
    keys = std::make_unique<KeyProcess>(log, std::vector<std::string>{own_program(), "--privsep-child", "keys", "--user", config->privsep_user},
                                        config->privsep_user);
    if (auto started = keys->start(); !started) {
      log.error("key-process-start-failed", {{"why", started.error()}});
      return kExitStartFailed;
    }
  }
  // IKE certificate authentication: loaded before anything starts; a configured but unusable
  // certificate, key or trust store stops the start-up with the file and the reason. Reloaded
  // when the files change (certificate_reload.h): then an unusable set keeps the one in use.
  ikebridge::CertificateCredentialsPtr certificates;
  std::optional<CertificateReloader> certificate_reloader;
  if (config->certificates.enabled()) {
    certificate_reloader.emplace(config->certificates, keys.get());   // the files' state first: a change while loading is seen later
    auto loaded = load_certificates(config->certificates, keys.get());
    if (!loaded) {
      log.error("certificates-load-failed", {{"why", loaded.error()}});
      return kExitStartFailed;
    }
    certificates = std::move(*loaded);
    const auto fields = certificate_fields(*certificates);
    log.log(config::LogLevel::Info, "certificates-loaded", fields);
  }

  SystemClock clock;
  // Never fails: a broken cache is moved aside (or replaced by one in memory), never a reason to
  // stop; under Restart=on-failure that would loop and never enforce anything.
  SharedCache cache(open_cache_or_recover(config->cache_path, clock, log));
  if (auto pruned = cache.with([&](cache::Cache& c) { return c.prune_events(config->event_retention); }); !pruned) {
    log.warning("event-prune-failed", {{"why", pruned.error().message}});
  }

  // [privsep] user: the keytab goes to the key process, which alone reads it (Kerberos in IKE, the
  // directory bind's TGT); a file it cannot use is said now (each use checks the file again and
  // sends it anew when it changed).
  if (keys && (!config->directory.realm.empty() || (config->uses_directory() && config->directory.bind == config::BindMode::Gssapi))) {
    if (auto loaded = keys->use_keytab(kerberos_keytab_settings(config->directory)); !loaded) {
      log.error("key-process-keytab-refused", {{"why", loaded.error()}});
    }
  }
  const auto source = make_policy_source(*config, log, own_program(), keys.get());
  AcquireRecorder acquires(cache, log, clock);
  auto dataplane = make_dataplane(*config, acquires);
  if (!dataplane) {
    log.error("dataplane-start-failed", {{"why", dataplane.error()}});
    return kExitStartFailed;
  }
  log.info("dataplane", {{"backend", std::string(config::name_of(dataplane->backend))}, {"why", dataplane->why}});

  auto addresses = host_addresses();
  if (!addresses) {
    log.error("address-enumeration-failed", {{"why", addresses.error()}});
    addresses = std::vector<ward::IpAddress>{};
  }
  AgentState state;
  Applier applier(*dataplane->dataplane, config->legacy_algorithms != config::LegacyAlgorithms::Never);
  PolicyUpdater updater(source.get(), cache, applier, state, log, clock, *addresses, boot_policy(*config));
  // Before any network call: the cached policy, else the boot policy. A dataplane that takes no
  // table at all (not even the empty one) can enforce nothing: that is a failed start, visible
  // as such to systemd, never a wardd that runs and protects nothing.
  if (auto started = updater.start(); !started.applied) {
    log.error("dataplane-unusable", {{"why", "the dataplane refused every filter table"}, {"result", "not starting"}});
    return kExitStartFailed;
  }
  ikebridge::AuthFactory auth;
  enable_kerberos(auth, *config, keys.get());
  if (certificates) auth.enable_certificates(certificates);
  std::unique_ptr<IkeRunner> ike_runner;
  if (config->privsep_user.empty()) {
    ike_runner = std::make_unique<IkeInProcess>(log, acquires, std::move(auth), config->ike);
  } else {
    auto process = std::make_unique<IkeProcess>(log, acquires, std::move(auth), certificates, own_program(), config->privsep_user,
                                                config->ike);
    process->use_key_process(keys.get());
    ike_runner = std::move(process);
  }
  IkeRunner& ike = *ike_runner;
  ike.start(*addresses, *dataplane->dataplane);
  ike.sync(state);

  // Refreshes run on their own thread, the first at once: whatever the directory does, the main
  // loop, the control socket and the watcher never wait on it. Every refresh, whatever started it,
  // moves the next poll; after a failure the next try comes sooner (schedule.h).
  RefreshSchedule schedule(std::random_device{}());
  RefreshLoop refreshes(
      [&](std::string_view trigger) {
        auto outcome = updater.refresh(trigger);
        // IKE negotiates with the new policy and drops SAs of filters that went away. Nothing new
        // otherwise (and never once stopping: IKE may be stopping on the main thread).
        if (outcome.applied) ike.sync(state);
        const auto now = state.current();
        const std::string status = "STATUS=" + std::string(name_of(now->origin)) +
                                   (now->policy.name.empty() ? std::string() : ": " + now->policy.name);
        sd_notify(0, status.c_str());  // `systemctl status wardd` shows what is enforced
        return outcome;
      },
      [&](const UpdateOutcome& outcome) {
        const auto now = clock.now();
        const auto due = schedule.refreshed(now, state.current()->policy.polling_interval_minutes, outcome.failed);
        return std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
      },
      "start-up");

  DaemonHandler handler(state, cache, *dataplane->dataplane, [&]() -> ward::Expected<std::string, std::string> {
    auto outcome = refreshes.request_and_wait("control-socket");
    if (outcome.failed) return ward::unexpected(std::move(outcome.message));
    return std::move(outcome.message);
  });
  // Also before IKE runs anywhere: an address that appears later starts it.
  handler.set_ike_snapshots([&] { return ike.snapshots(); });
  handler.set_dataplane_choice({std::string(config::name_of(dataplane->backend)), std::string(config::name_of(dataplane->configured)), dataplane->why});
  control::ControlServerOptions options;
  options.socket_path = config->control_socket;
  options.warn = [&](std::string_view message) { log.warning("control-socket", {{"message", std::string(message)}}); };
  auto server = control::ControlServer::start(std::move(options), handler);
  if (!server) {
    log.error("control-socket-failed", {{"path", config->control_socket.string()}, {"why", server.error()}});
    updater.stop();
    if (!refreshes.stop(kRefreshStopGrace)) _exit(kExitStartFailed);
    return kExitStartFailed;
  }
  auto monitor_server = start_monitor(config->monitor, handler, log);
  if (!monitor_server) {
    log.error("monitor-failed", {{"why", monitor_server.error()}});
    updater.stop();
    if (!refreshes.stop(kRefreshStopGrace)) _exit(kExitStartFailed);
    return kExitStartFailed;
  }
  log.info("ready", {{"socket", config->control_socket.string()}});
  // Type=notify: `systemctl start` returns once a policy (cached, boot or none) is enforced and
  // the control socket answers; not when the directory answers, which may take long.
  sd_notify(0, "READY=1");
  // Directory hosts: refresh as soon as the directory reports a change (polling stays as a
  // fallback).
  // The watch shares the directory source's connection and asks it which changes matter; a
  // refresh that finds the directory unavailable is retried by the refresh loop (schedule.h).
  auto watcher = make_change_watcher(*config, log, source.get(), [&](std::string_view why) {
    refreshes.request(why);
    return true;
  });

  auto addresses_at = clock.now() + kAddressPollInterval;
  auto flush_at = clock.now() + kEventFlushInterval;
  auto certificates_at = clock.now() + kCertificatePollInterval;
  for (;;) {
    const auto now = clock.now();
    const auto wake = std::min({addresses_at, flush_at, certificates_at});
    const int signal = wait_for_signal(signals, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now));
    if (signal == SIGTERM || signal == SIGINT) {
      log.info("stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      sd_notify(0, "STOPPING=1");
      break;
    }
    if (signal == SIGHUP) refreshes.request("SIGHUP");
    if (certificate_reloader && (signal == SIGHUP || clock.now() >= certificates_at)) {
      reload_certificates(*certificate_reloader, ike, log);
      certificates_at = clock.now() + kCertificatePollInterval;
    }
    if (clock.now() >= flush_at) {
      acquires.flush();
      flush_at = clock.now() + kEventFlushInterval;
    }
    if (clock.now() >= addresses_at) {
      auto current = host_addresses();
      if (current && *current != state.current()->addresses) {
        ike.readdress(*current);
        updater.readdress(std::move(*current));
        ike.sync(state);
      }
      addresses_at = clock.now() + kAddressPollInterval;
    }
  }
  monitor_server->reset();
  server->reset();      // no more control requests
  updater.stop();       // a refresh that returns from now on installs nothing
  const bool refresh_ended = refreshes.stop(kRefreshStopGrace);
  ike.stop();           // deletes our SAs and tells the peers
  acquires.flush();
  dataplane->dataplane.reset();   // removes the kernel rules
  if (!refresh_ended) {
    // Still waiting on the directory: its thread uses the source and the updater, which must not
    // be destroyed under it. Everything that touches the host is already undone.
    log.warning("refresh-abandoned", {{"why", "a refresh was still waiting on the source"}});
    log.info("stopped");
    _exit(kExitOk);
  }
  watcher.reset();      // may wait for its LDAP timeouts; nothing of the host's is left to undo
  log.info("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path config_path{std::string(ward::agent::config::kDefaultConfigPath)};
  const std::vector<std::string> args(argv + 1, argv + argc);
  // wardd's IKE process (ike_process.h): started by wardd itself, never by hand.
  if (args.size() == 4 && args[0] == "--privsep-child" && args[1] == "ike" && args[2] == "--user") {
    // _exit, not a return through exit(): the sandboxed child runs no atexit handlers. Under
    // LeakSanitizer they include the leak check, which needs ptrace and the dumpable flag the
    // sandbox takes away: it printed "Sanitizer has encountered a fatal error" at every exit.
    const int status = ward::agent::ikeproc::run_ike_child(args[3]);
    std::fflush(nullptr);
    std::_Exit(status);
  }
  // wardd's key process (key_process.h): the same, for the keys.
  if (args.size() == 4 && args[0] == "--privsep-child" && args[1] == "keys" && args[2] == "--user") {
    const int status = ward::agent::daemon::run_key_child(args[3]);
    std::fflush(nullptr);
    std::_Exit(status);
  }
  // wardd's directory fetcher (fetch_process.h): the same, for the LDAP/AD fetch.
  if (args.size() == 4 && args[0] == "--privsep-child" && args[1] == "fetch" && args[2] == "--user") {
    const int status = ward::agent::daemon::run_fetch_child(args[3]);
    std::fflush(nullptr);
    std::_Exit(status);
  }
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
