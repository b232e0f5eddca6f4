#include "agent/daemon/source_factory.h"

#include "agent/daemon/directory_source.h"
#include "agent/daemon/fetch_process.h"
#include "agent/daemon/local_file_source.h"

namespace ward::agent::daemon {

std::unique_ptr<PolicySource> make_policy_source(const config::Config& config, Logger& log, const std::string& program, KeyProcess* keys) {
  if (config.uses_directory()) {
    auto settings = directory_source_settings(config.directory);
    if (!settings) {
      log.error("no-directory-source", {{"why", settings.error()}, {"result", "using the cached policy"}});
      return nullptr;
    }
    if (!config.privsep_user.empty() && !program.empty()) {
      FetchProcessOptions options;
      options.argv = {program, "--privsep-child", "fetch", "--user", config.privsep_user};
      options.user = config.privsep_user;
      if (keys != nullptr) {
        options.tgt = [keys](const std::string& client) -> Expected<std::pair<driver::crypto::SecureBytes, std::int64_t>, std::string> {
          auto tgt = keys->tgt(client);
          if (!tgt) return unexpected(std::move(tgt.error()));
          return std::pair{std::move(tgt->ticket), tgt->end};
        };
      }
      auto fetcher = std::make_unique<FetchProcess>(std::move(*settings), std::move(options), log);
      if (auto started = fetcher->start(); !started) {
        // Fail closed: never a fetch as root when the configuration asks for a separate process.
        log.error("fetch-process-failed", {{"why", started.error()}, {"result", "using the cached policy"}});
        return nullptr;
      }
      return fetcher;
    }
    return std::make_unique<DirectorySource>(std::move(*settings), log);
  }
  if (!config.local_policy.empty()) return std::make_unique<LocalFileSource>(config.local_policy);
  log.warning("no-policy-source", {{"message", "neither [directory] uri nor [policy] local_file is set"}});
  return nullptr;
}

namespace {

class InProcessWatch final : public ChangeWatch {
 public:
  explicit InProcessWatch(std::unique_ptr<ChangeWatcher> watcher) : watcher_(std::move(watcher)) {}

 private:
  std::unique_ptr<ChangeWatcher> watcher_;
};

class FetchProcessWatch final : public ChangeWatch {
 public:
  FetchProcessWatch(FetchProcess& process, ChangeWatcher::Trigger trigger) : process_(process) {
    // The refresh loop retries a refresh that finds the directory unavailable: the result is unused.
    process_.start_watch([trigger = std::move(trigger)](std::string_view reason) { (void)trigger(reason); });
  }
  ~FetchProcessWatch() override { process_.stop_watch(); }

 private:
  FetchProcess& process_;
};

}  // namespace

std::unique_ptr<ChangeWatch> make_change_watcher(const config::Config& config, Logger& log, PolicySource* source,
                                                 ChangeWatcher::Trigger trigger) {
  if (!config.uses_directory()) return nullptr;
  if (auto* fetcher = dynamic_cast<FetchProcess*>(source); fetcher != nullptr) {
    return std::make_unique<FetchProcessWatch>(*fetcher, std::move(trigger));
  }
  auto settings = directory_source_settings(config.directory);
  if (!settings) return nullptr;  // make_policy_source said why
  ChangeWatchSettings watch;
  watch.session = std::move(settings->session);
  watch.request = policy_watch_request(settings->domain_dn, settings->computer_dn, settings->computer_account);
  watch.scope = WatchScope{settings->domain_dn, settings->computer_dn, settings->computer_account};
  // The watch shares the source's connection and asks it which changes matter.
  if (auto* directory = dynamic_cast<DirectorySource*>(source); directory != nullptr) {
    watch.shared = directory->shared_session();
    watch.affects = [directory](std::string_view dn) { return directory->affected_by(dn); };
  }
  return std::make_unique<InProcessWatch>(std::make_unique<ChangeWatcher>(std::move(watch), log, std::move(trigger)));
}

}  // namespace ward::agent::daemon
