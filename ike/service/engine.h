// The IKE service's engine: everything its event thread owns (ike_service.h is the service: the
// socket, the thread, the commands posted to it). One class, its members defined by exchange,
// as strongSwan's tasks and iked's per-exchange functions are:
//
//   engine.cpp                 datagrams in and out, routing by exchange type, finding the main
//                              mode for a peer, NAT-T keepalives, timers and sweeping
//   engine_main_mode.cpp       main mode: responder (embryonic table, promotion at main mode 3),
//                              initiator, failure, fallback to clear
//   engine_quick_mode.cpp      quick mode: initiator (outbound SA after message 3), responder
//                              (default response), what an exchange that is done records
//   engine_informational.cpp   informationals: DELETE, refusals sent and received (refusal.h)
//   engine_dpd.cpp             dead peer detection (RFC 3706)
//   engine_ikev2_liveness.cpp  IKEv2 liveness checks (RFC 7296 2.4) on the same detectors
//   engine_ikev2_cookie.cpp    the IKEv2 responder's COOKIE under load (RFC 7296 2.6)
//   engine_acquire.cpp         acquires, SA expiry (rekey), phase 1 renewal, filters going away,
//                              shutdown
//   engine_snapshot.cpp        what snapshot() shows (`wardctl show sa`)
//   engine_ikev2.cpp           IKEv2 (ikev2_sa.h): datagrams of version 2, initiating with the
//                              version [ike] version says and falling back to IKEv1, the
//                              responder, CHILD_SAs installed and deleted, IKE SAs ending
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ike/service/dead_peer_detection.h"
#include "ike/service/dpd_sampler.h"
#include "ike/service/embryonic_table.h"
#include "ike/service/ike_service.h"
#include "ike/service/ikev2_cookies.h"
#include "ike/service/ikev2_sa.h"
#include "ike/service/install_decorators.h"
#include "ike/service/refusal.h"
#include "ike/service/responder_cookies.h"

namespace ward::ike::service {

using sa::TimePoint;

inline constexpr std::chrono::milliseconds kMaxPollWait{1000};
inline constexpr std::size_t kMaxDatagramsPerWake = 64;
// The dataplane asks again every 250 ms while a held flow's packets keep coming
// (driver::EngineOptions::reacquire_interval).
inline constexpr std::chrono::milliseconds kKnockInterval{250};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
  bool nat_t = false;   // on the NAT-T socket, each message behind the non-ESP marker
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Log lines about unauthenticated input: the 1st, 2nd, 4th, 8th... occurrence only.
inline bool worth_logging(std::uint64_t count) noexcept { return std::has_single_bit(count); }

inline std::string hex32(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(v >> shift) & 0xf]);
  return out;
}

// Everything the event thread owns. Only that thread calls its members, except snapshot().
class IkeService::Engine {
 public:
  Engine(const IkeServiceOptions& options, net::UdpSocket socket, driver::Dataplane& dataplane,
         const PolicyLookup& policy, IkeListener& listener)
      : options_(options),
        socket_(std::move(socket)),
        dataplane_(dataplane),
        policy_(policy),
        listener_(listener),
        refusal_limiter_(options.refusals_per_second, options.refusal_burst),
        cookies_(options.clock),
        ikev2_cookies_(options.clock),
        embryonic_(options.embryonic),
        dpd_sampler_(options.dpd.sample) {}

  int socket_fd() const noexcept { return socket_.native_handle(); }
  int nat_socket_fd() const noexcept { return nat_socket_ ? nat_socket_->native_handle() : -1; }
  void set_nat_socket(net::UdpSocket socket) { nat_socket_.emplace(std::move(socket)); }
  void receive_nat_t();
  TimePoint now() const { return options_.clock(); }

