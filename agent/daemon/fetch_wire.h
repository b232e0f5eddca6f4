// The messages between wardd and its directory fetcher (fetch_process.h, fetch_child.h), on the
// privsep Channel, encoded by the IKE process's table-driven codec (agent/ikeproc/codec.h): one
// Wire<T> description per body, read by both encode() and the strict decode<T>().
//
//   message       kind   direction       body
//   kConfigure    note   wardd -> child  FetchConfig: where and how to bind, whom to scope
//   kFetch        call   wardd -> child  FetchRequest (host addresses, the Kerberos ticket)
//                                        -> FetchAnswerSize: the encoded FetchAnswer's length
//   kAnswerPart   call   wardd -> child  AnswerPartRequest -> the next bytes of the FetchAnswer
//   kReady        note   child -> wardd  "ok" once sandboxed, else "error: why"
//   kKeep         call   wardd -> child  KeepRequest: a fresh TGT (Gssapi) for the watch's reconnects,
//                                        and a liveness check (a hung child is killed) -> empty
//   kWatch        note   wardd -> child  WatchStart: start the change watch (change_watcher.h)
//   kWatchChange  note   child -> wardd  WatchChange: refresh now (why, the DNs in scope that changed)
//   kWatchLog     note   child -> wardd  LogEvent: one of the watch's events (wardd logs known names)
//
// The change watch (kWatch..kWatchLog) runs in the child on a thread of its own, on the connection
// its fetches use: wardd reads nothing from the directory, it only learns "refresh now" and why.
// Its sync cookie stays in the child (as in wardd before: in memory only); a new child's first
// establishment refreshes once, which covers what changed while no watch ran.
//
// Why parts: a policy's JSON can exceed a message (privsep::kMaxBody, 64 KiB). wardd pulls the
// answer in parts of at most kAnswerPartBytes, each checked against the announced size, which is
// bounded by kMaxAnswerBytes before anything is kept: a child cannot make wardd allocate more, and
// no descriptor of the child's (a memfd it could still write) is ever read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/daemon/policy_source.h"
#include "agent/ikeproc/codec.h"
#include "agent/privsep/channel.h"

namespace ward::agent::daemon::fetchproc {

enum Message : std::uint32_t {
  kConfigure = 200,
  kFetch,
  kAnswerPart,
  kReady,
  kKeep,
  kWatch,
  kWatchChange,
  kWatchLog,
};

inline constexpr std::size_t kAnswerPartBytes = privsep::kMaxBody - 64;   // call id and reply header
inline constexpr std::uint32_t kMaxAnswerBytes = 32u * 1024 * 1024;
inline constexpr std::size_t kMaxLogEvents = 256;
// DNs named by one kWatchChange (more are counted in more_dns).
inline constexpr std::size_t kMaxWatchDns = 32;

enum class BindKind : std::uint8_t { Anonymous, Simple, Gssapi };

struct FetchConfig {
  std::vector<std::string> uris;
  bool start_tls = false;
  std::string ca_file;   // a public CA bundle: read by the child
  BindKind bind = BindKind::Anonymous;
  std::string bind_dn;                   // Simple
  driver::crypto::SecureBytes password;  // Simple: wardd reads the root-only password file
  std::string principal;                 // Gssapi: the ticket's client; wardd keeps the keytab
  std::string domain_dn;
  std::string computer_dn;
  std::string computer_account;
  std::optional<std::string> site_dn;
  std::chrono::milliseconds network_timeout{0};
  std::chrono::milliseconds operation_timeout{0};
};

struct FetchRequest {
  std::uint64_t serial = 0;
  std::vector<IpAddress> addresses;   // for the site from subnets (the child cannot list them: no netlink)
  std::optional<driver::crypto::SecureBytes> ticket;   // Gssapi: the TGT, krb5_marshal_credentials
  std::string ticket_error;                            // why wardd has no ticket this time
};

struct FetchAnswerSize {
  std::uint64_t serial = 0;
  std::uint32_t size = 0;
};

struct AnswerPartRequest {
  std::uint64_t serial = 0;
  std::uint32_t offset = 0;
};

enum class Outcome : std::uint8_t { Policy, Unavailable, Invalid, NotAssigned };

struct LogPair {
  std::string key;
  std::string value;
};
struct LogEvent {
  config::LogLevel level = config::LogLevel::Info;
  std::string event;
  std::vector<LogPair> fields;
};

struct FetchAnswer {
  std::uint64_t serial = 0;
  Outcome outcome = Outcome::Unavailable;
  std::string policy_json;   // Policy: policy_to_json, secrets included (wardd parses and validates it)
  cache::PolicySource source;
  ScopeReport report;
  std::string message;
  std::vector<model::Problem> problems;
  std::vector<LogEvent> log;   // the fetch's events, logged again by wardd
};

struct KeepRequest {
  std::optional<driver::crypto::SecureBytes> ticket;   // Gssapi: a fresh TGT, krb5_marshal_credentials
};

struct WatchStart {
  std::chrono::milliseconds debounce{0};
  std::chrono::milliseconds jitter{0};
};

// Why the watch asks for a refresh (ChangeWatcher's trigger reasons).
enum class WatchReason : std::uint8_t { Change, Established, Lost, Retry };

struct WatchChange {
  WatchReason reason = WatchReason::Change;
  std::vector<std::string> dns;   // Change: the entries in scope that changed, at most kMaxWatchDns
  std::uint32_t more_dns = 0;     // and how many more
};

}  // namespace ward::agent::daemon::fetchproc

