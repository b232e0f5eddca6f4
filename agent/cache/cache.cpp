#include "agent/cache/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "agent/cache/ward_schema.h"
#include "directory/model/policy_json.h"

namespace ward::agent::cache {

namespace {

constexpr int kBusyTimeoutMs = 5000;

std::int64_t to_unix(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint from_unix(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

CacheError io_error(std::string message) { return CacheError{CacheError::Kind::Io, std::move(message), {}}; }

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The directory exists with 0700 (created so when missing) and the file exists with 0600.
Expected<void, CacheError> prepare_files(const std::filesystem::path& path) {
  const auto directory = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) {
    if (!directory.parent_path().empty()) std::filesystem::create_directories(directory.parent_path(), ec);
    if (ec) return unexpected(io_error("cannot create " + directory.parent_path().string() + ": " + ec.message()));
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
      return unexpected(io_error("cannot create " + directory.string() + ": " + std::strerror(errno)));
    }
    ::chmod(directory.c_str(), 0700);  // mkdir's mode went through the umask
  }
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) {
    return unexpected(io_error("cannot stat " + directory.string() + ": " + std::strerror(errno)));
  }
  if (!S_ISDIR(info.st_mode)) return unexpected(io_error(directory.string() + " is not a directory"));
  if ((info.st_mode & 077) != 0) {
    return unexpected(CacheError{CacheError::Kind::UnsafeDirectory, "cache directory " + directory.string() + " has mode " + mode_text(info.st_mode) +
                               "; it holds preshared keys and must not be open to group or others (use 0700)", {}});
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return unexpected(io_error("cannot open " + path.string() + ": " + std::strerror(errno)));
  const int chmod_result = ::fchmod(fd, 0600);  // also tightens a file created laxer by someone else
  const int chmod_errno = errno;
  ::close(fd);
  if (chmod_result != 0) {
    return unexpected(io_error("cannot set mode 0600 on " + path.string() + ": " + std::strerror(chmod_errno)));
  }
  return {};
}

// BEGIN IMMEDIATE ... COMMIT; rolls back when not committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (ok_ && !committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool began() const { return ok_; }
  bool commit() {
    committed_ = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    return committed_;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool committed_ = false;
};

// Resets a prepared statement after use, whatever path leaves the scope.
class Use {
 public:
  explicit Use(sqlite3_stmt* statement) : statement_(statement) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  sqlite3_stmt* get() const { return statement_; }

 private:
  sqlite3_stmt* statement_;
};

bool bind_text(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text64(s, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) == SQLITE_OK;
}

std::string column_text(sqlite3_stmt* s, int column) {
  const auto* text = sqlite3_column_text(s, column);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(s, column)))
              : std::string();
}

// Schema migrations: kMigrations[i] takes a database from version i + 1 to i + 2, inside the
// transaction that also sets the new user_version.
constexpr const char* kMigrations[] = {
    // 1 -> 2: event rows aggregate repeats (count, last_at); kinds boot-policy and cache-reset.
    "CREATE TABLE event_v2 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('policy-applied', 'policy-rejected', 'directory-unreachable', 'cache-used',"
    "    'ike-success', 'ike-failure', 'boot-policy', 'cache-reset')),"
    "  peer TEXT NOT NULL DEFAULT '', auth_method TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',"
    "  count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1), last_at INTEGER NOT NULL) STRICT;"
    "INSERT INTO event_v2 (id, at, kind, peer, auth_method, reason, count, last_at)"
    "  SELECT id, at, kind, peer, auth_method, reason, 1, at FROM event;"
    "DROP TABLE event;"
    "ALTER TABLE event_v2 RENAME TO event;"
    "CREATE INDEX event_at ON event (at);",
};
static_assert(std::size(kMigrations) == kSchemaVersion - 1);

}  // namespace

std::string_view name_of(EventKind kind) noexcept {
  for (const auto& [value, name] : kEventKindNames) {
    if (value == kind) return name;
  }
  return "?";
}

std::optional<EventKind> event_kind_from_name(std::string_view name) noexcept {
  for (const auto& [value, candidate] : kEventKindNames) {
    if (candidate == name) return value;
  }
  return std::nullopt;
}

CacheError Cache::database_error(std::string_view doing) const {
  return CacheError{CacheError::Kind::Database,
                    path_.string() + ": " + std::string(doing) + ": " + sqlite3_errmsg(db_.get()), {}};
}