  void receive_all();
  void initiate(const driver::Acquire& acquire);
  // Traffic asks again for a negotiation whose main mode 1 the peer has not answered (a peer that
  // was dead may be back): message 1 goes again now, at most every kKnockInterval, besides the
  // retransmissions' back-off (1, 2, 4, 8 s...), so a returning peer answers within that interval.
  void knock_again(const IpAddress& peer, TimePoint t);
  // Starts a quick mode for `acquire` (and a main mode if none is usable); `known` skips the
  // policy lookup (a rekey reuses the SA's policy).
  void negotiate(const driver::Acquire& acquire, std::optional<QuickModePolicy> known);
  void expiry(const driver::SaExpiry& expiry);
  void retain(const std::vector<std::uint32_t>& live);
  void shutdown();
  void timers();
  void sweep();
  std::optional<TimePoint> next_due() const;
  // Publishes what snapshot() shows: the lists only when changed() was called since (the
  // counters whenever they moved), so an event loop turn that changed nothing costs a comparison.
  void publish();
  IkeSnapshot snapshot() const;

 private:
  struct PendingQuickMode {
    QuickModePolicy policy;
    TimePoint requested{};    // the acquire: the fallback delay counts from it
    bool fell_back = false;   // a soft association covers the flow meanwhile
  };
  struct MainMode {
    std::uint64_t id = 0;
    std::shared_ptr<const auth::AuthProvider> auth;   // declared before sa: outlives it
    std::unique_ptr<sa::Phase1Sa> sa;
    Endpoint peer;
    TimePoint created{};
    std::optional<TimePoint> expires;
    std::optional<TimePoint> renew_at;   // established: when its successor is negotiated (phase1_renewal.h)
    std::vector<std::byte> first_message, first_reply;   // responder: answers a resent message 1
    std::vector<PendingQuickMode> pending;
    std::uint64_t undecryptable = 0;
    std::optional<TimePoint> next_keepalive;   // floated, this host behind the NAT
    bool reported = false;
    bool dead = false;
    std::optional<DeadPeerDetector> dpd;   // the peer announced DPD (RFC 3706)
    std::uint32_t quick_mode_limit = 0;    // Phase1Policy::quick_mode_limit
    std::uint32_t quick_modes_established = 0;
    std::string refused_by_peer;   // the peer's refusal of this (established) main mode, until its DELETE
    FailureKind refused_kind = FailureKind::Other;
    bool sent = false;             // message 1 went out (initiator)
    bool peer_answered = false;    // anything came back: no fallback to clear any more
    std::optional<TimePoint> knocked;   // message 1 last sent again for an acquire (knock_again)
    std::uint64_t knocks = 0;
  };
  struct Exchange {
    MainMode* main_mode = nullptr;
    // Initiators only: what `qm` installs through (declared first: it outlives `qm`).
    std::unique_ptr<OutboundAfterMessage3> installer;
    // Default response responders only: likewise.
    std::unique_ptr<DefaultResponseInstaller> default_response;
    std::unique_ptr<sa::QuickModeExchange> qm;
    auth::Role role = auth::Role::Initiator;
    QuickModePolicy policy;
    std::optional<TimePoint> linger_until;
    std::optional<TimePoint> release_outbound_at;   // initiator: message 3 sent, outbound SA waiting
    bool reported = false;
    bool dead = false;
  };
  struct QuickModeSa {
    Endpoint peer;
    auth::Role role = auth::Role::Initiator;
    QuickModePolicy policy;
    std::uint32_t inbound_spi = 0;       // the dataplane's names (QuickModeExchange::inbound_spi)
    std::uint32_t outbound_spi = 0;
    std::uint32_t inbound_ah_spi = 0;    // AH+ESP bundle: the AH SPIs
    std::uint32_t outbound_ah_spi = 0;
    sa::ProtectionSuite chosen;
    std::string auth_method;
    TimePoint established{};
    TimePoint expires{};
    bool rekeying = false;
    unsigned ike_version = 1;
    std::uint64_t ikev2_id = 0;   // IKEv2: the IKE SA (Ikev2Entry::id) the CHILD_SA belongs to
  };
  // An IKEv2 IKE SA (engine_ikev2.cpp); its one CHILD_SA is a QuickModeSa in sas_.
  struct Ikev2Entry {
    std::uint64_t id = 0;
    std::shared_ptr<const auth::AuthProvider> auth;   // the preshared key or the certificate
    std::unique_ptr<Ikev2Sa> sa;
    Endpoint peer;
    QuickModePolicy policy;                 // the CHILD_SA's (initiator: the acquire's)
    std::optional<driver::Acquire> acquire; // initiator: what IKEv1 negotiates on a fallback
    std::chrono::seconds lifetime{0};       // the phase 1 policy's
    std::optional<TimePoint> expires;       // established: the IKE SA's lifetime ends
    std::optional<TimePoint> rekey_at;      // established: when we rekey it (phase1_renewal.h's time)
    bool reported = false;                  // established was emitted
    bool dead = false;
    // Established, with options.dpd.enabled: when to check the peer's liveness (engine_dpd.cpp).
    std::optional<DeadPeerDetector> dpd;
    // Further CHILD_SAs of ours under way in this IKE SA (engine_ikev2_child.cpp), by filter.
    std::map<std::uint32_t, QuickModePolicy> adding;
    bool refuses_further_children = false;   // the peer refused one: new IKE SAs for other filters
    std::uint32_t quick_mode_limit = 0;       // initiator: Phase1Policy::quick_mode_limit
    std::uint32_t children_established = 0;   // CHILD_SAs established in it, rekeys included
    bool deleting = false;                    // spent: our DELETE is out, it takes no new CHILD_SA
  };
  struct Published {
    std::vector<MainModeSaInfo> main_modes;
    std::vector<std::optional<TimePoint>> main_mode_expiry;
    std::vector<QuickModeSaInfo> quick_modes;
    std::vector<TimePoint> quick_mode_expiry;
    std::vector<QuickModeNegotiation> negotiating;
    std::vector<std::pair<NegotiationFailure, TimePoint>> failures;
    IkeCounters counters;
    std::uint64_t version = 0;
  };

