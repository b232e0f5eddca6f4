// The running IKE service: one UDP socket (and the NAT-T one), one event thread, the exchange
// classes of ike/sa (IKEv1) and the Ikev2Sa state machines (IKEv2, ikev2_sa.h) driven by
// datagrams, acquires and timers; IkeServiceOptions::ike_version picks what acquires start with.
// With IkeServiceOptions::engines > 1, as many of those (an engine, its thread, its sockets on the
// same ports) side by side, each owning the peers whose address hashes to it (ike/net/reuseport.h):
// a peer's datagrams come to its engine's socket, initiate() posts to that engine, the other
// commands go to all; they share nothing but the Dataplane, the PolicyLookup and the listener,
// which are thread-safe already (wardd runs a service per address).
//
//   datagram --> route --+-- main mode (cookie pair; a message 1 with a zero responder cookie
//                        |   makes a responder, within the half-open limits)
//                        +-- quick mode (cookie pair + Message ID; a new one on an established
//                        |   main mode makes a responder, within the per-main-mode limit)
//                        +-- informational (HASH(1)-protected; DELETE removes the named SAs)
//   initiate(acquire) ---> reuse the established main mode to the peer or start one; the quick
//                          modes wait for it; one negotiation per (peer, filter)
//   timers ------------> retransmission with back-off, half-open timeouts, phase 1 lifetimes,
//                        fallback to clear (a peer that never answers main mode gets a soft
//                        association after fallback_delay, when its filter's action allows it)
//
// A quick mode the PolicyLookup answers with the default response rule (no filter covers it)
// installs SAs that bring a dynamic filter for the negotiated traffic (driver::DynamicSelector);
// this host never rekeys those (the initiator does).
//
// What to accept is the caller's: a PolicyLookup answers with auth providers, proposals and the
// filter id, so the service never sees the policy model. Results go to an IkeListener (on the
// event threads); snapshot() is for `show sa` from any thread. Ownership: the service owns the
// socket, the thread and every SA; the Dataplane and the PolicyLookup must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/dataplane.h"
#include "ike/constants.h"
#include "ike/auth/auth_provider.h"
#include "ike/net/udp_socket.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "ike/service/dead_peer_detection.h"
#include "ike/service/helpdesk.h"
#include "ike/service/embryonic_table.h"

namespace ward::ike::service {

// What the policy says about main mode with one peer. The providers are in preference order;
// an initiator offers the first, a responder uses the first whose method the peer offered.
struct Phase1Policy {
  std::vector<std::shared_ptr<const auth::AuthProvider>> auth;
  std::vector<sa::Phase1Proposal> proposals;
  bool allow_legacy = false;
  // The policy's quick mode limit (Windows' QMLimit; master key PFS is 1): after this many quick
  // modes established on a main mode, new ones negotiate a new main mode. 0: unlimited.
  std::uint32_t quick_mode_limit = 0;
};

// What the policy says about one quick mode (one filter).
struct QuickModePolicy {
  std::vector<sa::ProtectionSuite> proposals;   // preference order: ESP, AH or AH+ESP each
  bool allow_legacy = false;                    // 3DES-CBC and HMAC-MD5-96 may be negotiated
  std::optional<IkeGroupDescription> pfs_group;
  std::chrono::seconds lifetime{3600};
  std::uint64_t lifetime_kilobytes = 0;
  sa::TrafficSelector local;    // our side of the filter
  sa::TrafficSelector remote;   // the peer's side
  std::uint32_t filter_id = 0;
  // Tunnel mode: the ESP tunnel runs between our address and this gateway (the main mode peer);
  // local/remote above are then the inner subnets or hosts. Unset: transport mode.
  std::optional<IpAddress> tunnel_endpoint;
  // Responder: no filter covers the peer's quick mode and the policy's default response rule
  // answers it (filter_id is that rule's): the SAs protect a dynamic filter for exactly the
  // negotiated traffic, host to host, and are never rekeyed from this side.
  bool default_response = false;
  // Initiator: the filter action allows "fallback to unsecured communication": if the peer has
  // not answered main mode IkeServiceOptions::fallback_delay after the acquire, the flow gets a
  // soft association (clear) instead of waiting. A peer that answers and then fails gets none.
  bool fallback_to_clear = false;
};

// Why the policy refuses a peer's quick mode: the peer is told `type` (an RFC 2408 3.14.1 error
// type; IKEv2 translates it, ikev2_sa.h child_refusal) and `reason` is logged after the type's
// name. INVALID-ID-INFORMATION: no filter negotiates the IDs; NO-PROPOSAL-CHOSEN: a filter covers
// them but its action has nothing usable to propose. wardd's IKE process gets it from wardd as
// this value (agent/ikeproc/wire.h), never as text to read a type from.
struct PolicyRefusal {
  NotifyMessageType type = NotifyMessageType::InvalidIdInformation;
  std::string reason;

