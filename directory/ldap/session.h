// Session: one authenticated LDAP connection (libldap), chosen from a list of directory URIs.
//
// connect() tries the URIs in order: for each it sets up TLS (StartTLS or ldaps://, CA
// verification required), binds (anonymous, simple, or SASL/GSSAPI from a host keytab) and
// stops at the first server that accepts; servers that cannot be reached or refuse the bind
// are skipped and remembered in failed_attempts(). A wrong password (invalidCredentials) ends
// the walk instead: every replica would refuse it too, and retrying can lock the account.
// Every request/response exchange with a server counts as one round trip (round_trips()),
// so callers can report "LDAP round trips per fetch". Nothing here throws or logs; the bind
// password is a Secret and never appears in an error.
//
// Thread-safe: one connection may serve a change watch (an outstanding sync search, polled with
// poll_sync) and policy reads from another thread at once. Each operation holds the session for
// its duration; poll_sync never waits for it (they say `busy` instead), so a
// watcher is never held up by a fetch and reads what the fetch left queued once it is done.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/expected.h"
#include "directory/ldap/entry.h"
#include "directory/ldap/ldap_error.h"
#include "directory/ldap/root_dse.h"
#include "directory/model/secret.h"

namespace ward::ldap {

struct AnonymousBind {};
struct SimpleBind {
  std::string dn;
  model::Secret password;
};
// SASL/GSSAPI with a ticket obtained from `keytab` for `client_principal` into a private
// memory ccache (KRB5_CONFIG decides the realm's KDCs). The service principal is
// ldap/<host of the URI> (no DNS canonicalisation).
// An empty `keytab` uses the caller's own tickets instead: the default credential cache
// (KRB5CCNAME, or the user's ccache after `kinit`); `client_principal` is then optional and,
// if given, must be the cache's principal. No ticket there fails before any LDAP traffic
// ("no Kerberos ticket in the default credential cache: run kinit").
// `ccache` set (no keytab): a ccache the caller filled ("MEMORY:..."), e.g. with a ticket another
// process obtained (wardd's directory fetcher, which must not read the keytab).
struct GssapiBind {
  std::string keytab;            // "FILE:/etc/krb5.keytab" or a path; empty: default ccache
  std::string client_principal;  // e.g. "host/h.example.com@EXAMPLE.COM"; optional without keytab
  std::string ccache{};          // used instead of the keytab when set
};
using BindCredentials = std::variant<AnonymousBind, SimpleBind, GssapiBind>;

enum class TlsMode {
  kNone,      // plain LDAP unless the URI is ldaps://
  kStartTls,  // ldap:// URIs are upgraded with StartTLS before the bind (refused if it fails)
};

// TCP keepalive on every connection: a server or network that vanishes without a reset (power
// loss, a partition) is found after idle + interval x probes of silence, not after the kernel's
// two hours; a change watch sits idle for hours, so it needs this. TCP_USER_TIMEOUT (the same
// span) ends a connection whose sent data stays unacknowledged. Zero idle leaves the kernel's.
struct KeepaliveOptions {
  std::chrono::seconds idle{30};
  std::chrono::seconds interval{10};
  int probes = 3;
  std::chrono::milliseconds span() const { return idle + interval * probes; }
};

struct SessionOptions {
  std::vector<std::string> uris;  // tried in order, e.g. {"ldap://dc1:389", "ldaps://dc2:636"}
  // The walk starts at this index and wraps around, so a host stays with the server that last
  // worked instead of knocking at a dead first one on every reconnect.
  std::size_t first_uri = 0;
  KeepaliveOptions keepalive;
  BindCredentials bind = AnonymousBind{};
  TlsMode tls = TlsMode::kNone;
  // PEM CA bundle the server certificate must chain to (StartTLS and ldaps://). Required then.
  std::string ca_file;
  std::chrono::milliseconds network_timeout{5000};     // TCP connect per URI
  std::chrono::milliseconds operation_timeout{15000};  // each request's wait for its response
};

enum class Scope { kBase, kOneLevel, kSubtree };

struct SearchRequest {
  std::string base;
  Scope scope = Scope::kSubtree;
  std::string filter = "(objectClass=*)";
  std::vector<std::string> attributes;  // empty: all user attributes
  // > 0: RFC 2696 paged results with this page size; each page is one round trip.
  std::uint32_t page_size = 0;
  // > 0: AD's LDAP_SERVER_SD_FLAGS_OID control asking for these parts of nTSecurityDescriptor
  // (1 owner, 2 group, 4 DACL, 8 SACL); without it AD asks for the SACL too, which needs a
  // privilege a computer does not have, and then returns no descriptor at all.
  std::uint32_t sd_flags = 0;
};

// RFC 4533 content synchronization (syncrepl) in refreshAndPersist mode, used as a change
// notification: the server first sends the current content (reported as one kRefreshDone), then
// keeps the search open and sends every later add, modify, rename or delete of an entry in
// scope (each reported as kChange with the entry's DN; deletes in ID sets as an empty DN).
inline constexpr const char* kSyncRequestControlOid = "1.3.6.1.4.1.4203.1.9.1.1";

struct SyncWatchRequest {
  std::string base;
  Scope scope = Scope::kSubtree;
  std::string filter = "(objectClass=*)";
  // How often `keep_going` is asked while nothing arrives (sync_persist only).
  std::chrono::milliseconds poll_interval{100};
  // Returned with every entry by start_sync; empty: none ("1.1", DNs only).
  std::vector<std::string> attributes = {};
};

enum class SyncEvent { kRefreshDone, kChange };

// RFC 4533's syncStateValue states.
enum class SyncState { kPresent, kAdd, kModify, kDelete };

// One message of a sync search, as poll_sync reads it.
struct SyncMessage {
  enum class Kind {
    kEntry,        // an entry with its Sync State control
    kIdSet,        // a syncIdSet: entries named by entryUUID only
    kRefreshDone,  // the refresh phase is over; persist phase from now on
    kCookie,       // a new cookie alone (syncInfo newcookie, or a refresh phase step)
  };
  Kind kind = Kind::kEntry;
  bool refreshing = false;        // it arrived in the refresh phase
  SyncState state = SyncState::kAdd;  // kEntry
  Entry entry;                    // kEntry: the DN and the requested attributes (none for deletes)
  std::string uuid;               // kEntry: entryUUID, 16 raw bytes
  std::vector<std::string> uuids; // kIdSet: 16 raw bytes each
  bool deletes = false;           // kIdSet: refreshDeletes (these are gone) or not (present)
  // kRefreshDone: the refresh ended with refreshPresent: entries the client was not told are
  // present have been deleted (a present phase; without a session log the server cannot say which).
  bool present_phase = false;
  std::optional<std::string> cookie;  // the server's cookie, when it sent one with this message
};

// What poll_sync read without waiting.
struct PollResult {
  bool busy = false;     // another operation held the session: nothing read, ask again after it
  bool more = false;     // stopped at the batch limit: more may be waiting already
  std::vector<SyncMessage> messages;
};

// Active Directory change notification (LDAP_SERVER_NOTIFICATION_OID, 1.2.840.113556.1.4.528):
// searches that stay open and return an entry each time an object in their scope changes
// (added, modified, moved; deletions arrive as a move to Deleted Objects, when readable). AD takes
// only (objectClass=*) as filter, base or one-level scope, or subtree at a naming context's head,
// and at most MaxNotificationPerConn (default 5) such searches per connection, so callers filter
// what they get on the client.
struct NotifyWatch {
  std::string base;
  Scope scope = Scope::kSubtree;
};
struct NotifyWatchRequest {
  std::vector<NotifyWatch> watches;   // one search each, all on this connection (at most 5)
  std::vector<std::string> attributes{"objectClass"};  // returned with each changed entry
  std::chrono::milliseconds poll_interval{100};
};

// A request control sent with a search or a modify, e.g. Active Directory's SD flags control.
struct RequestControl {
  std::string oid;
  std::string value;  // BER-encoded control value (may be empty)
  bool critical = true;
};

struct Attribute {
  std::string name;
  std::vector<std::string> values;
};

struct Modification {
  enum class Op { kAdd, kReplace, kDelete };
  Op op = Op::kReplace;
  std::string attribute;
  std::vector<std::string> values;  // kDelete with no values removes the attribute
};

class Session {
 public:
  static Expected<std::unique_ptr<Session>, LdapError> connect(const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& uri() const { return uri_; }              // the URI that worked
  std::size_t uri_index() const { return uri_index_; }         // its position in options.uris
  const std::vector<LdapError>& failed_attempts() const { return failed_; }  // skipped URIs
  std::uint64_t round_trips() const { return round_trips_.load(); }   // includes the connect's
  // Bytes on the wire (TLS or SASL-wrapped as sent), connect and bind included.
  std::uint64_t bytes_received() const;
  std::uint64_t bytes_sent() const;
  // The connection's socket (for poll/epoll), or -1.
  int descriptor() const;
  // True once an operation found the connection unusable (server gone, reset, timed out): the
  // caller should drop it and connect again.
  bool broken() const { return broken_.load(); }
  // A number no other session of this process has: tells connections apart after a reconnect.
  std::uint64_t id() const { return id_; }

  Expected<std::vector<Entry>, LdapError> search(const SearchRequest& request);
  // The same with request controls (sent with every page).
  Expected<std::vector<Entry>, LdapError> search(const SearchRequest& request, const std::vector<RequestControl>& controls);
  Expected<void, LdapError> add(std::string_view dn, const std::vector<Attribute>& attributes);
  Expected<void, LdapError> modify(std::string_view dn, const std::vector<Modification>& modifications);
  Expected<void, LdapError> modify(std::string_view dn, const std::vector<Modification>& modifications,
                                   const std::vector<RequestControl>& controls);
  Expected<void, LdapError> remove(std::string_view dn);
  // RFC 4532 "Who am I?": the authorization identity, e.g. "dn:cn=h,ou=Computers,dc=x".
  Expected<std::string, LdapError> whoami();

  // Whether `dn` exists and this account may read it (one base search for its objectClass).
  // Active Directory tells "cannot read" apart from "does not exist" only this way: a base search
  // returns the entry with no attributes when it exists unreadable (and noSuchObject when it
  // does not), while one-level or subtree searches that filter on an unreadable attribute drop
  // the entry silently.
  enum class EntryAccess { kMissing, kUnreadable, kReadable };
  Expected<EntryAccess, LdapError> probe(const std::string& dn);

  // The root DSE (one round trip the first time; kept for the session's life).
  Expected<RootDse, LdapError> root_dse();
  // Whether the root DSE lists `oid` in supportedControl.
  Expected<bool, LdapError> supports_control(std::string_view oid);
  // Runs a refreshAndPersist sync search (sync_watch.cpp). `on_event` is called for each event on
  // the calling thread; `keep_going` at least every poll_interval. Returns normally once
  // keep_going() says false (the search is abandoned); otherwise an error when the connection
  // breaks or the server ends or refuses the search (e.g. no syncprov: unavailableCriticalExtension).
  Expected<void, LdapError> sync_persist(const SyncWatchRequest& request,
                                         const std::function<void(SyncEvent, std::string_view dn)>& on_event,
                                         const std::function<bool()>& keep_going);

  // Runs AD change-notification searches (ad_notify.cpp). `on_change` gets each changed entry
  // on the calling thread; `on_established` once, when every search was accepted (AD answers a
  // refused one at once: e.g. "000020B9: Search filter too complex", or unwillingToPerform past
  // MaxNotificationPerConn). Returns normally once keep_going() says false; otherwise an error
  // when the connection breaks or the server ends a search.
  Expected<void, LdapError> notify_persist(const NotifyWatchRequest& request,
                                           const std::function<void(const Entry&)>& on_change,
                                           const std::function<void()>& on_established,
                                           const std::function<bool()>& keep_going);

  // The same as sync_persist, without waiting (sync_watch.cpp): start_sync sends the search
  // (refreshAndPersist; `cookie` as the server gave it or as SyncCookie::to_string() wrote it,
  // empty for none: the refresh phase then sends every entry in scope) and returns its message
  // id; poll_sync reads what has arrived for it, up to `max_messages`, never blocking: `busy`
  // when another operation holds the session (ask again after it). An error when the
  // connection broke or the server ended the search; a stale cookie is
  // LDAP_SYNC_REFRESH_REQUIRED (kSyncRefreshRequired): start again without one.
  Expected<int, LdapError> start_sync(const SyncWatchRequest& request, std::string_view cookie);
  Expected<PollResult, LdapError> poll_sync(int msgid, std::size_t max_messages = 1000);
  // Abandons an outstanding search (best effort, no answer expected).
  void abandon(int msgid);

  struct Handle;  // libldap's LDAP*, owned with ldap_unbind_ext_s as deleter

 private:
  Session(std::unique_ptr<Handle> handle, std::string uri, std::size_t index, std::vector<LdapError> failed,
          std::uint64_t round_trips, std::chrono::milliseconds operation_timeout);
  // Marks the session broken when `rc` says the connection is unusable.
  void note_result(int rc);

  std::unique_ptr<Handle> handle_;
  std::string uri_;
  std::size_t uri_index_ = 0;
  std::vector<LdapError> failed_;
  std::atomic<std::uint64_t> round_trips_{0};
  std::atomic<bool> broken_{false};
  bool refreshing_ = true;  // the sync search of start_sync is still in its refresh phase
  std::uint64_t id_ = 0;
  std::chrono::milliseconds operation_timeout_;
  std::optional<RootDse> root_dse_;
  // Held by every operation on the connection (recursive: probe and root_dse search).
  mutable std::recursive_mutex mutex_;
};

// LDAP_SYNC_REFRESH_REQUIRED (RFC 4533 e-syncRefreshRequired): the server cannot resume from the
// cookie given.
inline constexpr int kSyncRefreshRequired = 4096;

}  // namespace ward::ldap
