#include "tools/fleet-sim/fleet_host.h"

namespace ward::fleet {
namespace {

agent::daemon::DirectorySourceSettings settings_of(const SimComputer& computer, const std::vector<std::string>& uris,
                                                   std::size_t first_uri) {
  agent::daemon::DirectorySourceSettings settings;
  settings.session.uris = uris;
  settings.session.first_uri = first_uri;
  settings.session.bind = ldap::SimpleBind{computer.dn, model::Secret(computer.password)};
  settings.session.network_timeout = std::chrono::seconds(3);
  settings.session.operation_timeout = std::chrono::seconds(10);
  settings.domain_dn = kDomainDn;
  settings.computer_dn = computer.dn;
  const IpAddress address = computer.address;
  settings.host_addresses = [address] { return std::vector<IpAddress>{address}; };
  settings.shared_session = std::make_shared<ldap::SharedSession>(settings.session);
  return settings;
}

}  // namespace

SimHost::SimHost(const SimComputer& computer, const std::vector<std::string>& uris, std::size_t first_uri,
                 agent::daemon::Logger& log, const HostTuning& tuning)
    : computer_(computer), tuning_(tuning), log_(log), source_(settings_of(computer, uris, first_uri), log) {}

SimHost::~SimHost() { watcher_.reset(); }

bool SimHost::fetch() {
  auto result = source_.fetch();
  FetchRecord record;
  record.done = Clock::now();
  if (result) {
    record.policy = true;
    record.description = result->policy.description;
    record.gpo_dn = result->source.gpo_dn;
  } else {
    record.unavailable = result.error().kind == agent::daemon::FetchError::Kind::Unavailable;
  }
  const bool read = !record.unavailable;
  std::lock_guard lock(mutex_);
  fetches_.push_back(std::move(record));
  return read;
}

void SimHost::start_watch() {
  agent::daemon::ChangeWatchSettings watch;
  watch.session = source_.shared_session()->options();
  watch.request = agent::daemon::policy_watch_request(kDomainDn, computer_.dn, "");
  watch.request.poll_interval = tuning_.poll_interval;
  watch.scope = agent::daemon::WatchScope{kDomainDn, computer_.dn, ""};
  watch.debounce = tuning_.debounce;
  watch.jitter = tuning_.jitter;
  watch.shared = source_.shared_session();
  watch.affects = [this](std::string_view dn) { return source_.affected_by(dn); };
  watcher_ = std::make_unique<agent::daemon::ChangeWatcher>(std::move(watch), log_, [this](std::string_view) { return fetch(); });
}

void SimHost::request_stop() {
  if (watcher_) watcher_->request_stop();
}

std::vector<FetchRecord> SimHost::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

}  // namespace ward::fleet