  bool operator==(const PolicyRefusal&) const = default;
};
// "NO-PROPOSAL-CHOSEN: <reason>", as ike::refusal() writes it.
std::ostream& operator<<(std::ostream& out, const PolicyRefusal& refused);

// Supplied by the caller (agent/ikebridge). Called on the event thread; errors are reasons an
// administrator can read ("no rule covers 10.0.0.2").
class PolicyLookup {
 public:
  virtual ~PolicyLookup() = default;
  // Main mode with `peer`; `filter_id` is set when an acquire for that filter starts it.
  virtual Expected<Phase1Policy, std::string> phase1_for(const IpAddress& local, const IpAddress& peer,
                                                         std::optional<std::uint32_t> filter_id) const = 0;
  // Initiator: the quick mode for an acquire.
  virtual Expected<QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire& acquire) const = 0;
  // Responder: the peer's quick mode IDs (IDci is its side, IDcr ours). The answer's local and
  // remote are replaced by exactly these IDs (quick mode mirrors them). A refusal's type is what
  // the peer is told.
  virtual Expected<QuickModePolicy, PolicyRefusal> quick_mode_for_peer(const IpAddress& local, const IpAddress& peer,
                                                                     const sa::TrafficSelector& peer_side,
                                                                     const sa::TrafficSelector& our_side) const = 0;
};

struct IkeEvent {
  enum class Kind : std::uint8_t {
    MainModeEstablished,
    MainModeFailed,
    QuickModeEstablished,
    QuickModeFailed,
    SasDeleted,   // by the peer's DELETE, by a filter going away, or at shutdown
    SoftAssociation,   // no answer from the peer: its traffic for the filter passes in clear
  };
  Kind kind = Kind::MainModeFailed;
  IpAddress peer;
  auth::Role role = auth::Role::Initiator;
  std::string auth_method;    // the provider's name, empty when none was chosen
  std::uint32_t filter_id = 0;
  std::uint32_t inbound_spi = 0;
  std::uint32_t outbound_spi = 0;
  std::string reason;         // failures and deletions: why
  FailureKind failure = FailureKind::Other;   // failures: why, in the helpdesk's words (helpdesk.h)
  // The peer has not shown it receives at `peer` (a main mode 1 refused: anyone can send one
  // from any address). Listeners aggregate these without regard to the address.
  bool unverified = false;
};
std::string_view name(IkeEvent::Kind kind) noexcept;
// The event's reason with its peer's address written "<peer>": unverified events alike but for
// the (possibly forged) address read the same.
std::string reason_without_peer(const IkeEvent& event);

class IkeListener {
 public:
  virtual ~IkeListener() = default;
  virtual void on_ike_event(const IkeEvent& event) = 0;
};

inline constexpr std::chrono::milliseconds kOutboundAfterMessage3{50};
// Windows' fallback to clear: a peer that has not answered IKE this long after the first packet
// (the acquire) gets a soft association, which lives this long without traffic.
inline constexpr std::chrono::milliseconds kFallbackToClearDelay{3000};
inline constexpr std::chrono::seconds kSoftAssociationLifetime{300};
// Failed negotiations kept for snapshot() (the newest).
inline constexpr std::size_t kRecentFailuresKept = 32;

// Which IKE version this host initiates with (ward.conf's [ike] version). The responder side
// answers IKEv2 unless this is Ikev1 (then an IKE_SA_INIT gets INVALID_MAJOR_VERSION, RFC 7296
// 2.5) and IKEv1 always.
enum class IkeVersionPolicy : std::uint8_t {
  Ikev1,        // IKEv1 only, both ways
  Ikev2First,   // IKEv2; IKEv1 when the peer does not speak it (below) or the policy needs IKEv1
  Ikev2,        // IKEv2 only as initiator (IKEv1 still answered); no fallback
};
std::string_view name(IkeVersionPolicy policy) noexcept;   // "ikev1", "ikev2-first", "ikev2"
std::optional<IkeVersionPolicy> parse_ike_version(std::string_view text);

