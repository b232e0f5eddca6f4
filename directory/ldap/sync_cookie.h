// The position of an RFC 4533 sync search, kept by a client that resumes it (on this server or,
// in multi-provider replication, on another provider of the same data).
//
// OpenLDAP's syncprov sends cookies such as "rid=000,sid=001,csn=<csn>;<csn>": one change
// sequence number (CSN, "20261206025713.933156Z#000000#002#000000", its third field the server
// id where the change was made) per server id. A cookie in the persist phase carries only the
// CSN of the change it comes with, so a client that kept just the last cookie would hand back
// a cookie missing the other servers' CSNs, and syncprov answers that with a full refresh. So
// the client merges: for each server id the newest CSN seen. And it hands back no "sid=": a
// cookie's sid is taken as the *consumer's* server id, and syncprov then withholds the changes
// made on that server (loop prevention between providers).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ward::ldap {

class SyncCookie {
 public:
  // Merges a cookie as the server sent it; false (nothing merged) when it holds no CSN.
  bool merge(std::string_view server_cookie);
  bool empty() const { return csns_.empty(); }
  // "rid=000,csn=<csn>;<csn>" (server ids ascending), or "" when empty: what start_sync takes.
  std::string to_string() const;
  // Parses what to_string() wrote (for a cookie kept across restarts); nullopt when it is not one.
  static std::optional<SyncCookie> parse(std::string_view text);

  friend bool operator==(const SyncCookie&, const SyncCookie&) = default;

 private:
  std::map<std::string, std::string> csns_;  // server id (3 hex digits as in the CSN) -> CSN
};

// The server id field of a CSN ("...#000000#002#000000" -> "002"); empty when malformed.
std::string csn_server_id(std::string_view csn);

}  // namespace ward::ldap