Expected<Cache, CacheError> Cache::open(const std::filesystem::path& path, const Clock& clock) noexcept {
  try {
    if (auto prepared = prepare_files(path); !prepared) return unexpected(prepared.error());
    return open_database(path, path.c_str(), clock);
  } catch (const std::exception& e) {
    return unexpected(io_error(path.string() + ": " + e.what()));
  }
}

Expected<Cache, CacheError> Cache::open_in_memory(const Clock& clock) noexcept {
  return open_database("(memory)", ":memory:", clock);
}

Expected<Cache, CacheError> Cache::open_database(const std::filesystem::path& path, const char* sqlite_name,
                                                 const Clock& clock) noexcept {
  try {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(sqlite_name, &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    DatabasePtr db(raw);
    if (rc != SQLITE_OK) {
      return unexpected(CacheError{CacheError::Kind::Database,
                                   path.string() + ": cannot open: " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)),
                                   {}});
    }
    Cache cache(path, clock, std::move(db));
    sqlite3* d = cache.db_.get();
    sqlite3_busy_timeout(d, kBusyTimeoutMs);
    sqlite3_extended_result_codes(d, 1);

    // The version first: a newer schema is refused before anything is written.
    int version = -1;
    {
      sqlite3_stmt* raw_statement = nullptr;
      if (sqlite3_prepare_v2(d, "PRAGMA user_version", -1, &raw_statement, nullptr) != SQLITE_OK) {
        return unexpected(cache.database_error("reading the schema version (is it an SQLite database?)"));
      }
      StatementPtr statement(raw_statement);
      if (sqlite3_step(statement.get()) != SQLITE_ROW) {
        return unexpected(cache.database_error("reading the schema version (is it an SQLite database?)"));
      }
      version = sqlite3_column_int(statement.get(), 0);
    }
    if (version > kSchemaVersion) {
      return unexpected(CacheError{CacheError::Kind::NewerSchema,
                                   path.string() + ": cache schema version " + std::to_string(version) +
                                       " is newer than this wardd understands (" + std::to_string(kSchemaVersion) +
                                       "); it was written by a newer Ward: upgrade wardd or move the file away",
                                   {}});
    }
    if (version < 0) return unexpected(cache.database_error("negative schema version"));

    for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA secure_delete = ON", "PRAGMA foreign_keys = ON"}) {
      if (sqlite3_exec(d, pragma, nullptr, nullptr, nullptr) != SQLITE_OK) return unexpected(cache.database_error(pragma));
    }
    if (version < kSchemaVersion) {
      Transaction transaction(d);
      if (!transaction.began()) return unexpected(cache.database_error("starting the schema transaction"));
      if (version == 0) {
        if (sqlite3_exec(d, kSchemaSql, nullptr, nullptr, nullptr) != SQLITE_OK) {
          return unexpected(cache.database_error("creating the schema"));
        }
      } else {
        for (int from = version; from < kSchemaVersion; ++from) {
          if (sqlite3_exec(d, kMigrations[from - 1], nullptr, nullptr, nullptr) != SQLITE_OK) {
            return unexpected(cache.database_error("migrating the schema from version " + std::to_string(from)));
          }
        }
      }
      const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
      if (sqlite3_exec(d, set_version.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK || !transaction.commit()) {
        return unexpected(cache.database_error("setting the schema version"));
      }
    }
    if (auto prepared = cache.prepare_statements(); !prepared) return unexpected(prepared.error());
    return cache;
  } catch (const std::exception& e) {
    return unexpected(io_error(path.string() + ": " + e.what()));
  }
}

Expected<void, CacheError> Cache::check_integrity() const noexcept {
  try {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), "PRAGMA quick_check", -1, &raw, nullptr) != SQLITE_OK) {
      return unexpected(database_error("checking integrity"));
    }
    StatementPtr statement(raw);
    std::string problems;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
      const std::string line = column_text(statement.get(), 0);
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
    if (rc != SQLITE_DONE) return unexpected(database_error("checking integrity"));
    if (!problems.empty()) {
      return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": integrity check failed: " + problems, {}});
    }
    return {};
  } catch (const std::exception& e) {
    return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": checking integrity: " + e.what(), {}});
  }
}

