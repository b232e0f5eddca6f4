// The agent's SQLite cache: the last good policy (kept when the directory is unreachable or serves
// a broken policy) and the event log. Schema: schemas/sqlite/ward.sql.
//
// The file holds preshared keys, so open() creates its directory 0700 and the file 0600 (SQLite
// gives the -wal and -shm files the database file's mode) and refuses a directory that group or
// others can enter. The database runs in WAL mode with secure_delete on.
//
// Not thread-safe: one owner (the daemon's main loop) calls it, or callers serialize.
#pragma once

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/cache/clock.h"
#include "common/expected.h"
#include "directory/model/policy.h"
#include "directory/model/validation.h"

namespace ward::agent::cache {

enum class EventKind : std::uint8_t {
  PolicyApplied,
  PolicyRejected,
  DirectoryUnreachable,
  CacheUsed,
  IkeSuccess,
  IkeFailure,
  BootPolicy,  // nothing cached, nothing fetched: the boot policy is enforced
  CacheReset,  // the cache file was unusable and moved aside; a new one was started
};

inline constexpr std::array<std::pair<EventKind, std::string_view>, 8> kEventKindNames{{
    {EventKind::PolicyApplied, "policy-applied"},
    {EventKind::PolicyRejected, "policy-rejected"},
    {EventKind::DirectoryUnreachable, "directory-unreachable"},
    {EventKind::CacheUsed, "cache-used"},
    {EventKind::IkeSuccess, "ike-success"},
    {EventKind::IkeFailure, "ike-failure"},
    {EventKind::BootPolicy, "boot-policy"},
    {EventKind::CacheReset, "cache-reset"},
}};
static_assert(kEventKindNames.size() == static_cast<std::size_t>(EventKind::CacheReset) + 1);

std::string_view name_of(EventKind kind) noexcept;
std::optional<EventKind> event_kind_from_name(std::string_view name) noexcept;

struct Event {
  TimePoint at;
  EventKind kind = EventKind::PolicyApplied;
  std::string peer;         // IKE events: the peer's address
  std::string auth_method;  // IKE events: kerberos, certificate, preshared-key
  std::string reason;       // free text, never a secret
  std::uint64_t count = 1;  // events alike this row stands for (aggregated repeats)
  TimePoint last_at{};      // the last of them (== at when count is 1)

  friend bool operator==(const Event&, const Event&) = default;
};

// Where a policy came from, as the directory layer reports it.
struct PolicySource {
  std::string policy_dn;     // the ipsecPolicy object ('' for a local policy file)
  std::string gpo_dn;
  std::string gpo_name;      // the GPO's displayName
  std::string som_dn;        // the site, domain or OU the GPO is linked to
  std::string change_stamp;  // whenChanged / modifyTimestamp / entryCSN, verbatim

  friend bool operator==(const PolicySource&, const PolicySource&) = default;
};

struct CachedPolicy {
  model::Policy policy;
  PolicySource source;
  TimePoint fetched_at;
};

struct CacheError {
  enum class Kind : std::uint8_t {
    Io,             // creating or checking the file or its directory
    UnsafeDirectory,  // the directory is open to group or others: the file must not live there
    Database,       // SQLite said no
    NewerSchema,    // written by a newer Ward
    InvalidPolicy,  // store_if_valid refused: `problems` says why
    Corrupt,        // the cached policy no longer parses or validates
  };
  Kind kind = Kind::Database;
  std::string message;
  std::vector<model::Problem> problems;  // InvalidPolicy and Corrupt
};

struct Sqlite3Closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
struct Sqlite3Finalizer {
  void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};
using DatabasePtr = std::unique_ptr<sqlite3, Sqlite3Closer>;
using StatementPtr = std::unique_ptr<sqlite3_stmt, Sqlite3Finalizer>;

inline constexpr std::filesystem::perms kDirectoryMode = std::filesystem::perms::owner_all;  // 0700
inline constexpr std::filesystem::perms kFileMode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;  // 0600

class Cache {
 public:
  static Expected<Cache, CacheError> open(const std::filesystem::path& path, const Clock& clock) noexcept;
  // A cache that lives in memory only (nothing survives a restart): what wardd runs on when no
  // file can be used.
  static Expected<Cache, CacheError> open_in_memory(const Clock& clock) noexcept;

  // SQLite's quick_check: a truncated or damaged file fails here, not later mid-refresh.
  Expected<void, CacheError> check_integrity() const noexcept;

  // Validates `policy` (ward::model::validate) and, only when it has no errors, makes it the cached
  // policy, fetched now. Returns the warnings. A policy with errors leaves the cache as it was and
  // gives InvalidPolicy with every problem.
  Expected<std::vector<model::Problem>, CacheError> store_if_valid(const model::Policy& policy,
                                                                   const PolicySource& source) noexcept;
  // The same for ward-policy/1 JSON text (a parse error is InvalidPolicy too).
  Expected<std::vector<model::Problem>, CacheError> store_json_if_valid(std::string_view json,
                                                                        const PolicySource& source) noexcept;

  // The cached policy, or nothing when none was ever stored.
  Expected<std::optional<CachedPolicy>, CacheError> load_policy() const noexcept;
  Expected<void, CacheError> clear_policy() noexcept;

  // Appends an event stamped now; returns its row id (for add_repeats).
  Expected<std::int64_t, CacheError> record_event(EventKind kind, std::string_view peer, std::string_view auth_method,
                                                  std::string_view reason) noexcept;
  // `more` events like row `id` happened, the last at `last`: one UPDATE, whatever `more` is.
  Expected<void, CacheError> add_repeats(std::int64_t id, std::uint64_t more, TimePoint last) noexcept;
  // Events whose last occurrence is at or after `since`, oldest first, at most `limit` (the newest
  // ones when there are more).
  Expected<std::vector<Event>, CacheError> events_since(TimePoint since, std::size_t limit) const noexcept;
  // Deletes events whose last occurrence is older than now - retention; returns how many.
  Expected<std::size_t, CacheError> prune_events(std::chrono::seconds retention) noexcept;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  Cache(std::filesystem::path path, const Clock& clock, DatabasePtr db) noexcept
      : path_(std::move(path)), clock_(&clock), db_(std::move(db)) {}

  static Expected<Cache, CacheError> open_database(const std::filesystem::path& path, const char* sqlite_name,
                                                   const Clock& clock) noexcept;
  Expected<void, CacheError> prepare_statements() noexcept;
  Expected<std::vector<model::Problem>, CacheError> store_validated(const model::Policy& policy,
                                                                    const PolicySource& source);
  CacheError database_error(std::string_view doing) const;

  std::filesystem::path path_;
  const Clock* clock_;
  DatabasePtr db_;  // declared before the statements: destroyed after them
  StatementPtr upsert_policy_;
  StatementPtr select_policy_;
  StatementPtr delete_policy_;
  StatementPtr insert_event_;
  StatementPtr add_repeats_;
  StatementPtr select_events_;
  StatementPtr prune_events_;
};

}  // namespace ward::agent::cache