// Ikev2First: how long an IKE_SA_INIT may go unanswered before IKEv1 is tried (the peer answering
// INVALID_MAJOR_VERSION, NO_PROPOSAL_CHOSEN or IKEv1 falls back at once), and how long the peer is
// then remembered as IKEv1-only.
inline constexpr std::chrono::milliseconds kIkev2FallbackAfter{2000};
inline constexpr std::chrono::minutes kIkev1PeerMemory{60};

struct IkeServiceOptions {
  IpAddress local;
  // Event threads, each an engine with its own sockets on the same port (SO_REUSEPORT, a BPF
  // program choosing by a hash of the peer's address: ike/net/reuseport.h), so the handshakes of
  // different peers run on different cores with no state shared. A peer's datagrams, acquires and
  // DELETEs all reach the engine owning it. The total limits below (max_half_open, embryonic
  // max_entries / max_bytes, ikev2_cookie_threshold) are divided among the engines; the per-peer
  // ones hold as they are. 1 (the service's default; wardd's [ike] engines defaults to the cores):
  // one plain socket, as before.
  unsigned engines = 1;
  // The service's default is IKEv1 (what its tests and the IKEv1 interop suites expect); wardd's
  // [ike] version defaults to ikev2-first.
  IkeVersionPolicy ike_version = IkeVersionPolicy::Ikev1;
  std::chrono::milliseconds ikev2_fallback_after{kIkev2FallbackAfter};
  std::chrono::milliseconds ikev1_peer_memory{kIkev1PeerMemory};
  std::uint16_t port = net::kIsakmpPort;   // bound locally and used for peers (tests: another)
  // Responder main modes past main mode 3 (the initiator showed it receives at its address) and
  // not yet established, in all and per peer. A main mode 1 only makes an embryonic entry
  // (embryonic_table.h, bounded and evicted oldest first), so forged main mode 1s never count here.
  std::size_t max_half_open = 64;
  std::size_t max_half_open_per_peer = 8;
  // IKEv2: from this many half-open responder IKE SAs on, an IKE_SA_INIT must bring back a COOKIE
  // (RFC 7296 2.6, ikev2_cookies.h) before it costs a DH or any state.
  std::size_t ikev2_cookie_threshold = 32;
  // IKEv2 fragmentation (RFC 7383): announced in IKE_SA_INIT; used when the peer announces it too,
  // for messages whose IP datagram exceeds ikev2_fragment_size (0: 576 for IPv4, 1280 for IPv6).
  bool ikev2_fragmentation = true;
  std::size_t ikev2_fragment_size = 0;
  EmbryonicLimits embryonic;
  // The sockets' kernel receive queues: a burst (a flood's, with a real peer's messages in it)
  // waits there instead of being dropped before the event thread sees it.
  int receive_buffer_bytes = 4 * 1024 * 1024;
  std::size_t max_quick_modes_per_main_mode = 16;   // in flight at once
  std::chrono::milliseconds half_open_timeout{30000};   // a responder main mode must finish in this
  std::chrono::milliseconds linger{30000};   // finished quick modes answer duplicates this long
  // A rekeyed IKEv2 CHILD_SA's inbound SA stays in the dataplane this long after its pair is
  // deleted (our DELETE answered, or the peer's received): ESP the peer sent on it before it
  // switched to the successor is still in flight (strongSwan's delete_rekeyed_delay, 5 s). 0: at once.
  std::chrono::milliseconds rekeyed_inbound_linger{5000};
  // An acquire means the dataplane has no SA for the flow. Within this time of a quick mode for
  // it finishing, that is the acquire racing the install (ignored); later, the pair was removed
  // outside IKE (e.g. `wardctl flush`): IKE drops it, tells the peer, and negotiates again.
  std::chrono::milliseconds acquire_grace{2000};
  // An initiator installs its outbound SA, which releases the packets held for the flow, this long
  // after sending quick mode message 3: the responder installs its inbound SA only once it has
  // processed message 3, and ESP that comes first is dropped (charon does). 0: at once.
  std::chrono::milliseconds outbound_after_message_3{kOutboundAfterMessage3};
  // Refusals told to peers (RFC 2408 3.14.1 notifications, refusal.h): on average this many per
  // second, at most `refusal_burst` at once; the rest are counted and not sent.
  double refusals_per_second = 10;
  double refusal_burst = 10;
  // Fallback to clear (QuickModePolicy::fallback_to_clear): how long a peer may leave main mode
  // unanswered, and how long the soft association then lives without traffic.
  std::chrono::milliseconds fallback_delay{kFallbackToClearDelay};
  std::chrono::seconds soft_association_lifetime{kSoftAssociationLifetime};
  DpdPolicy dpd;                   // dead peer detection (RFC 3706) with peers that announce it
  sa::RetransmitPolicy retransmit;
  // NAT traversal (RFC 3947/3948): a second socket on nat_t_port takes marker-prefixed IKE; main
  // modes offer NAT-T, float there when a NAT is detected, and their quick modes negotiate
  // UDP-encapsulated ESP. Keepalives (one 0xFF byte) go out every nat_keepalive_interval while
  // a floated main mode with this host behind the NAT is up.
  bool nat_traversal = false;
  std::uint16_t nat_t_port = sa::kNatTraversalPort;   // tests: another
  bool pretend_nat = false;                          // float even without a NAT (as charon does)
  std::chrono::milliseconds nat_keepalive_interval{sa::kNatKeepaliveInterval};
  sa::LogSink log;                 // one line per event; never keys
  sa::Clock clock;                 // default: steady_clock::now
};