  // Something snapshot() shows changed (an SA, a negotiation, a main mode's state or address):
  // the next publish() builds the lists anew.
  void changed() noexcept { changed_ = true; }
  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }
  void send(const Endpoint& to, std::span<const std::byte> bytes);
  // The snapshot is published first, so a listener that looks sees what the event says.
  void emit(const IkeEvent& event) {
    // A refused main mode 1 (its address may be forged) changed no state and is kept out of the
    // recent failures, which a flood would otherwise fill.
    if (event.unverified) {
      listener_.on_ike_event(event);
      return;
    }
    if (event.kind == IkeEvent::Kind::MainModeFailed || event.kind == IkeEvent::Kind::QuickModeFailed) remember_failure(event);
    changed();
    publish();
    listener_.on_ike_event(event);
  }
  void remember_failure(const IkeEvent& event) {
    NegotiationFailure failure{event.peer, event.role, event.kind == IkeEvent::Kind::MainModeFailed, event.filter_id, event.failure,
                               event.reason, {}};
    failures_.emplace_back(std::move(failure), now());
    while (failures_.size() > kRecentFailuresKept) failures_.pop_front();
  }
  std::string auth_name(const MainMode& mm) const { return mm.auth ? std::string(mm.auth->name()) : std::string(); }

  // A new main mode (initiator) with `peer`, or the reason there is none; `filter_id` as for
  // PolicyLookup::phase1_for.
  Expected<MainMode*, std::string> start_main_mode(const IpAddress& peer, std::optional<std::uint32_t> filter_id,
                                                   std::vector<PendingQuickMode> pending);
  // Phase 1 renewal (phase1_renewal.h): `mm` is near its end; negotiate its successor.
  void renew(MainMode& mm);
  void on_datagram(const net::Datagram& datagram, bool nat_t = false);
  void on_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  // Main mode 1: answered from the cookie secret, remembered only in the embryonic table.
  void respond_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const Cookie& responder_cookie);
  // Main mode 3 brought an embryonic entry's cookie back: a real responder from here on.
  void promote(const Endpoint& from, std::span<const std::byte> bytes, const EmbryonicMainMode& entry);
  struct Responder {
    Phase1Policy policy;
    std::shared_ptr<const auth::AuthProvider> provider;
  };
  // The policy for a main mode 1 from `from` and the first of our methods it offers; on failure
  // the event to emit (not yet emitted).
  Expected<Responder, IkeEvent> responder_for(const Endpoint& from, std::span<const std::byte> message_1);
  void drive_main_mode(MainMode& mm, std::span<const std::byte> bytes);
  void after_main_mode_step(MainMode& mm, std::string extra_reason = {}, std::optional<FailureKind> kind = std::nullopt);
  // `kind` unset: no response when the peer never answered our message 1, else what the reason's
  // RFC 2408 type says.
  // `error.notify` names the failure kind when `kind` does not (the peer was told it, or told us).
  void fail_main_mode(MainMode& mm, const IkeError& error, std::optional<FailureKind> kind = std::nullopt);
  // Fallback to clear (QuickModePolicy::fallback_to_clear): soft associations for the quick modes
  // waiting on a main mode the peer has not answered; `all`: whatever their delay (it failed).
  void fall_back_to_clear(MainMode& mm, TimePoint t, bool all);
  void on_quick_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  void on_informational(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  void start_quick_mode(MainMode& mm, QuickModePolicy policy);
  void after_quick_mode_step(Exchange& ex, std::optional<FailureKind> kind = std::nullopt);
  void abandon(Exchange& ex);
  // `rekeyed`: a successor carries the traffic; the inbound SA stays rekeyed_inbound_linger longer.
  void delete_pair(std::size_t index, const std::string& reason, bool notify, bool rekeyed = false);
  void delete_lingering_inbound(TimePoint t, bool all);
  // Master key PFS: a main mode we initiated that reached its quick mode limit serves no further
  // quick mode; once the last IKEv1 SA pair with its peer is gone, it is deleted (ISAKMP DELETE)
  // instead of lingering until its lifetime ends. IKEv2: ikev2_spent.
  void retire_spent_main_modes(const IpAddress& peer);
  // An IKEv2 IKE SA we initiated that has had its quick mode limit of CHILD_SAs, none left and
  // none being added: the next acquire gets a new IKE SA, so it is deleted rather than kept.
  bool ikev2_spent(const Ikev2Entry& entry) const;
  // Installs the outbound SA an initiator's quick mode left waiting after message 3.
  void release_outbound(Exchange& ex);
  void send_informational(MainMode& mm, std::vector<Payload> payloads, const std::string& what);
  // Refusals (refusal.h): telling the peer why, and acting on the peer's.
  bool may_refuse(const IpAddress& peer, NotifyMessageType type);
  void refuse_main_mode(const Endpoint& to, const Cookie& initiator_cookie, NotifyMessageType type);
  // A main mode that failed after the keys were confirmed: N(type) + ISAKMP DELETE under them.
  void refuse_main_mode_under_keys(MainMode& mm, NotifyMessageType type);
  void refuse_quick_mode(MainMode& mm, std::uint32_t message_id, NotifyMessageType type);
  void on_unprotected_informational(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  void on_quick_mode_refusal(MainMode& mm, const Notification& notification);
  // Dead peer detection (dead_peer_detection.h).
  void start_dpd(MainMode& mm);
  void dpd_timers(TimePoint t);
  void on_dpd_notification(MainMode& mm, const Notification& notification);
  void send_dpd(MainMode& mm, NotifyMessageType type, std::uint32_t sequence);
  void peer_dead(MainMode& mm);
  void ikev2_liveness_timers(TimePoint t);
  // The peer left a liveness check (or another request of ours) unanswered: its SAs go.
  void ikev2_peer_dead(Ikev2Entry& entry, const std::string& why);

  // IKEv2 (engine_ikev2.cpp).
  static bool is_ikev2(std::span<const std::byte> bytes) noexcept;
  void on_ikev2(const Endpoint& from, std::span<const std::byte> bytes);
  void respond_ikev2(const Endpoint& from, std::span<const std::byte> bytes);
  void refuse_ikev2_version(const Endpoint& from, std::span<const std::byte> bytes);
  // Under load: true when the request brought a good COOKIE back; otherwise it is answered with
  // one (or dropped: a wrong one, or no parse) and nothing is kept.
  bool ikev2_cookie_passed(const Endpoint& from, std::span<const std::byte> bytes);
  // Starts an IKEv2 IKE SA for `acquire` when [ike] version and the policy allow it; false: use IKEv1.
  bool start_ikev2(const driver::Acquire& acquire, const QuickModePolicy& policy);
  bool wants_ikev2(const IpAddress& peer);
  Ikev2Hooks ikev2_hooks(std::shared_ptr<const auth::AuthProvider> method, const IpAddress& peer, std::uint64_t id);
  void after_ikev2_step(Ikev2Entry& entry, Ikev2Sa::Output out);
  void install_child(Ikev2Entry& entry, const v2::ChildSa& child, std::uint32_t replaces = 0);
  // The IKE SA authenticated: MainModeEstablished (once; wardd's IKE process is then allowed SPIs
  // and SAs for the peer).
  void report_ikev2_established(Ikev2Entry& entry);
  void ikev2_timers(TimePoint t);
  // A soft expiry of an IKEv2 CHILD_SA: rekeyed with CREATE_CHILD_SA in its IKE SA; false when
  // that IKE SA cannot (gone, or its own lifetime over): a new IKE SA then.
  bool rekey_ikev2_child(QuickModeSa& record);
  // Another filter's acquire to a peer with an established IKE SA: a further CHILD_SA in it
  // (CREATE_CHILD_SA) instead of a new IKE SA; false when none can take it.
  bool add_ikev2_child(const driver::Acquire& acquire, const QuickModePolicy& policy);
  // Our further CHILD_SA for `filter_id` failed, or its IKE SA went first: a new IKE SA for it.
  void ikev2_child_not_added(Ikev2Entry& entry, std::uint32_t filter_id, const std::string& why);
  Ikev2Entry* ikev2_by_id(std::uint64_t id);
  std::string ikev2_name(const Ikev2Entry& entry) const;
  void publish_ikev2(std::vector<MainModeSaInfo>& rows, std::vector<std::optional<TimePoint>>& expiry,
                     std::vector<QuickModeNegotiation>& negotiating) const;

  sa::Phase1Config phase1_config(const Phase1Policy& policy, const IpAddress& peer) const;
  sa::QuickModeConfig quick_mode_config(const QuickModePolicy& policy, const MainMode& mm) const;
  void float_if_due(MainMode& mm);
  // NAT-T keepalive (one 0xFF byte) every nat_keepalive_interval, when this host is behind the NAT.
  void nat_keepalive(MainMode& mm, TimePoint t);
  MainMode* main_mode_by_cookies(const IsakmpHeader& h, const IpAddress& from);
  MainMode* usable_main_mode(const IpAddress& peer);
  // usable_main_mode() unless that one reached its quick mode limit (then nullptr: negotiate anew).
  MainMode* main_mode_for_new_quick_mode(const IpAddress& peer);
  std::size_t in_flight(const MainMode& mm) const;
  bool negotiating(const IpAddress& peer, std::uint32_t filter_id) const;

  const IkeServiceOptions& options_;
  net::UdpSocket socket_;
  std::optional<net::UdpSocket> nat_socket_;
  driver::Dataplane& dataplane_;
  const PolicyLookup& policy_;
  IkeListener& listener_;
  std::uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<MainMode>> main_modes_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
  std::vector<QuickModeSa> sas_;
  struct LingeringInbound {
    std::uint32_t spi = 0;
    IpAddress peer;
    TimePoint until{};
  };
  std::vector<LingeringInbound> lingering_inbound_;   // of rekeyed pairs already deleted (delete_pair)
  std::vector<std::unique_ptr<Ikev2Entry>> ikev2_;
  std::map<IpAddress, TimePoint> ikev1_peers_;   // peers that did not speak IKEv2, until when
  std::deque<std::pair<NegotiationFailure, TimePoint>> failures_;
  IkeCounters counters_;
  RefusalLimiter refusal_limiter_;
  ResponderCookies cookies_;
  Ikev2Cookies ikev2_cookies_;   // IKEv2 responder COOKIE under load (engine_ikev2.cpp)
  EmbryonicTable embryonic_;
  DpdSampler dpd_sampler_;

  bool changed_ = true;
  std::uint64_t version_ = 0;
  IkeCounters published_counters_;   // the event thread's copy of published_.counters

  mutable std::mutex published_mutex_;
  Published published_;
};

}  // namespace ward::ike::service
