// What a change watcher keeps of its RFC 4533 sync search between messages and across reconnects:
// the merged cookie (SyncCookie) and, per entryUUID, the DN of every entry in the watch's scope.
// From the messages poll_sync reads it says which DNs changed, so that a host refetches only when
// a change can affect it (the caller matches the DNs against what its policy depends on):
//
//  - persist phase: an added, modified or deleted entry is a change of its DN, and of the DN it
//    had before when its entryUUID was known under another one (a move or rename);
//  - refresh phase resumed from a cookie: entries sent in full changed since the cookie; deletions
//    arrive as syncIdSets (refreshDeletes, when the provider keeps a session log) or, in a present
//    phase, as the entries the refresh did not mention: both are resolved to DNs through the map;
//  - refresh phase without a cookie: the first one is the initial content (no change); a later
//    one (the cookie was refused as too old) cannot say what changed: `unknown` (refetch).
// A deletion by an entryUUID the map does not know is `unknown` too.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "directory/ldap/session.h"
#include "directory/ldap/sync_cookie.h"

namespace ward::ldap {

struct SyncOutcome {
  std::vector<std::string> changed_dns;  // as the server wrote them
  bool unknown = false;                  // something changed that no DN names
  bool refresh_done = false;             // the refresh phase ended in this batch
  bool empty() const { return changed_dns.empty() && !unknown; }
};

class SyncWatchState {
 public:
  // A new sync search is about to start: resumed from cookie() when that is not empty.
  void begin();
  SyncOutcome apply(const std::vector<SyncMessage>& messages);
  // What start_sync takes ("" for none).
  std::string cookie() const { return cookie_.to_string(); }
  // The server refused the cookie (kSyncRefreshRequired): the next search starts without one.
  void forget_cookie() { cookie_ = SyncCookie{}; }
  std::size_t known_entries() const { return dn_by_uuid_.size(); }
  bool established_once() const { return established_once_; }

 private:
  void apply_entry(const SyncMessage& message, SyncOutcome& out);
  void end_refresh(const SyncMessage& message, SyncOutcome& out);

  SyncCookie cookie_;
  std::unordered_map<std::string, std::string> dn_by_uuid_;
  bool resumed_ = false;          // the current search started from a cookie
  bool had_content_ = false;      // the map was filled by an earlier search
  bool established_once_ = false; // some search finished its refresh phase
  bool in_refresh_ = true;
  std::unordered_set<std::string> mentioned_;  // UUIDs the current refresh named (present phase)
};

}  // namespace ward::ldap
