-- Ward agent cache (wardd): the last good policy and the event log.
-- Schema version 2 (PRAGMA user_version). wardd runs this file once on a new, empty database
-- inside a transaction and then sets user_version; an older database is migrated in place
-- (agent/cache/cache.cpp, kMigrations); a database with a newer user_version is refused with an
-- error (wardd then moves it aside and starts a new one). The database holds preshared keys: the file is 0600, its directory 0700.
-- Times are Unix seconds (UTC).

-- At most one row: the last policy that parsed and validated without errors. A new policy only
-- replaces it when it too is valid (wardd's cache::Cache::store_if_valid).
CREATE TABLE policy (
  slot          INTEGER PRIMARY KEY CHECK (slot = 1),
  policy_json   TEXT    NOT NULL,   -- ward-policy/1 JSON, secrets included
  policy_dn     TEXT    NOT NULL,   -- the ipsecPolicy object's DN ('' for a local policy file)
  gpo_dn        TEXT    NOT NULL,   -- the GPO that assigned it
  gpo_name      TEXT    NOT NULL,   -- the GPO's displayName
  som_dn        TEXT    NOT NULL,   -- the site, domain or OU the GPO is linked to
  change_stamp  TEXT    NOT NULL,   -- whenChanged / modifyTimestamp / entryCSN as the directory gave it
  fetched_at    INTEGER NOT NULL
) STRICT;

-- One row stands for `count` events alike (same kind, peer, method and reason), the first at
-- `at`, the last at `last_at`: repeated events are aggregated, never one row each.
CREATE TABLE event (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  at           INTEGER NOT NULL,
  kind         TEXT    NOT NULL CHECK (kind IN ('policy-applied', 'policy-rejected', 'directory-unreachable',
                                               'cache-used', 'ike-success', 'ike-failure', 'boot-policy',
                                               'cache-reset')),
  peer         TEXT    NOT NULL DEFAULT '',
  auth_method  TEXT    NOT NULL DEFAULT '',
  reason       TEXT    NOT NULL DEFAULT '',
  count        INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
  last_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX event_at ON event (at);
