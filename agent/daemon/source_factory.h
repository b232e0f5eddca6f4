// The PolicySource ward.conf asks for: a host with [directory] uri set reads its policy from the
// directory (directory_source.h) and watches it for changes (change_watcher.h); otherwise
// [policy] local_file; with neither, there is no source (null).
#pragma once

#include <memory>
#include <string>

#include "agent/config/config.h"
#include "agent/daemon/change_watcher.h"
#include "agent/daemon/key_process.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"

namespace ward::agent::daemon {

// Null when there is no usable source (logged: e.g. a password file that others can read).
// With [privsep] user and `program` (wardd's own path) the directory is read by a FetchProcess
// (fetch_process.h) running `program --privsep-child fetch --user USER`; with `keys` too, the
// GSSAPI bind's TGT is got by the key process (wardd never reads the keytab).
std::unique_ptr<PolicySource> make_policy_source(const config::Config& config, Logger& log, const std::string& program = {},
                                                 KeyProcess* keys = nullptr);

// A running change watch; destroying it ends the watch and its calls of the trigger.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

// The directory change watch (started), or null for a host without [directory] uri. When
// `source` is the DirectorySource, a ChangeWatcher in wardd shares its connection and refreshes
// only for changes that can affect what it fetches; when it is a FetchProcess ([privsep] user),
// the watch runs in its child, on the child's connection, and wardd only gets the refresh requests
// (FetchProcess::start_watch): wardd then reads nothing from the directory. `source` must outlive
// the watch.
std::unique_ptr<ChangeWatch> make_change_watcher(const config::Config& config, Logger& log, PolicySource* source,
                                                 ChangeWatcher::Trigger trigger);

}  // namespace ward::agent::daemon