namespace ward::agent::ikeproc {

#define WARD_WIRE(member) io(#member, v.member)

template <>
struct Wire<daemon::fetchproc::BindKind> {
  static constexpr auto last = daemon::fetchproc::BindKind::Gssapi;
};
template <>
struct Wire<daemon::fetchproc::Outcome> {
  static constexpr auto last = daemon::fetchproc::Outcome::NotAssigned;
};
template <>
struct Wire<daemon::fetchproc::WatchReason> {
  static constexpr auto last = daemon::fetchproc::WatchReason::Retry;
};
template <>
struct Wire<config::LogLevel> {
  static constexpr auto last = config::LogLevel::Debug;
};
template <>
struct Wire<model::Severity> {
  static constexpr auto last = model::Severity::Warning;
};
template <>
struct Wire<daemon::fetchproc::FetchConfig> {
  static constexpr const char* name = "fetch config";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(uris), WARD_WIRE(start_tls), WARD_WIRE(ca_file), WARD_WIRE(bind), WARD_WIRE(bind_dn), WARD_WIRE(password);
    WARD_WIRE(principal), WARD_WIRE(domain_dn), WARD_WIRE(computer_dn), WARD_WIRE(computer_account), WARD_WIRE(site_dn);
    WARD_WIRE(network_timeout), WARD_WIRE(operation_timeout);
  }
};
template <>
struct Wire<daemon::fetchproc::FetchRequest> {
  static constexpr const char* name = "fetch request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(serial), WARD_WIRE(addresses), WARD_WIRE(ticket), WARD_WIRE(ticket_error);
  }
};
template <>
struct Wire<daemon::fetchproc::FetchAnswerSize> {
  static constexpr const char* name = "fetch answer size";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(serial), WARD_WIRE(size);
  }
};
template <>
struct Wire<daemon::fetchproc::AnswerPartRequest> {
  static constexpr const char* name = "answer part request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(serial), WARD_WIRE(offset);
  }
};
template <>
struct Wire<daemon::fetchproc::LogPair> {
  static constexpr const char* name = "log field";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(key), WARD_WIRE(value);
  }
};
template <>
struct Wire<daemon::fetchproc::LogEvent> {
  static constexpr const char* name = "log event";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(level), WARD_WIRE(event), WARD_WIRE(fields);
  }
};
template <>
struct Wire<cache::PolicySource> {
  static constexpr const char* name = "policy source";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(policy_dn), WARD_WIRE(gpo_dn), WARD_WIRE(gpo_name), WARD_WIRE(som_dn), WARD_WIRE(change_stamp);
  }
};
template <>
struct Wire<daemon::GpoReport> {
  static constexpr const char* name = "GPO report";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(name), WARD_WIRE(dn), WARD_WIRE(som_dn), WARD_WIRE(applied), WARD_WIRE(note);
  }
};
template <>
struct Wire<daemon::ScopeReport> {
  static constexpr const char* name = "scope report";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(directory), WARD_WIRE(computer_dn), WARD_WIRE(account), WARD_WIRE(site_dn), WARD_WIRE(site_from);
    WARD_WIRE(gpos), WARD_WIRE(round_trips);
  }
};
template <>
struct Wire<model::Problem> {
  static constexpr const char* name = "problem";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(severity), WARD_WIRE(object), WARD_WIRE(field), WARD_WIRE(message);
  }
};
template <>
struct Wire<daemon::fetchproc::FetchAnswer> {
  static constexpr const char* name = "fetch answer";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(serial), WARD_WIRE(outcome), WARD_WIRE(policy_json), WARD_WIRE(source), WARD_WIRE(report);
    WARD_WIRE(message), WARD_WIRE(problems), WARD_WIRE(log);
  }
};

template <>
struct Wire<daemon::fetchproc::KeepRequest> {
  static constexpr const char* name = "keep request";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(ticket);
  }
};
template <>
struct Wire<daemon::fetchproc::WatchStart> {
  static constexpr const char* name = "watch start";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(debounce), WARD_WIRE(jitter);
  }
};
template <>
struct Wire<daemon::fetchproc::WatchChange> {
  static constexpr const char* name = "watch change";
  template <class Io, class V>
  static void fields(Io& io, V& v) {
    WARD_WIRE(reason), WARD_WIRE(dns), WARD_WIRE(more_dns);
  }
};

#undef WARD_WIRE

}  // namespace ward::agent::ikeproc