// One row per IKE SA: an IKEv1 main mode, or an IKEv2 IKE SA (ike_version 2: cookies are the
// SPIs, hash the PRF, state an Ikev2Sa state).
struct MainModeSaInfo {
  unsigned ike_version = 1;
  IpAddress peer;
  std::uint16_t peer_port = 0;
  bool nat_t = false;         // floated to the NAT-T port (a NAT was detected)
  auth::Role role = auth::Role::Initiator;
  NegotiationState status = NegotiationState::Negotiating;   // for the helpdesk (helpdesk.h)
  std::string state;          // the Phase1Sa state name (for developers)
  std::string cookies;        // CKY-I:CKY-R in hex
  std::string auth_method;
  std::string cipher;         // "AES-CBC-256"
  std::string hash;           // "SHA2-256"
  unsigned group = 0;         // Group Description number
  std::chrono::seconds lifetime_left{0};   // 0 until established
  std::size_t quick_modes = 0;
  bool dpd = false;           // both sides announced DPD (IKEv2: liveness checks on): the peer is probed when it goes quiet
  unsigned engine = 0;        // the engine that runs it (net::peer_engine of the peer)
};

struct QuickModeSaInfo {
  unsigned ike_version = 1;   // 2: a CHILD_SA of an IKEv2 IKE SA
  IpAddress peer;
  auth::Role role = auth::Role::Initiator;
  std::uint32_t filter_id = 0;
  std::uint32_t inbound_spi = 0;    // ESP's (also of an AH+ESP bundle), or AH's when AH stands alone
  std::uint32_t outbound_spi = 0;
  bool esp = true;                  // false: AH alone (cipher and integrity below are then unused)
  driver::crypto::Cipher cipher = driver::crypto::Cipher::AesGcm128;
  driver::crypto::Integrity integrity = driver::crypto::Integrity::None;
  std::optional<driver::crypto::Integrity> ah;   // AH alone or bundled with ESP: its algorithm
  std::uint32_t inbound_ah_spi = 0;    // AH+ESP bundle: the AH SPIs (0 otherwise)
  std::uint32_t outbound_ah_spi = 0;
  std::optional<IkeGroupDescription> pfs_group;
  std::string auth_method;
  std::chrono::seconds lifetime_left{0};
  bool default_response = false;   // answered with the default response rule (a dynamic filter)
};

// A quick mode exchange not finished yet.
struct QuickModeNegotiation {
  IpAddress peer;
  auth::Role role = auth::Role::Initiator;
  std::uint32_t filter_id = 0;
  std::string state;          // the QuickModeExchange state name
  bool default_response = false;
};

// A negotiation that failed, for the helpdesk (the newest kRecentFailuresKept).
struct NegotiationFailure {
  IpAddress peer;
  auth::Role role = auth::Role::Initiator;
  bool main_mode = true;      // else quick mode
  std::uint32_t filter_id = 0;
  FailureKind kind = FailureKind::Other;
  std::string reason;         // the full reason (for developers)
  std::chrono::seconds age{0};
};

