// The PolicySource ward.conf asks for: a host with [directory] uri set reads its policy from the
// directory (directory_source.h) and watches it for changes (change_watcher.h); otherwise
// [policy] local_file; with neither, there is no source (null).
#pragma once

#include <memory>
#include <string>

#include "agent/config/config.h"
#include "agent/daemon/change_watcher.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"

namespace ward::agent::daemon {

// Null when there is no usable source (logged: e.g. a password file that others can read).
// With [privsep] user and `program` (wardd's own path) the directory is read by a FetchProcess
// (fetch_process.h) running `program --privsep-child fetch --user USER`.
std::unique_ptr<PolicySource> make_policy_source(const config::Config& config, Logger& log, const std::string& program = {});

// The directory change watcher (started), or null for a host without [directory] uri. When
// `source` is the DirectorySource, the watch shares its connection and refreshes only for changes
// that can affect what it fetches; a FetchProcess's watch has a connection of its own in wardd and
// asks it the refresh scope its child sent. `source` must outlive the watcher.
std::unique_ptr<ChangeWatcher> make_change_watcher(const config::Config& config, Logger& log, PolicySource* source,
                                                   ChangeWatcher::Trigger trigger);

}  // namespace ward::agent::daemon
