// Opening wardd's cache so that a broken cache file never stops wardd. Under systemd's
// Restart=on-failure a wardd that exits on a bad cache restarts forever and never enforces
// anything; the cache is only an optimisation (the directory is the truth), so:
//
//   - the file opens, passes SQLite's quick_check and its cached policy loads: used as it is;
//   - otherwise (not a database, truncated, damaged, a schema this wardd does not know, a cached
//     policy that no longer parses or validates, a file that cannot be opened for writing) it is
//     moved aside as <path>.broken-<UTC time> with its -wal and -shm files, logged at error level
//     (cache-moved-aside) and a new cache is started at <path>, which records a cache-reset event;
//   - when even that fails (read-only file system, a directory open to group or others that must
//     not hold preshared keys) wardd runs on a cache in memory (cache-in-memory, error level):
//     nothing survives a restart, but the policy is still fetched, applied and shown.
#pragma once

#include <filesystem>

#include "agent/cache/cache.h"
#include "agent/cache/clock.h"
#include "agent/daemon/log.h"

namespace ward::agent::daemon {

cache::Cache open_cache_or_recover(const std::filesystem::path& path, const Clock& clock, Logger& log);

// "<path>.broken-20261125T143000Z" (a counter is appended if that exists).
std::filesystem::path moved_aside_name(const std::filesystem::path& path, TimePoint now);

}  // namespace ward::agent::daemon
