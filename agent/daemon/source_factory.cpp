#include "agent/daemon/source_factory.h"

#include "agent/daemon/local_file_source.h"

namespace ward::agent::daemon {

std::unique_ptr<PolicySource> make_policy_source(const config::Config& config, Logger& log) {
  if (config.uses_directory()) {
    log.error("no-directory-source",
              {{"message", "the directory policy source is not built into this wardd yet; using the cached policy"}});
    return nullptr;
  }
  if (!config.local_policy.empty()) return std::make_unique<LocalFileSource>(config.local_policy);
  log.warning("no-policy-source", {{"message", "neither [directory] uri nor [policy] local_file is set"}});
  return nullptr;
}

}  // namespace ward::agent::daemon