Expected<void, CacheError> Cache::prepare_statements() noexcept {
  const auto prepare = [&](StatementPtr& out, const char* sql) -> bool {
    sqlite3_stmt* raw = nullptr;
    const bool ok = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) == SQLITE_OK;
    out.reset(raw);
    return ok;
  };
  if (!prepare(upsert_policy_,
               "INSERT INTO policy (slot, policy_json, policy_dn, gpo_dn, gpo_name, som_dn, change_stamp, fetched_at) "
               "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (slot) DO UPDATE SET "
               "policy_json = excluded.policy_json, policy_dn = excluded.policy_dn, gpo_dn = excluded.gpo_dn, "
               "gpo_name = excluded.gpo_name, som_dn = excluded.som_dn, change_stamp = excluded.change_stamp, "
               "fetched_at = excluded.fetched_at") ||
      !prepare(select_policy_,
               "SELECT policy_json, policy_dn, gpo_dn, gpo_name, som_dn, change_stamp, fetched_at FROM policy WHERE slot = 1") ||
      !prepare(delete_policy_, "DELETE FROM policy") ||
      !prepare(insert_event_,
               "INSERT INTO event (at, kind, peer, auth_method, reason, count, last_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?1)") ||
      !prepare(add_repeats_, "UPDATE event SET count = count + ?1, last_at = max(last_at, ?2) WHERE id = ?3") ||
      !prepare(select_events_,
               "SELECT at, kind, peer, auth_method, reason, count, last_at FROM "
               "(SELECT id, at, kind, peer, auth_method, reason, count, last_at FROM event WHERE last_at >= ?1 "
               "ORDER BY last_at DESC, id DESC LIMIT ?2) "
               "ORDER BY last_at, id") ||
      !prepare(prune_events_, "DELETE FROM event WHERE last_at < ?1")) {
    return unexpected(database_error("preparing statements (schema does not match this wardd?)"));
  }
  return {};
}

Expected<std::vector<model::Problem>, CacheError> Cache::store_if_valid(const model::Policy& policy,
                                                                        const PolicySource& source) noexcept {
  try {
    return store_validated(policy, source);
  } catch (const std::exception& e) {
    return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": storing the policy: " + e.what(), {}});
  }
}

Expected<std::vector<model::Problem>, CacheError> Cache::store_json_if_valid(std::string_view json,
                                                                             const PolicySource& source) noexcept {
  try {
    auto parsed = model::policy_from_json(json);
    if (!parsed) {
      return unexpected(CacheError{CacheError::Kind::InvalidPolicy, "the policy does not parse; the cached policy is kept",
                                   std::move(parsed).error()});
    }
    return store_validated(*parsed, source);
  } catch (const std::exception& e) {
    return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": storing the policy: " + e.what(), {}});
  }
}

Expected<std::vector<model::Problem>, CacheError> Cache::store_validated(const model::Policy& policy,
                                                                         const PolicySource& source) {
  auto problems = model::validate(policy);
  if (model::has_errors(problems)) {
    return unexpected(CacheError{CacheError::Kind::InvalidPolicy,
                                 "policy \"" + policy.name + "\" has errors; the cached policy is kept", std::move(problems)});
  }
  const std::string json = model::policy_to_json(policy, model::SecretHandling::Include);
  Transaction transaction(db_.get());
  if (!transaction.began()) return unexpected(database_error("starting a transaction"));
  Use use(upsert_policy_.get());
  sqlite3_stmt* s = use.get();
  if (!bind_text(s, 1, json) || !bind_text(s, 2, source.policy_dn) || !bind_text(s, 3, source.gpo_dn) ||
      !bind_text(s, 4, source.gpo_name) || !bind_text(s, 5, source.som_dn) || !bind_text(s, 6, source.change_stamp) ||
      sqlite3_bind_int64(s, 7, to_unix(clock_->now())) != SQLITE_OK) {
    return unexpected(database_error("binding the policy"));
  }
  if (sqlite3_step(s) != SQLITE_DONE) return unexpected(database_error("storing the policy"));
  if (!transaction.commit()) return unexpected(database_error("committing the policy"));
  problems.erase(std::remove_if(problems.begin(), problems.end(),
                                [](const model::Problem& p) { return p.severity == model::Severity::Error; }),
                 problems.end());
  return problems;
}