// Every failure path bumps one of these.
struct IkeCounters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t malformed = 0;               // no ISAKMP header
  std::uint64_t unknown_sa = 0;              // cookies / Message ID we have no exchange for
  std::uint64_t main_mode_1_answered = 0;    // main mode 2 sent from the cookie secret: an embryonic entry
  std::uint64_t embryonic = 0;               // gauge: embryonic entries now
  std::uint64_t embryonic_promoted = 0;      // main mode 3 brought the cookie back: a real responder
  std::uint64_t embryonic_evicted = 0;       // oldest entries pushed out by newer main mode 1s
  std::uint64_t embryonic_expired = 0;       // no main mode 3 within half_open_timeout
  std::uint64_t embryonic_peer_limit_drops = 0;   // main mode 1 from an address with max_per_peer entries
  std::uint64_t embryonic_lost = 0;          // a main mode 3 with our cookie whose entry was evicted or expired
  std::uint64_t half_open_limit_drops = 0;   // total limit
  std::uint64_t half_open_peer_limit_drops = 0;
  std::uint64_t half_open_timeouts = 0;
  std::uint64_t ikev2_cookies_sent = 0;       // IKE_SA_INIT answered with N(COOKIE) alone, under load
  std::uint64_t ikev2_cookies_accepted = 0;   // a repeated IKE_SA_INIT brought a good one back
  std::uint64_t ikev2_cookies_rejected = 0;   // a wrong or stale one: dropped, nothing kept
  std::uint64_t ikev2_fragments_dropped = 0;  // RFC 7383 SKF fragments refused (malformed, ICV, limits)
  std::uint64_t undecryptable_main_mode_5 = 0;
  std::uint64_t quick_mode_limit_drops = 0;
  std::uint64_t no_policy = 0;               // the PolicyLookup refused
  std::uint64_t acquires = 0;
  std::uint64_t acquires_coalesced = 0;      // a negotiation for the flow was already running
  std::uint64_t main_modes_established = 0;
  std::uint64_t main_modes_failed = 0;
  std::uint64_t main_modes_expired = 0;
  std::uint64_t quick_modes_established = 0;
  std::uint64_t quick_modes_failed = 0;
  std::uint64_t informational_bad = 0;       // did not decrypt or HASH(1) mismatch
  std::uint64_t deletes_received = 0;
  std::uint64_t deletes_sent = 0;
  std::uint64_t sas_deleted = 0;             // SA pairs removed from the dataplane
  std::uint64_t refusals_sent = 0;           // error notifications telling a peer why we refused it
  std::uint64_t refusals_rate_limited = 0;   // refusals not sent: over the rate limit
  std::uint64_t refusals_received = 0;       // the peer's error notifications that failed an exchange of ours
  std::uint64_t refusals_ignored = 0;        // error notifications matching no exchange of ours
  std::uint64_t dpd_probes_sent = 0;         // R-U-THERE
  std::uint64_t dpd_acks_received = 0;       // R-U-THERE-ACK answering one of ours
  std::uint64_t dpd_acks_unexpected = 0;     // R-U-THERE-ACK answering nothing we sent
  std::uint64_t dpd_acks_sent = 0;           // answers to the peer's R-U-THERE
  std::uint64_t peers_dead = 0;              // main modes removed because the peer stopped answering
  std::uint64_t nat_t_datagrams_received = 0;   // marker-prefixed IKE on the NAT-T port
  std::uint64_t nat_keepalives_received = 0;
  std::uint64_t nat_keepalives_sent = 0;
  std::uint64_t soft_associations = 0;          // fallbacks to clear: the peer did not answer main mode
  std::uint64_t default_responses = 0;          // quick modes answered with the default response rule
  std::uint64_t ikev2_sas_established = 0;      // IKEv2 IKE SAs authenticated (also in main_modes_established)
  std::uint64_t ikev2_fallbacks = 0;            // IKEv2 initiations given up for IKEv1: the peer does not speak it
  std::uint64_t ikev2_refused_by_version = 0;   // IKE_SA_INITs answered INVALID_MAJOR_VERSION (ike_version ikev1)

  friend bool operator==(const IkeCounters&, const IkeCounters&) = default;
  // Every counter summed (the engines' of one service); `embryonic`, a gauge, too.
  IkeCounters& operator+=(const IkeCounters& other) noexcept;
};

