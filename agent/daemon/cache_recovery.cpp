#include "agent/daemon/cache_recovery.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

namespace ward::agent::daemon {
namespace {

// Opens `path`, checks it and loads its policy once: any failure says the file is not usable.
Expected<cache::Cache, cache::CacheError> open_and_check(const std::filesystem::path& path, const Clock& clock) {
  auto opened = cache::Cache::open(path, clock);
  if (!opened) return opened;
  if (auto checked = opened->check_integrity(); !checked) return unexpected(checked.error());
  if (auto loaded = opened->load_policy(); !loaded) return unexpected(loaded.error());
  return opened;
}

std::string problems_suffix(const cache::CacheError& error) {
  if (error.problems.empty()) return {};
  return ": " + error.problems.front().to_string();
}

// Renames the file and its WAL companions; a stale -wal left beside a new database would be
// replayed into it.
Expected<std::filesystem::path, std::string> move_aside(const std::filesystem::path& path, TimePoint now) {
  const auto target = moved_aside_name(path, now);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::filesystem::rename(path, target, ec);
    if (ec) return unexpected("cannot move " + path.string() + " to " + target.string() + ": " + ec.message());
  }
  for (const char* companion : {"-wal", "-shm"}) {
    const std::filesystem::path from = path.string() + companion;
    if (!std::filesystem::exists(from, ec)) continue;
    std::filesystem::rename(from, target.string() + companion, ec);
    if (ec) {
      std::filesystem::remove(from, ec);
      if (ec) return unexpected("cannot move or remove " + from.string() + ": " + ec.message());
    }
  }
  return target;
}

cache::Cache in_memory(const std::string& why, const Clock& clock, Logger& log) {
  auto memory = cache::Cache::open_in_memory(clock);
  if (!memory) {
    // SQLite cannot even open :memory: (out of memory): nothing sensible is left to run on.
    log.error("cache-in-memory-failed", {{"why", memory.error().message}});
    std::abort();
  }
  log.error("cache-in-memory", {{"why", why}, {"result", "the cache lives in memory: nothing survives a restart"}});
  (void)memory->record_event(cache::EventKind::CacheReset, "", "", why + "; the cache lives in memory until wardd restarts");
  return std::move(*memory);
}

}  // namespace

std::filesystem::path moved_aside_name(const std::filesystem::path& path, TimePoint now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::filesystem::path candidate = path.string() + ".broken-" + stamp;
  std::error_code ec;
  for (int counter = 2; std::filesystem::exists(candidate, ec); ++counter) {
    candidate = path.string() + ".broken-" + stamp + "-" + std::to_string(counter);
  }
  return candidate;
}

cache::Cache open_cache_or_recover(const std::filesystem::path& path, const Clock& clock, Logger& log) {
  auto opened = open_and_check(path, clock);
  if (opened) return std::move(*opened);
  const auto& error = opened.error();
  const std::string why = error.message + problems_suffix(error);
  if (error.kind == cache::CacheError::Kind::UnsafeDirectory) return in_memory(why, clock, log);

  auto moved = move_aside(path, clock.now());
  if (!moved) return in_memory(why + "; " + moved.error(), clock, log);
  log.error("cache-moved-aside", {{"path", path.string()}, {"moved_to", moved->string()}, {"why", why}});
  auto fresh = open_and_check(path, clock);
  if (!fresh) return in_memory(why + "; a new cache at " + path.string() + " failed too: " + fresh.error().message, clock, log);
  const std::string reason = "the cache was unusable (" + why + "); it was moved to " + moved->string() +
                             " and a new one started: the policy comes from the source";
  if (auto recorded = fresh->record_event(cache::EventKind::CacheReset, "", "", reason); !recorded) {
    log.error("event-not-recorded", {{"kind", "cache-reset"}, {"why", recorded.error().message}});
  }
  return std::move(*fresh);
}

}  // namespace ward::agent::daemon