Expected<std::optional<CachedPolicy>, CacheError> Cache::load_policy() const noexcept {
  try {
    Use use(select_policy_.get());
    sqlite3_stmt* s = use.get();
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<CachedPolicy>{};
    if (rc != SQLITE_ROW) return unexpected(database_error("reading the cached policy"));
    auto parsed = model::policy_from_json(column_text(s, 0));
    if (!parsed) {
      return unexpected(CacheError{CacheError::Kind::Corrupt, path_.string() + ": the cached policy no longer parses",
                                   std::move(parsed).error()});
    }
    auto problems = model::validate(*parsed);
    if (model::has_errors(problems)) {
      return unexpected(CacheError{CacheError::Kind::Corrupt, path_.string() + ": the cached policy no longer validates",
                                   std::move(problems)});
    }
    CachedPolicy cached;
    cached.policy = std::move(parsed).value();
    cached.source = PolicySource{column_text(s, 1), column_text(s, 2), column_text(s, 3), column_text(s, 4), column_text(s, 5)};
    cached.fetched_at = from_unix(sqlite3_column_int64(s, 6));
    return std::optional<CachedPolicy>(std::move(cached));
  } catch (const std::exception& e) {
    return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": reading the policy: " + e.what(), {}});
  }
}

Expected<void, CacheError> Cache::clear_policy() noexcept {
  Use use(delete_policy_.get());
  if (sqlite3_step(use.get()) != SQLITE_DONE) return unexpected(database_error("deleting the cached policy"));
  return {};
}

Expected<std::int64_t, CacheError> Cache::record_event(EventKind kind, std::string_view peer, std::string_view auth_method,
                                                       std::string_view reason) noexcept {
  Use use(insert_event_.get());
  sqlite3_stmt* s = use.get();
  if (sqlite3_bind_int64(s, 1, to_unix(clock_->now())) != SQLITE_OK || !bind_text(s, 2, name_of(kind)) ||
      !bind_text(s, 3, peer) || !bind_text(s, 4, auth_method) || !bind_text(s, 5, reason)) {
    return unexpected(database_error("binding an event"));
  }
  if (sqlite3_step(s) != SQLITE_DONE) return unexpected(database_error("recording an event"));
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.get()));
}

Expected<void, CacheError> Cache::add_repeats(std::int64_t id, std::uint64_t more, TimePoint last) noexcept {
  Use use(add_repeats_.get());
  sqlite3_stmt* s = use.get();
  const auto capped = static_cast<sqlite3_int64>(std::min<std::uint64_t>(more, INT64_MAX / 2));
  if (sqlite3_bind_int64(s, 1, capped) != SQLITE_OK || sqlite3_bind_int64(s, 2, to_unix(last)) != SQLITE_OK ||
      sqlite3_bind_int64(s, 3, id) != SQLITE_OK) {
    return unexpected(database_error("binding repeats"));
  }
  if (sqlite3_step(s) != SQLITE_DONE) return unexpected(database_error("counting repeats"));
  return {};
}

Expected<std::vector<Event>, CacheError> Cache::events_since(TimePoint since, std::size_t limit) const noexcept {
  try {
    Use use(select_events_.get());
    sqlite3_stmt* s = use.get();
    const auto capped = static_cast<sqlite3_int64>(std::min<std::size_t>(limit, INT64_MAX));
    if (sqlite3_bind_int64(s, 1, to_unix(since)) != SQLITE_OK || sqlite3_bind_int64(s, 2, capped) != SQLITE_OK) {
      return unexpected(database_error("binding the event query"));
    }
    std::vector<Event> events;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const auto kind = event_kind_from_name(column_text(s, 1));
      if (!kind) return unexpected(CacheError{CacheError::Kind::Corrupt, path_.string() + ": unknown event kind '" + column_text(s, 1) + "'", {}});
      events.push_back(Event{from_unix(sqlite3_column_int64(s, 0)), *kind, column_text(s, 2), column_text(s, 3),
                             column_text(s, 4), static_cast<std::uint64_t>(sqlite3_column_int64(s, 5)),
                             from_unix(sqlite3_column_int64(s, 6))});
    }
    if (rc != SQLITE_DONE) return unexpected(database_error("reading events"));
    return events;
  } catch (const std::exception& e) {
    return unexpected(CacheError{CacheError::Kind::Database, path_.string() + ": reading events: " + e.what(), {}});
  }
}

Expected<std::size_t, CacheError> Cache::prune_events(std::chrono::seconds retention) noexcept {
  Use use(prune_events_.get());
  sqlite3_stmt* s = use.get();
  if (sqlite3_bind_int64(s, 1, to_unix(clock_->now() - retention)) != SQLITE_OK) {
    return unexpected(database_error("binding the prune query"));
  }
  if (sqlite3_step(s) != SQLITE_DONE) return unexpected(database_error("pruning events"));
  return static_cast<std::size_t>(sqlite3_changes64(db_.get()));
}

}  // namespace ward::agent::cache