struct IkeSnapshot {
  std::vector<MainModeSaInfo> main_modes;
  std::vector<QuickModeSaInfo> quick_modes;
  std::vector<QuickModeNegotiation> negotiating;   // quick modes under way
  std::vector<NegotiationFailure> failures;         // the newest last
  IkeCounters counters;
  // Grows each time the service publishes its lists anew, which it does only when an SA or a
  // negotiation changed (counters alone are published without it): a reader holding the lists
  // of the same version may keep them.
  std::uint64_t version = 0;
  unsigned engines = 1;   // the service's engines (IkeServiceOptions::engines as it runs)
};

// A service's sockets: options.engines of them on options.local:options.port (a group,
// net::bind_group), as many on options.nat_t_port when options.nat_traversal, each with
// options.receive_buffer_bytes asked for and prepared by the dataplane (prepare_ike_socket).
struct ServiceSockets {
  std::vector<net::UdpSocket> sockets;
  std::vector<net::UdpSocket> nat_sockets;
};
// What start() binds; wardd binds them so for its unprivileged IKE process, which cannot.
Expected<ServiceSockets, std::string> bind_service_sockets(const IkeServiceOptions& options, driver::Dataplane& dataplane);

class IkeService {
 public:
  // Binds the sockets (bind_service_sockets) and starts the event threads.
  static Expected<std::unique_ptr<IkeService>, std::string> start(IkeServiceOptions options, driver::Dataplane& dataplane,
                                                                  const PolicyLookup& policy, IkeListener& listener);
  // The same on sockets already bound to options.local (port, and nat_t_port when
  // options.nat_traversal). One engine (options.engines is ignored).
  static Expected<std::unique_ptr<IkeService>, std::string> start_on(IkeServiceOptions options, net::UdpSocket socket,
                                                                     std::optional<net::UdpSocket> nat_socket,
                                                                     driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                     IkeListener& listener);
  // One engine per socket of `sockets` (a group from net::bind_group, in its order), and as many
  // NAT-T sockets (a group too) when options.nat_traversal: wardd's unprivileged IKE process gets
  // the groups from its parent (options.engines is the groups' size).
  static Expected<std::unique_ptr<IkeService>, std::string> start_on(IkeServiceOptions options, std::vector<net::UdpSocket> sockets,
                                                                     std::vector<net::UdpSocket> nat_sockets,
                                                                     driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                     IkeListener& listener);
  // Sends DELETEs for our SAs, removes them from the dataplane, stops the thread.
  ~IkeService();
  IkeService(const IkeService&) = delete;
  IkeService& operator=(const IkeService&) = delete;

  // Thread-safe; returns at once. Several acquires for one (peer, filter) give one negotiation.
  // With several engines, the one owning acquire.peer (net::peer_engine) takes it.
  void initiate(const driver::Acquire& acquire);
  // Thread-safe: the dataplane's soft expiry of an outbound SA negotiates its successor; a hard
  // expiry forgets the pair. Every engine is told (each ignores SPIs it does not hold).
  void on_expiry(const driver::SaExpiry& expiry);
  // Thread-safe: deletes (with DELETE notifications) the SAs of filters not in `live`.
  void retain_filters(std::vector<std::uint32_t> live);
  // Thread-safe: the state as of the last event the thread handled, lifetimes as of now. With
  // several engines: their lists one after the other, the counters summed, the failures by age.
  IkeSnapshot snapshot() const;
  // Thread-safe: blocks until the event threads have run everything posted before this call.
  void sync();
  std::size_t engines() const noexcept { return workers_.size(); }

  const IkeServiceOptions& options() const noexcept { return options_; }

  class Engine;

 private:
  // One engine and the thread that alone touches it, with its own sockets (reuseport.h).
  struct Worker;
  IkeService(IkeServiceOptions options, std::vector<net::UdpSocket> sockets, std::vector<net::UdpSocket> nat_sockets,
             driver::Dataplane& dataplane, const PolicyLookup& policy, IkeListener& listener);
  static Expected<std::unique_ptr<IkeService>, std::string> start_workers(std::unique_ptr<IkeService> service);
  Worker& owner(const IpAddress& peer);
  static void post(Worker& worker, std::function<void()> command);
  static void run(Worker& worker);

  IkeServiceOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ward::ike::service
