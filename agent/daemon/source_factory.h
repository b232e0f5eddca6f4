// The PolicySource ward.conf asks for. A host with [directory] uri set reads its policy from the
// directory — that source (directory/store/) is not wired in yet, so such a host runs on its cached
// policy and says so. Otherwise [policy] local_file; with neither, there is no source (null).
#pragma once

#include <memory>

#include "agent/config/config.h"
#include "agent/daemon/log.h"
#include "agent/daemon/policy_source.h"

namespace ward::agent::daemon {

std::unique_ptr<PolicySource> make_policy_source(const config::Config& config, Logger& log);

}  // namespace ward::agent::daemon
