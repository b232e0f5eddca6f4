#include "ike/service/ike_service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <set>

#include "ike/crypto/prf.h"
#include "ike/payload/vendor_ids.h"
#include "ike/service/dpd_sampler.h"
#include "ike/service/embryonic_table.h"
#include "ike/service/informational.h"
#include "ike/service/phase1_renewal.h"
#include "ike/service/refusal.h"
#include "ike/service/responder_cookies.h"

namespace ward::ike::service {

using sa::TimePoint;
using std::chrono::duration_cast;
using std::chrono::seconds;

namespace {

constexpr std::chrono::milliseconds kMaxPollWait{1000};
constexpr std::size_t kMaxDatagramsPerWake = 64;
// The dataplane asks again every 250 ms while a held flow's packets keep coming
// (driver::EngineOptions::reacquire_interval).
constexpr std::chrono::milliseconds kKnockInterval{250};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
  bool nat_t = false;   // on the NAT-T socket, each message behind the non-ESP marker
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

std::string cipher_name(const sa::Phase1Proposal& p) {
  switch (p.cipher) {
    case IkeEncryptionAlgorithm::AesCbc: return "AES-CBC-" + std::to_string(p.key_bits);
    case IkeEncryptionAlgorithm::TripleDesCbc: return "3DES-CBC";
    default: return "cipher " + std::to_string(static_cast<unsigned>(p.cipher));
  }
}

// Log lines about unauthenticated input: the 1st, 2nd, 4th, 8th... occurrence only.
bool worth_logging(std::uint64_t count) noexcept { return std::has_single_bit(count); }

std::string hex32(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kDigits[(v >> shift) & 0xf]);
  return out;
}

// The dataplane an initiator's quick mode installs through. While `holding`, outbound SAs wait
// here: installing the outbound SA releases the packets held for the flow, and they must not reach
// the peer before it has processed quick mode message 3, with which it installs its inbound SA (a
// peer that gets ESP first drops it: the first ping through a new tunnel to charon was lost).
// release() installs what waited; the engine calls it IkeServiceOptions::outbound_after_message_3
// after message 3 has been sent.
class OutboundAfterMessage3 final : public driver::Dataplane {
 public:
  explicit OutboundAfterMessage3(driver::Dataplane& inner) : inner_(inner) {}

  void hold() noexcept { holding_ = true; }
  bool waiting() const noexcept { return !waiting_.empty(); }
  Expected<void, std::string> release() {
    holding_ = false;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& sa : waiting) {
      if (auto added = inner_.add_sa(std::move(sa)); !added) return unexpected("installing the outbound SA: " + added.error());
    }
    return {};
  }

  driver::Capabilities capabilities() const override { return inner_.capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override {
    return inner_.install_filter_table(std::move(table));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_.release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    if (holding_ && sa.params.direction == driver::crypto::Direction::Outbound) {
      waiting_.push_back(std::move(sa));
      return {};
    }
    return inner_.add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    if (direction == driver::crypto::Direction::Outbound) {
      const auto waiting = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& sa) { return sa.params.spi == spi; });
      if (waiting != waiting_.end()) {
        waiting_.erase(waiting);
        return {};
      }
    }
    return inner_.delete_sa(spi, direction);
  }
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, driver::crypto::Direction direction, const IpAddress& peer) override {
    if (direction == driver::crypto::Direction::Outbound) {
      const auto waiting =
          std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& sa) { return sa.params.spi == spi && sa.peer == peer; });
      if (waiting != waiting_.end()) {
        waiting_.erase(waiting);
        return {};
      }
    }
    return inner_.delete_sa_of_peer(spi, direction, peer);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_.add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_.delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_.counters(); }

 private:
  driver::Dataplane& inner_;
  bool holding_ = false;
  std::vector<driver::SaInstall> waiting_;
};

// The dataplane a default response quick mode installs through: each of its SAs brings the
// dynamic filter for the traffic the quick mode negotiated.
class DefaultResponseInstaller final : public driver::Dataplane {
 public:
  DefaultResponseInstaller(driver::Dataplane& inner, driver::DynamicSelector selector) : inner_(inner), selector_(selector) {}

  driver::Capabilities capabilities() const override { return inner_.capabilities(); }
  Expected<void, std::string> install_filter_table(driver::FilterTable table) override {
    return inner_.install_filter_table(std::move(table));
  }
  Expected<std::uint32_t, std::string> allocate_spi(driver::crypto::SecurityProtocol protocol, const IpAddress& peer) override {
    return inner_.allocate_spi(protocol, peer);
  }
  Expected<void, std::string> release_spi(std::uint32_t spi, driver::crypto::SecurityProtocol protocol) override {
    return inner_.release_spi(spi, protocol);
  }
  Expected<void, std::string> add_sa(driver::SaInstall sa) override {
    sa.dynamic = selector_;
    return inner_.add_sa(std::move(sa));
  }
  Expected<void, std::string> delete_sa(std::uint32_t spi, driver::crypto::Direction direction) override {
    return inner_.delete_sa(spi, direction);
  }
  Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, driver::crypto::Direction direction, const IpAddress& peer) override {
    return inner_.delete_sa_of_peer(spi, direction, peer);
  }
  Expected<void, std::string> add_soft_association(driver::SoftAssociation association) override {
    return inner_.add_soft_association(std::move(association));
  }
  Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) override {
    return inner_.delete_soft_association(filter_id, peer);
  }
  driver::DataplaneCounters counters() const override { return inner_.counters(); }

 private:
  driver::Dataplane& inner_;
  driver::DynamicSelector selector_;
};

}  // namespace

std::string_view name(IkeEvent::Kind kind) noexcept {
  switch (kind) {
    case IkeEvent::Kind::MainModeEstablished: return "main mode established";
    case IkeEvent::Kind::MainModeFailed: return "main mode failed";
    case IkeEvent::Kind::QuickModeEstablished: return "quick mode established";
    case IkeEvent::Kind::QuickModeFailed: return "quick mode failed";
    case IkeEvent::Kind::SasDeleted: return "SAs deleted";
    case IkeEvent::Kind::SoftAssociation: return "fell back to clear (soft association)";
  }
  return "?";
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
  };
  struct Published {
    std::vector<MainModeSaInfo> main_modes;
    std::vector<std::optional<TimePoint>> main_mode_expiry;
    std::vector<QuickModeSaInfo> quick_modes;
    std::vector<TimePoint> quick_mode_expiry;
    std::vector<QuickModeNegotiation> negotiating;
    std::vector<std::pair<NegotiationFailure, TimePoint>> failures;
    IkeCounters counters;
  };

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
  void fail_main_mode(MainMode& mm, const std::string& reason, std::optional<FailureKind> kind = std::nullopt);
  // Fallback to clear (QuickModePolicy::fallback_to_clear): soft associations for the quick modes
  // waiting on a main mode the peer has not answered; `all`: whatever their delay (it failed).
  void fall_back_to_clear(MainMode& mm, TimePoint t, bool all);
  void on_quick_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  void on_informational(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h);
  void start_quick_mode(MainMode& mm, QuickModePolicy policy);
  void after_quick_mode_step(Exchange& ex, std::optional<FailureKind> kind = std::nullopt);
  void abandon(Exchange& ex);
  void delete_pair(std::size_t index, const std::string& reason, bool notify);
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

  sa::Phase1Config phase1_config(const Phase1Policy& policy, const IpAddress& peer) const;
  sa::QuickModeConfig quick_mode_config(const QuickModePolicy& policy, const MainMode& mm) const;
  void float_if_due(MainMode& mm);
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
  std::deque<std::pair<NegotiationFailure, TimePoint>> failures_;
  IkeCounters counters_;
  RefusalLimiter refusal_limiter_;
  ResponderCookies cookies_;
  EmbryonicTable embryonic_;
  DpdSampler dpd_sampler_;

  mutable std::mutex published_mutex_;
  Published published_;
};

// ---- sending and receiving ---------------------------------------------------------------------

void IkeService::Engine::send(const Endpoint& to, std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  if (to.nat_t && !nat_socket_) return;
  const bool keepalive = to.nat_t && bytes.size() == 1 && bytes[0] == sa::kNatKeepaliveByte;
  const auto framed = to.nat_t && !keepalive ? sa::add_non_esp_marker(bytes) : std::vector<std::byte>();
  const auto& out = to.nat_t ? *nat_socket_ : socket_;
  if (auto sent = out.send_to(to.address, to.port, framed.empty() ? bytes : std::span<const std::byte>(framed)); !sent) {
    ++counters_.send_errors;
    if (worth_logging(counters_.send_errors)) log("IKE: " + sent.error());
    return;
  }
  ++counters_.datagrams_sent;
}

void IkeService::Engine::receive_all() {
  for (std::size_t i = 0; i < kMaxDatagramsPerWake; ++i) {
    auto got = socket_.receive(std::chrono::milliseconds(0));
    if (!got) {
      log("IKE: " + got.error());
      return;
    }
    if (!got->has_value()) return;
    on_datagram(**got);
  }
}

void IkeService::Engine::receive_nat_t() {
  if (!nat_socket_) return;
  for (std::size_t i = 0; i < kMaxDatagramsPerWake; ++i) {
    auto got = nat_socket_->receive(std::chrono::milliseconds(0));
    if (!got) {
      log("IKE: NAT-T socket: " + got.error());
      return;
    }
    if (!got->has_value()) return;
    auto& datagram = **got;
    auto kind = sa::classify_nat_t_datagram(datagram.bytes);
    if (!kind || *kind == sa::NatTDatagram::Esp) {
      // ESP-in-UDP belongs to the dataplane (it takes it before this socket sees it).
      ++counters_.malformed;
      if (worth_logging(counters_.malformed)) {
        log("IKE: dropped a datagram on UDP " + std::to_string(options_.nat_t_port) + " from " + datagram.from.to_string() +
            ": " + (kind ? std::string("ESP, not IKE") : kind.error()));
      }
      continue;
    }
    if (*kind == sa::NatTDatagram::Keepalive) {
      ++counters_.nat_keepalives_received;
      continue;
    }
    ++counters_.nat_t_datagrams_received;
    const auto inner = sa::strip_non_esp_marker(datagram.bytes);
    on_datagram(net::Datagram{{inner.begin(), inner.end()}, datagram.from, datagram.port}, true);
  }
}

void IkeService::Engine::on_datagram(const net::Datagram& datagram, bool nat_t) {
  ++counters_.datagrams_received;
  const Endpoint from{datagram.from, datagram.port, nat_t};
  auto split = split_datagram(datagram.bytes);
  if (!split) {
    ++counters_.malformed;
    if (worth_logging(counters_.malformed)) {
      log("IKE: dropped a datagram from " + from.address.to_string() + ": " + split.error().to_string());
    }
    return;
  }
  switch (split->header.exchange_type) {
    case ExchangeType::IdentityProtection: on_main_mode(from, datagram.bytes, split->header); return;
    case ExchangeType::QuickMode: on_quick_mode(from, datagram.bytes, split->header); return;
    case ExchangeType::Informational: on_informational(from, datagram.bytes, split->header); return;
    default:
      ++counters_.malformed;
      if (worth_logging(counters_.malformed)) {
        log("IKE: dropped a datagram from " + from.address.to_string() + ": exchange type " +
            std::string(ike::name(split->header.exchange_type)) + " is not supported");
      }
      return;
  }
}

// ---- main mode ---------------------------------------------------------------------------------

sa::Phase1Config IkeService::Engine::phase1_config(const Phase1Policy& policy, const IpAddress& peer) const {
  sa::Phase1Config c;
  c.proposals = policy.proposals;
  c.local = options_.local;
  c.peer = peer;
  c.allow_legacy = policy.allow_legacy;
  c.drop_undecryptable_main_mode_5 = true;
  if (options_.dpd.enabled) c.vendor_ids.emplace_back(vendor_id::kDpd.begin(), vendor_id::kDpd.end());
  c.retransmit = options_.retransmit;
  c.log = options_.log;
  c.nat_traversal = options_.nat_traversal;
  c.local_port = options_.port;
  c.peer_port = options_.port;
  c.pretend_nat = options_.pretend_nat;
  return c;
}

IkeService::Engine::MainMode* IkeService::Engine::main_mode_by_cookies(const IsakmpHeader& h, const IpAddress& from) {
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != from) continue;
    if (mm->sa->initiator_cookie() == h.initiator_cookie && mm->sa->responder_cookie() == h.responder_cookie) {
      return mm.get();
    }
  }
  return nullptr;
}

void IkeService::Engine::on_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  const Cookie zero{};
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != from.address || mm->sa->initiator_cookie() != h.initiator_cookie) continue;
    if (h.responder_cookie == zero) {
      // A resent message 1 to a responder: the stored message 2 answers it.
      if (mm->sa->role() == auth::Role::Responder && std::ranges::equal(bytes, mm->first_message)) {
        send(from, mm->first_reply);
        return;
      }
      continue;
    }
    const bool learning = mm->sa->role() == auth::Role::Initiator && mm->sa->state() == sa::Phase1Sa::State::MainMode1Sent;
    if (learning || mm->sa->responder_cookie() == h.responder_cookie) {
      if (from.nat_t && !mm->peer.nat_t) {
        log("IKE main mode with " + from.address.to_string() + ": the peer moved to UDP " + std::to_string(from.port) +
            " (NAT-T)");
      }
      if (from.nat_t) mm->peer = from;   // RFC 3947 4: answer where the peer now sends from
      drive_main_mode(*mm, bytes);
      return;
    }
  }
  if (h.responder_cookie == zero) {
    const auto cookie = cookies_.make(from.address, from.port, h.initiator_cookie);
    if (const auto* known = embryonic_.find(h.initiator_cookie, cookie); known != nullptr) {
      // A resent message 1 (the initiator missed our message 2): the same answer, no new state.
      if (std::ranges::equal(bytes, known->message_1)) send(from, known->message_2);
      return;
    }
    respond_main_mode(from, bytes, cookie);
    return;
  }
  if (const auto* entry = embryonic_.find(h.initiator_cookie, h.responder_cookie);
      entry != nullptr && entry->peer == from.address && entry->port == from.port) {
    promote(from, bytes, *entry);
    return;
  }
  if (cookies_.verify(from.address, from.port, h.initiator_cookie, h.responder_cookie)) {
    // Our cookie came back, but its main mode 1 was evicted (the table turned over under a flood)
    // or timed out: the initiator starts again after its retransmissions.
    ++counters_.embryonic_lost;
    if (worth_logging(counters_.embryonic_lost)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": its main mode 1 is no longer remembered (" +
          std::to_string(counters_.embryonic_evicted) + " evicted under load, " + std::to_string(counters_.embryonic_expired) +
          " timed out so far)");
    }
    return;
  }
  ++counters_.unknown_sa;
  if (worth_logging(counters_.unknown_sa)) {
    log("IKE: dropped main mode from " + from.address.to_string() + ": no SA " + sa::hex_cookie(h.initiator_cookie) + ":" +
        sa::hex_cookie(h.responder_cookie));
  }
}

Expected<IkeService::Engine::Responder, IkeEvent> IkeService::Engine::responder_for(const Endpoint& from,
                                                                                   std::span<const std::byte> message_1) {
  IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder, {}, 0, 0, 0, {}};
  failed.unverified = true;   // a main mode 1: anyone can send one from any address
  auto offered = parse_message(message_1, MessageKind::MainModeMessage1);
  if (!offered) {
    ++counters_.malformed;
    failed.reason = "main mode 1 dropped: " + offered.error().to_string();
    return unexpected(std::move(failed));
  }
  auto policy = policy_.phase1_for(options_.local, from.address, std::nullopt);
  if (!policy) {
    ++counters_.no_policy;
    failed.reason = "no main mode policy for " + from.address.to_string() + ": " + policy.error();
    failed.failure = FailureKind::NoPolicy;
    return unexpected(std::move(failed));
  }
  // The first of our methods that the peer offers.
  std::set<std::uint64_t> methods;
  for (const auto& proposal : offered->find<SecurityAssociation>()->proposals) {
    for (const auto& transform : proposal.transforms) {
      for (const auto& attribute : transform.attributes) {
        if (attribute.type != static_cast<std::uint16_t>(IkeAttribute::AuthenticationMethod)) continue;
        if (const auto value = attribute.integer()) methods.insert(*value);
      }
    }
  }
  Responder responder;
  std::string ours;
  for (const auto& candidate : policy->auth) {
    if (!candidate) continue;
    ours += (ours.empty() ? "" : ", ") + std::string(candidate->name());
    if (!responder.provider && methods.contains(static_cast<std::uint64_t>(candidate->method()))) responder.provider = candidate;
  }
  if (!responder.provider) {
    ++counters_.main_modes_failed;
    std::string theirs;
    for (const auto m : methods) theirs += (theirs.empty() ? "" : ", ") + std::to_string(m);
    failed.reason = "NO-PROPOSAL-CHOSEN: the peer offers authentication method(s) " + (theirs.empty() ? "none" : theirs) +
                    ", our policy allows " + (ours.empty() ? "none" : ours);
    failed.failure = FailureKind::NoProposalChosen;
    refuse_main_mode(from, offered->header.initiator_cookie, NotifyMessageType::NoProposalChosen);
    return unexpected(std::move(failed));
  }
  responder.policy = std::move(*policy);
  return responder;
}

void IkeService::Engine::respond_main_mode(const Endpoint& from, std::span<const std::byte> bytes, const Cookie& responder_cookie) {
  // Cheap checks first: nothing here is worth more than a counter until the peer proves its address.
  if (embryonic_.count_for(from.address) >= embryonic_.limits().max_per_peer) {
    ++counters_.embryonic_peer_limit_drops;
    if (worth_logging(counters_.embryonic_peer_limit_drops)) {
      log("IKE: dropped main mode 1 from " + from.address.to_string() + ": " +
          std::to_string(embryonic_.limits().max_per_peer) + " main modes from this address wait for their main mode 3");
    }
    return;
  }
  auto responder = responder_for(from, bytes);
  if (!responder) {
    // Logged on the 1st, 2nd, 4th... of each kind: a flood of refused main mode 1s costs counters.
    const auto& failure = responder.error();
    if (worth_logging(counters_.malformed + counters_.no_policy + counters_.main_modes_failed)) log("IKE: " + failure.reason);
    emit(failure);
    return;
  }
  auto config = phase1_config(responder->policy, from.address);
  config.responder_cookie = responder_cookie;
  std::vector<std::byte> reply;
  auto responded = sa::Phase1Sa::respond(std::move(config), *responder->provider, options_.clock, bytes, reply);
  if (!responded) {
    ++counters_.main_modes_failed;
    IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder,
                    std::string(responder->provider->name()), 0, 0, 0, responded.error()};
    failed.unverified = true;
    failed.failure = failure_kind(refusal_type(failed.reason));
    if (const auto type = refusal_type(failed.reason)) {
      if (auto parsed = split_datagram(bytes)) refuse_main_mode(from, parsed->header.initiator_cookie, *type);
    }
    emit(failed);
    return;
  }
  ++counters_.main_mode_1_answered;
  EmbryonicMainMode entry;
  entry.peer = from.address;
  entry.port = from.port;
  entry.nat_t = from.nat_t;
  entry.initiator_cookie = (*responded)->initiator_cookie();
  entry.responder_cookie = responder_cookie;
  entry.message_1.assign(bytes.begin(), bytes.end());
  entry.message_2 = reply;
  entry.created = now();
  std::size_t evicted = 0;
  (void)embryonic_.add(std::move(entry), evicted);   // the peer limit was checked above
  counters_.embryonic_evicted += evicted;
  send(from, reply);
}

void IkeService::Engine::promote(const Endpoint& from, std::span<const std::byte> bytes, const EmbryonicMainMode& entry) {
  // The half-open limits count only initiators that showed they receive at their address.
  std::size_t half_open = 0, from_peer = 0;
  for (const auto& mm : main_modes_) {
    if (mm->dead || mm->sa->role() != auth::Role::Responder || mm->sa->established()) continue;
    ++half_open;
    if (mm->peer.address == from.address) ++from_peer;
  }
  if (half_open >= options_.max_half_open) {
    ++counters_.half_open_limit_drops;
    if (worth_logging(counters_.half_open_limit_drops)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": " + std::to_string(half_open) +
          " half-open main modes (limit " + std::to_string(options_.max_half_open) + ")");
    }
    return;   // the entry stays: a resent main mode 3 may find room
  }
  if (from_peer >= options_.max_half_open_per_peer) {
    ++counters_.half_open_peer_limit_drops;
    if (worth_logging(counters_.half_open_peer_limit_drops)) {
      log("IKE: dropped main mode 3 from " + from.address.to_string() + ": " + std::to_string(from_peer) +
          " half-open main modes from this peer (limit " + std::to_string(options_.max_half_open_per_peer) + ")");
    }
    return;
  }
  auto taken = embryonic_.take(entry.initiator_cookie, entry.responder_cookie);
  auto responder = responder_for(from, taken->message_1);
  if (!responder) {
    auto failure = responder.error();
    failure.unverified = false;   // the peer has shown its address
    failure.reason = "main mode 3: " + failure.reason;
    log("IKE: " + failure.reason);
    emit(failure);
    return;
  }
  auto config = phase1_config(responder->policy, from.address);
  config.responder_cookie = taken->responder_cookie;
  std::vector<std::byte> reply;
  auto responded = sa::Phase1Sa::respond(std::move(config), *responder->provider, options_.clock, taken->message_1, reply);
  if (!responded || reply != taken->message_2) {
    // Same message 1, same cookie: only a policy applied in between can change the answer, and
    // the peer holds the old one.
    ++counters_.main_modes_failed;
    const std::string reason = responded ? "the policy changed between main mode 1 and 3; the peer starts again" : responded.error();
    log("IKE main mode " + sa::hex_cookie(taken->initiator_cookie) + " from " + from.address.to_string() + ": " + reason);
    IkeEvent failed{IkeEvent::Kind::MainModeFailed, from.address, auth::Role::Responder,
                    std::string(responder->provider->name()), 0, 0, 0, reason};
    failed.failure = responded ? FailureKind::Other : failure_kind(refusal_type(reason));
    emit(failed);
    return;
  }
  auto mm = std::make_unique<MainMode>();
  mm->id = next_id_++;
  mm->auth = std::move(responder->provider);
  mm->sa = std::move(*responded);
  mm->peer = from;
  mm->created = now();
  mm->first_message = std::move(taken->message_1);
  mm->first_reply = std::move(taken->message_2);
  mm->quick_mode_limit = responder->policy.quick_mode_limit;
  ++counters_.embryonic_promoted;
  auto& added = *main_modes_.emplace_back(std::move(mm));
  drive_main_mode(added, bytes);
}

void IkeService::Engine::drive_main_mode(MainMode& mm, std::span<const std::byte> bytes) {
  mm.peer_answered = true;
  const auto before = mm.sa->undecryptable();
  const auto state_before = mm.sa->state();
  const auto reply = mm.sa->handle(bytes);
  if (mm.sa->undecryptable() != before) {
    counters_.undecryptable_main_mode_5 += mm.sa->undecryptable() - before;
    mm.undecryptable += mm.sa->undecryptable() - before;
  }
  float_if_due(mm);
  send(mm.peer, reply);
  if (mm.sa->state() == sa::Phase1Sa::State::Failed && state_before != sa::Phase1Sa::State::Failed && mm.sa->keys_confirmed()) {
    // Main mode 5 / 6 decrypted, so the keys agree, but did not verify: the peer may count the
    // SA established (a responder does once it sent 6). Tell it why under the keys and delete
    // the ISAKMP SA; AUTHENTICATION-FAILED when ike/auth gave no more specific type.
    refuse_main_mode_under_keys(mm, refusal_type(mm.sa->failure()).value_or(NotifyMessageType::AuthenticationFailed));
  } else if (mm.sa->state() == sa::Phase1Sa::State::Failed && state_before != sa::Phase1Sa::State::Failed) {
    // Tell the peer why (unprotected: no keys in common); a responder whose main mode 5 did not
    // decrypt says AUTHENTICATION-FAILED.
    auto type = refusal_type(mm.sa->failure());
    if (!type && state_before == sa::Phase1Sa::State::MainMode4Sent) type = NotifyMessageType::AuthenticationFailed;
    if (type && may_refuse(mm.peer.address, *type)) {
      if (auto message = build_main_mode_refusal(mm.sa->initiator_cookie(), mm.sa->responder_cookie(), *type)) {
        send(mm.peer, *message);
        ++counters_.refusals_sent;
      }
    }
  }
  after_main_mode_step(mm);
}

// RFC 3947 4: the initiator moves to the NAT-T port with main mode 5, the responder answers
// main mode 5 where it came from (the caller already moved mm.peer to the datagram's source).
void IkeService::Engine::float_if_due(MainMode& mm) {
  if (mm.peer.nat_t || !nat_socket_ || !mm.sa->float_to_nat_t_port()) return;
  const auto state = mm.sa->state();
  if (state != sa::Phase1Sa::State::MainMode5Sent) return;
  mm.peer = Endpoint{mm.peer.address, options_.nat_t_port, true};
  log("IKE main mode with " + mm.peer.address.to_string() + ": " + sa::describe(mm.sa->nat()) + ", moved to UDP " +
      std::to_string(options_.nat_t_port));
}

void IkeService::Engine::fail_main_mode(MainMode& mm, const std::string& reason, std::optional<FailureKind> kind) {
  const bool no_response = mm.sent && !mm.peer_answered;
  const FailureKind failure = kind.value_or(no_response ? FailureKind::NoResponse : failure_kind(refusal_type(reason)));
  // A peer that never answered, before the fallback delay was up (a short retransmission policy):
  // the flows that may fall back do so now.
  if (no_response) fall_back_to_clear(mm, now(), true);
  mm.dead = true;
  ++counters_.main_modes_failed;
  IkeEvent failed{IkeEvent::Kind::MainModeFailed, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, reason};
  failed.failure = failure;
  emit(failed);
  for (const auto& pending : mm.pending) {
    ++counters_.quick_modes_failed;
    failed.kind = IkeEvent::Kind::QuickModeFailed;
    failed.filter_id = pending.policy.filter_id;
    failed.reason = "main mode failed: " + reason;
    emit(failed);
  }
  mm.pending.clear();
}

void IkeService::Engine::fall_back_to_clear(MainMode& mm, TimePoint t, bool all) {
  if (mm.dead || mm.peer_answered || !mm.sent || mm.sa->role() != auth::Role::Initiator) return;
  for (auto& pending : mm.pending) {
    if (!pending.policy.fallback_to_clear || pending.fell_back) continue;
    if (!all && t - pending.requested < options_.fallback_delay) continue;
    pending.fell_back = true;
    const auto waited = duration_cast<std::chrono::milliseconds>(t - pending.requested);
    driver::SoftAssociation association{pending.policy.filter_id, mm.peer.address, options_.soft_association_lifetime};
    IkeEvent event{IkeEvent::Kind::SoftAssociation, mm.peer.address, auth::Role::Initiator, auth_name(mm), pending.policy.filter_id,
                   0, 0, {}};
    event.failure = FailureKind::NoResponse;
    if (auto added = dataplane_.add_soft_association(association); !added) {
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() +
          ": no answer, but the fallback to clear failed: " + added.error());
      continue;
    }
    ++counters_.soft_associations;
    event.reason = "no response from peer " + std::to_string(waited.count()) + " ms after the first packet: clear traffic for filter " +
                   std::to_string(pending.policy.filter_id) + " (soft association, " +
                   std::to_string(options_.soft_association_lifetime.count()) + " s without traffic ends it)";
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() + ": " + event.reason);
    emit(event);
  }
}

void IkeService::Engine::after_main_mode_step(MainMode& mm, std::string extra_reason, std::optional<FailureKind> kind) {
  if (mm.dead) return;
  if (mm.sa->state() == sa::Phase1Sa::State::Failed) {
    fail_main_mode(mm, mm.sa->failure() + extra_reason, kind);
    return;
  }
  if (!mm.sa->established() || mm.reported) return;
  mm.reported = true;
  mm.expires = now() + mm.sa->chosen().lifetime;
  mm.renew_at = renewal_time(now(), mm.sa->chosen().lifetime, mm.sa->role());
  start_dpd(mm);
  ++counters_.main_modes_established;
  emit(IkeEvent{IkeEvent::Kind::MainModeEstablished, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, {}});
  auto pending = std::move(mm.pending);
  mm.pending.clear();
  for (auto& p : pending) start_quick_mode(mm, std::move(p.policy));
}

IkeService::Engine::MainMode* IkeService::Engine::usable_main_mode(const IpAddress& peer) {
  // The newest established one: after a renewal (phase1_renewal.h) the old main mode still
  // lives until its lifetime ends, but new quick modes, DELETEs and DPD go under its successor.
  MainMode* in_progress = nullptr;
  MainMode* established = nullptr;
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer) continue;
    if (mm->sa->established()) {
      if (established == nullptr || mm->expires > established->expires) established = mm.get();
      continue;
    }
    if (mm->sa->state() != sa::Phase1Sa::State::Failed && in_progress == nullptr) in_progress = mm.get();
  }
  return established != nullptr ? established : in_progress;
}

IkeService::Engine::MainMode* IkeService::Engine::main_mode_for_new_quick_mode(const IpAddress& peer) {
  MainMode* mm = usable_main_mode(peer);
  if (mm == nullptr || mm->quick_mode_limit == 0) return mm;
  if (mm->quick_modes_established + in_flight(*mm) < mm->quick_mode_limit) return mm;
  log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + " with " + peer.to_string() + ": " +
      std::to_string(mm->quick_modes_established) + " quick modes established, " + std::to_string(in_flight(*mm)) +
      " in flight (limit " + std::to_string(mm->quick_mode_limit) + "): negotiating a new main mode");
  return nullptr;
}

// ---- quick mode --------------------------------------------------------------------------------

sa::QuickModeConfig IkeService::Engine::quick_mode_config(const QuickModePolicy& policy, const MainMode& mm) const {
  const IpAddress& peer = mm.peer.address;
  sa::QuickModeConfig c;
  c.proposals = policy.proposals;
  c.allow_legacy = policy.allow_legacy;
  c.pfs_group = policy.pfs_group;
  c.lifetime = policy.lifetime;
  c.lifetime_kilobytes = policy.lifetime_kilobytes;
  c.local = policy.local;
  c.remote = policy.remote;
  c.filter_id = policy.filter_id;
  c.peer = peer;
  c.retransmit = options_.retransmit;
  c.install_inbound_at_message_2 = true;   // the initiator's first packet finds our inbound SA
  if (policy.tunnel_endpoint) c.tunnel = sa::tunnel_endpoints(options_.local, *policy.tunnel_endpoint);
  if (mm.peer.nat_t) c.udp_encapsulation = driver::crypto::UdpEncapsulation{options_.nat_t_port, mm.peer.port};
  return c;
}

void IkeService::Engine::abandon(Exchange& ex) {
  // A responder that sent message 2 installed its inbound SA; without HASH(3) it must go.
  if (ex.role != auth::Role::Responder || ex.qm->done() || ex.qm->state() == sa::QuickModeExchange::State::Idle) return;
  if (ex.qm->inbound_spi() == 0) return;
  if (auto d = dataplane_.delete_sa(ex.qm->inbound_spi(), driver::crypto::Direction::Inbound); !d) {
    log("IKE: removing the inbound SA " + hex32(ex.qm->inbound_spi()) + " of an unfinished quick mode: " + d.error());
  }
}

std::size_t IkeService::Engine::in_flight(const MainMode& mm) const {
  return static_cast<std::size_t>(std::count_if(exchanges_.begin(), exchanges_.end(), [&](const auto& ex) {
           return ex->main_mode == &mm && !ex->dead && !ex->qm->done();
         })) +
         mm.pending.size();
}

bool IkeService::Engine::negotiating(const IpAddress& peer, std::uint32_t filter_id) const {
  for (const auto& ex : exchanges_) {
    const bool unfinished = !ex->qm->done() || ex->release_outbound_at;
    if (!ex->dead && unfinished && ex->main_mode->peer.address == peer && ex->policy.filter_id == filter_id) return true;
  }
  for (const auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer) continue;
    for (const auto& p : mm->pending) {
      if (p.policy.filter_id == filter_id) return true;
    }
  }
  return false;
}

void IkeService::Engine::start_quick_mode(MainMode& mm, QuickModePolicy policy) {
  if (in_flight(mm) >= options_.max_quick_modes_per_main_mode) {
    ++counters_.quick_mode_limit_drops;
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, auth::Role::Initiator, auth_name(mm), policy.filter_id, 0, 0,
                  std::to_string(in_flight(mm)) + " quick modes in flight on this main mode (limit " +
                      std::to_string(options_.max_quick_modes_per_main_mode) + ")"});
    return;
  }
  if (!mm.sa->established()) {
    mm.pending.push_back(PendingQuickMode{std::move(policy), now()});
    return;
  }
  auto ex = std::make_unique<Exchange>();
  ex->main_mode = &mm;
  ex->role = auth::Role::Initiator;
  ex->policy = policy;
  ex->installer = std::make_unique<OutboundAfterMessage3>(dataplane_);
  ex->qm = sa::QuickModeExchange::initiate(*mm.sa, quick_mode_config(policy, mm), *ex->installer, options_.clock);
  auto message_1 = ex->qm->build_quick_mode_1();
  if (!message_1) {
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, auth::Role::Initiator, auth_name(mm), policy.filter_id, 0, 0,
                  message_1.error()});
    return;
  }
  send(mm.peer, *message_1);
  exchanges_.push_back(std::move(ex));
}

void IkeService::Engine::on_quick_mode(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  for (auto& ex : exchanges_) {
    if (ex->dead || ex->qm->message_id() != h.message_id) continue;
    const auto& p1 = *ex->main_mode->sa;
    if (p1.initiator_cookie() != h.initiator_cookie || p1.responder_cookie() != h.responder_cookie) continue;
    if (ex->main_mode->peer.address != from.address) continue;
    if (ex->installer) ex->installer->hold();
    send(ex->main_mode->peer, ex->qm->handle(bytes));
    if (ex->release_outbound_at) return;   // a resent message 2, answered with message 3 again
    if (ex->installer && ex->installer->waiting()) {
      // Message 3 is on its way: the outbound SA, and the packets held for it, follow it shortly;
      // the quick mode is established (event, SA list) once both SAs are installed.
      ex->release_outbound_at = now() + options_.outbound_after_message_3;
      if (options_.outbound_after_message_3.count() <= 0) release_outbound(*ex);
      return;
    }
    after_quick_mode_step(*ex);
    return;
  }
  MainMode* mm = main_mode_by_cookies(h, from.address);
  if (mm == nullptr || !mm->sa->established() || h.message_id == 0) {
    ++counters_.unknown_sa;
    if (worth_logging(counters_.unknown_sa)) {
      log("IKE: dropped quick mode " + hex32(h.message_id) + " from " + from.address.to_string() +
          ": no established main mode " + sa::hex_cookie(h.initiator_cookie) + ":" + sa::hex_cookie(h.responder_cookie));
    }
    return;
  }
  if (in_flight(*mm) >= options_.max_quick_modes_per_main_mode) {
    ++counters_.quick_mode_limit_drops;
    if (worth_logging(counters_.quick_mode_limit_drops)) {
      log("IKE: dropped quick mode 1 from " + from.address.to_string() + ": the per-main-mode limit is reached");
    }
    return;
  }
  auto ids = peek_quick_mode_ids(*mm->sa, bytes);
  if (!ids) {
    ++counters_.unknown_sa;
    if (worth_logging(counters_.unknown_sa)) log("IKE: dropped quick mode 1 from " + from.address.to_string() + ": " + ids.error());
    return;
  }
  IkeEvent failed{IkeEvent::Kind::QuickModeFailed, from.address, auth::Role::Responder, auth_name(*mm), 0, 0, 0, {}};
  auto policy = policy_.quick_mode_for_peer(options_.local, from.address, ids->initiator_side, ids->responder_side);
  if (!policy) {
    ++counters_.no_policy;
    ++counters_.quick_modes_failed;
    failed.reason = "no filter accepts the peer's quick mode (" + ids->initiator_side.prefix.to_string() + " -> " +
                    ids->responder_side.prefix.to_string() + "): " + policy.error();
    failed.failure = FailureKind::NoPolicy;
    log("IKE: " + failed.reason);
    // The lookup names the type when it knows better (a filter covers the IDs, but its action
    // has nothing to propose: NO-PROPOSAL-CHOSEN); else no filter covers them.
    refuse_quick_mode(*mm, h.message_id, refusal_type(policy.error()).value_or(NotifyMessageType::InvalidIdInformation));
    emit(failed);
    return;
  }
  policy->local = ids->responder_side;
  policy->remote = ids->initiator_side;
  failed.filter_id = policy->filter_id;
  // The default response: the SAs protect exactly what the IDs name between the two hosts.
  std::unique_ptr<DefaultResponseInstaller> default_response;
  if (policy->default_response) {
    driver::DynamicSelector selector{options_.local, from.address, ids->responder_side.protocol, ids->responder_side.port,
                                     ids->initiator_side.port};
    default_response = std::make_unique<DefaultResponseInstaller>(dataplane_, selector);
    log("IKE quick mode " + hex32(h.message_id) + " from " + from.address.to_string() + ": no filter covers " +
        ids->responder_side.prefix.to_string() + " <-> " + ids->initiator_side.prefix.to_string() + " (protocol " +
        std::to_string(selector.protocol) + "): the default response rule answers, with a dynamic filter");
  }
  std::vector<std::byte> reply;
  auto responded = sa::QuickModeExchange::respond(*mm->sa, quick_mode_config(*policy, *mm),
                                                  default_response ? static_cast<driver::Dataplane&>(*default_response) : dataplane_,
                                                  options_.clock, bytes, reply);
  if (!responded) {
    ++counters_.quick_modes_failed;
    failed.reason = responded.error();
    failed.failure = failure_kind(refusal_type(failed.reason));
    if (const auto type = refusal_type(failed.reason)) refuse_quick_mode(*mm, h.message_id, *type);
    emit(failed);
    return;
  }
  auto ex = std::make_unique<Exchange>();
  ex->main_mode = mm;
  ex->default_response = std::move(default_response);
  ex->role = auth::Role::Responder;
  ex->policy = std::move(*policy);
  ex->qm = std::move(*responded);
  send(mm->peer, reply);
  exchanges_.push_back(std::move(ex));
}

void IkeService::Engine::after_quick_mode_step(Exchange& ex, std::optional<FailureKind> kind) {
  if (ex.dead || ex.reported) return;
  const auto& mm = *ex.main_mode;
  if (ex.qm->state() == sa::QuickModeExchange::State::Failed) {
    abandon(ex);
    ex.dead = true;
    ex.reported = true;
    ++counters_.quick_modes_failed;
    IkeEvent failed{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id, 0, 0,
                    ex.qm->failure()};
    failed.failure = kind.value_or(failure_kind(refusal_type(ex.qm->failure())));
    emit(failed);
    return;
  }
  if (!ex.qm->done()) return;
  ex.reported = true;
  ++counters_.quick_modes_established;
  if (ex.policy.default_response) ++counters_.default_responses;
  ++ex.main_mode->quick_modes_established;
  QuickModeSa record;
  record.peer = mm.peer;
  record.role = ex.role;
  record.policy = ex.policy;
  record.inbound_spi = ex.qm->inbound_spi();
  record.outbound_spi = ex.qm->outbound_spi();
  record.inbound_ah_spi = ex.qm->inbound_bundled_ah_spi();
  record.outbound_ah_spi = ex.qm->outbound_bundled_ah_spi();
  record.chosen = ex.qm->chosen();
  record.auth_method = auth_name(mm);
  record.established = now();
  record.expires = record.established + ex.qm->lifetime();   // the shorter of ours and the peer's
  sas_.push_back(record);
  // The initiator keeps the exchange to answer a resent message 2 with its stored HASH(3).
  if (ex.role == auth::Role::Initiator) ex.linger_until = now() + options_.linger;
  else ex.dead = true;
  emit(IkeEvent{IkeEvent::Kind::QuickModeEstablished, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id,
                record.inbound_spi, record.outbound_spi, {}});
}

// ---- informational and deletion ----------------------------------------------------------------

void IkeService::Engine::send_informational(MainMode& mm, std::vector<Payload> payloads, const std::string& what) {
  auto message = build_informational(*mm.sa, std::move(payloads));
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build " + what + ": " + message.error());
    return;
  }
  send(mm.peer, *message);
  ++counters_.deletes_sent;
}

bool IkeService::Engine::may_refuse(const IpAddress& peer, NotifyMessageType type) {
  if (refusal_limiter_.allow(now())) return true;
  ++counters_.refusals_rate_limited;
  if (worth_logging(counters_.refusals_rate_limited)) {
    log("IKE: not telling " + peer.to_string() + " " + std::string(ike::name(type)) + ": over the refusal rate limit");
  }
  return false;
}

void IkeService::Engine::refuse_main_mode(const Endpoint& to, const Cookie& initiator_cookie, NotifyMessageType type) {
  if (!may_refuse(to.address, type)) return;
  auto message = build_main_mode_refusal(initiator_cookie, Cookie{}, type);
  if (!message) {
    log("IKE: could not build a refusal for " + to.address.to_string() + ": " + message.error());
    return;
  }
  send(to, *message);
  ++counters_.refusals_sent;
}

void IkeService::Engine::refuse_main_mode_under_keys(MainMode& mm, NotifyMessageType type) {
  if (!may_refuse(mm.peer.address, type)) return;
  // Two informationals: charon stops reading one at an error notification (a DELETE after it
  // in the same message goes unread), so the reason and the DELETE go separately, in that order.
  const auto& cky_i = mm.sa->initiator_cookie();
  const auto& cky_r = mm.sa->responder_cookie();
  auto refusal = build_informational(*mm.sa, {main_mode_refusal(cky_i, cky_r, type)});
  if (!refusal) {
    log("IKE main mode " + sa::hex_cookie(cky_i) + ": could not build a refusal: " + refusal.error());
    return;
  }
  send(mm.peer, *refusal);
  ++counters_.refusals_sent;
  send_informational(mm, {isakmp_delete(cky_i, cky_r)}, "ISAKMP DELETE");
  log("IKE main mode " + sa::hex_cookie(cky_i) + ": told " + mm.peer.address.to_string() + " " +
      std::string(ike::name(type)) + " and deleted the ISAKMP SA (informationals under the phase 1 keys)");
}

void IkeService::Engine::refuse_quick_mode(MainMode& mm, std::uint32_t message_id, NotifyMessageType type) {
  if (!may_refuse(mm.peer.address, type)) return;
  auto message = build_informational(
      *mm.sa, {quick_mode_refusal(mm.sa->initiator_cookie(), mm.sa->responder_cookie(), type, message_id)});
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build a refusal: " + message.error());
    return;
  }
  send(mm.peer, *message);
  ++counters_.refusals_sent;
}

void IkeService::Engine::on_unprotected_informational(const Endpoint& from, std::span<const std::byte> bytes,
                                                      const IsakmpHeader& h) {
  // Acted on only as a refusal of a main mode of ours that is not established yet (refusal.h).
  auto message = parse_message(bytes, MessageKind::InformationalUnprotected);
  const Notification* n = message ? message->find<Notification>() : nullptr;
  MainMode* target = nullptr;
  if (n != nullptr && n->is_error()) {
    for (auto& mm : main_modes_) {
      if (mm->dead || mm->sa->established() || mm->sa->state() == sa::Phase1Sa::State::Failed) continue;
      if (mm->peer.address != from.address || mm->sa->initiator_cookie() != h.initiator_cookie) continue;
      const bool awaiting_2 = mm->sa->role() == auth::Role::Initiator && mm->sa->state() == sa::Phase1Sa::State::MainMode1Sent;
      // Awaiting main mode 2, the responder cookie is not known yet: a peer that keeps no state
      // sends zero, charon the cookie it made for the refused exchange.
      if (awaiting_2 || mm->sa->responder_cookie() == h.responder_cookie) {
        target = mm.get();
        break;
      }
    }
  }
  if (target == nullptr) {
    ++counters_.informational_bad;
    if (n != nullptr && n->is_error()) ++counters_.refusals_ignored;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE: ignored an unprotected informational from " + from.address.to_string() +
          (message ? std::string(": no main mode of ours in negotiation matches it") : ": " + message.error().to_string()));
    }
    return;
  }
  ++counters_.refusals_received;
  const auto text = refusal_text(from.address, *n);
  log("IKE main mode " + sa::hex_cookie(target->sa->initiator_cookie()) + ": " + text);
  target->peer_answered = true;
  fail_main_mode(*target, text + " (in state " + std::string(sa::name(target->sa->state())) + ")",
                 failure_kind(static_cast<NotifyMessageType>(n->message_type)));
}

void IkeService::Engine::on_quick_mode_refusal(MainMode& mm, const Notification& notification) {
  const auto refused = refused_message_id(notification);
  const auto text = refusal_text(mm.peer.address, notification);
  bool matched = false;
  for (auto& ex : exchanges_) {
    if (ex->dead || ex->reported || ex->main_mode != &mm || ex->role != auth::Role::Initiator) continue;
    if (ex->qm->state() != sa::QuickModeExchange::State::QuickMode1Sent) continue;
    if (refused && ex->qm->message_id() != *refused) continue;
    matched = true;
    ex->dead = true;
    ex->reported = true;
    ++counters_.quick_modes_failed;
    log("IKE quick mode " + hex32(ex->qm->message_id()) + " (filter " + std::to_string(ex->policy.filter_id) + "): " + text);
    IkeEvent failed{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex->role, auth_name(mm), ex->policy.filter_id, 0, 0, text};
    failed.failure = failure_kind(static_cast<NotifyMessageType>(notification.message_type));
    emit(failed);
  }
  if (matched) {
    ++counters_.refusals_received;
  } else {
    ++counters_.refusals_ignored;
    if (worth_logging(counters_.refusals_ignored)) log("IKE: " + text + " - no quick mode of ours awaits an answer");
  }
}

// ---- dead peer detection -----------------------------------------------------------------------

void IkeService::Engine::start_dpd(MainMode& mm) {
  if (!options_.dpd.enabled) return;
  const auto& vids = mm.sa->peer_vendor_ids();
  if (std::none_of(vids.begin(), vids.end(), [](const auto& v) { return vendor_id::matches(v, vendor_id::kDpd); })) return;
  std::uint32_t first = 0;
  if (auto raw = crypto::random_bytes(sizeof first)) {
    for (const auto b : *raw) first = first << 8 | static_cast<std::uint32_t>(b);
  }
  // RFC 3706 7: the top bit clear leaves room before the sequence number wraps.
  constexpr std::uint32_t kSequenceStartMask = 0x7fffffffu;
  mm.dpd.emplace(options_.dpd, first & kSequenceStartMask, now());
}

void IkeService::Engine::send_dpd(MainMode& mm, NotifyMessageType type, std::uint32_t sequence) {
  Notification n;
  n.protocol = ProtocolId::Isakmp;
  n.message_type = static_cast<std::uint16_t>(type);
  n.spi.assign(mm.sa->initiator_cookie().begin(), mm.sa->initiator_cookie().end());
  n.spi.insert(n.spi.end(), mm.sa->responder_cookie().begin(), mm.sa->responder_cookie().end());
  for (int shift = 24; shift >= 0; shift -= 8) n.data.push_back(std::byte(sequence >> shift));
  auto message = build_informational(*mm.sa, {std::move(n)});
  if (!message) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": could not build " + std::string(ike::name(type)) +
        ": " + message.error());
    return;
  }
  send(mm.peer, *message);
}

void IkeService::Engine::on_dpd_notification(MainMode& mm, const Notification& notification) {
  std::vector<std::byte> ours(mm.sa->initiator_cookie().begin(), mm.sa->initiator_cookie().end());
  ours.insert(ours.end(), mm.sa->responder_cookie().begin(), mm.sa->responder_cookie().end());
  if (notification.data.size() != kDpdSequenceSize || notification.spi != ours) {
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": ignored " +
          std::string(ike::name(static_cast<NotifyMessageType>(notification.message_type))) + " with a " +
          std::to_string(notification.spi.size()) + "-byte SPI and " + std::to_string(notification.data.size()) +
          "-byte data (want the cookie pair and a 4-byte sequence number)");
    }
    return;
  }
  std::uint32_t sequence = 0;
  for (const auto b : notification.data) sequence = sequence << 8 | static_cast<std::uint32_t>(b);
  if (notification.is(NotifyMessageType::RUThere)) {
    // Answered whether or not we announced DPD ourselves: it costs one informational.
    send_dpd(mm, NotifyMessageType::RUThereAck, sequence);
    ++counters_.dpd_acks_sent;
    return;
  }
  if (mm.dpd && mm.dpd->acknowledged(sequence, now())) {
    ++counters_.dpd_acks_received;
    return;
  }
  ++counters_.dpd_acks_unexpected;
  if (worth_logging(counters_.dpd_acks_unexpected)) {
    log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": R-U-THERE-ACK " + std::to_string(sequence) +
        " answers no R-U-THERE of ours");
  }
}

void IkeService::Engine::dpd_timers(TimePoint t) {
  const auto watched = [](const auto& mm) { return !mm->dead && mm->dpd && mm->sa->established(); };
  if (std::none_of(main_modes_.begin(), main_modes_.end(), watched)) {
    dpd_sampler_.stop();
    return;
  }
  if (dpd_sampler_.due(t)) {
    const auto totals = dpd_sampler_.sample(dataplane_, t);
    for (auto& mm : main_modes_) {
      if (!watched(mm)) continue;
      const auto found = totals.find(mm->peer.address);
      const PeerPackets packets = found != totals.end() ? found->second : PeerPackets{};
      mm->dpd->traffic(packets.inbound, packets.outbound, found != totals.end(), t);
    }
  }
  for (auto& mm_ptr : main_modes_) {
    if (!watched(mm_ptr)) continue;
    auto& mm = *mm_ptr;
    if (const auto due = mm.dpd->due(); !due || *due > t) continue;
    switch (mm.dpd->on_timer(t)) {
      case DeadPeerDetector::Action::None: break;
      case DeadPeerDetector::Action::Probe:
        ++counters_.dpd_probes_sent;
        log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ": R-U-THERE " + std::to_string(mm.dpd->sequence()) +
            " to " + mm.peer.address.to_string() + " (" + std::to_string(mm.dpd->unanswered()) + " of " +
            std::to_string(options_.dpd.max_probes) + ")");
        send_dpd(mm, NotifyMessageType::RUThere, mm.dpd->sequence());
        break;
      case DeadPeerDetector::Action::Dead: peer_dead(mm); break;
    }
  }
}

void IkeService::Engine::peer_dead(MainMode& mm) {
  ++counters_.peers_dead;
  const std::string reason = "peer-dead: " + mm.peer.address.to_string() + " answered none of " +
                             std::to_string(options_.dpd.max_probes) + " R-U-THERE";
  log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + ":" + sa::hex_cookie(mm.sa->responder_cookie()) + ": " +
      reason + "; removing its phase 1 and quick mode SAs");
  mm.dead = true;
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (sas_[i].peer == mm.peer) delete_pair(i, reason, false);
  }
  // The phase 1 SA itself: SasDeleted with no SPIs.
  emit(IkeEvent{IkeEvent::Kind::SasDeleted, mm.peer.address, mm.sa->role(), auth_name(mm), 0, 0, 0, reason});
}

void IkeService::Engine::delete_pair(std::size_t index, const std::string& reason, bool notify) {
  const QuickModeSa record = sas_[index];
  sas_.erase(sas_.begin() + static_cast<std::ptrdiff_t>(index));
  std::string errors;
  if (auto d = dataplane_.delete_sa(record.inbound_spi, driver::crypto::Direction::Inbound); !d) errors += "; " + d.error();
  // Outbound SPIs are the peer's choice: another peer may have chosen the same one.
  if (auto d = dataplane_.delete_sa_of_peer(record.outbound_spi, driver::crypto::Direction::Outbound, record.peer.address); !d) {
    errors += "; " + d.error();
  }
  ++counters_.sas_deleted;
  log("IKE: deleted SAs inbound " + hex32(record.inbound_spi) + " / outbound " + hex32(record.outbound_spi) + " to " +
      record.peer.address.to_string() + " (filter " + std::to_string(record.policy.filter_id) + "): " + reason + errors);
  if (notify) {
    if (MainMode* mm = usable_main_mode(record.peer.address); mm != nullptr && mm->sa->established()) {
      send_informational(*mm, ipsec_deletes(record.chosen, record.inbound_spi, record.inbound_ah_spi), "DELETE");
    }
  }
  emit(IkeEvent{IkeEvent::Kind::SasDeleted, record.peer.address, record.role, record.auth_method, record.policy.filter_id,
                record.inbound_spi, record.outbound_spi, reason});
}

void IkeService::Engine::release_outbound(Exchange& ex) {
  ex.release_outbound_at.reset();
  if (auto released = ex.installer->release(); !released) {
    // The peer has the pair since message 3: take our inbound SA down and tell it.
    MainMode& mm = *ex.main_mode;
    const std::uint32_t spi = ex.qm->inbound_spi();
    if (auto d = dataplane_.delete_sa(spi, driver::crypto::Direction::Inbound); !d) {
      log("IKE: removing the inbound SA " + hex32(spi) + " of a quick mode whose outbound SA failed: " + d.error());
    }
    if (!mm.dead && mm.sa->established()) {
      send_informational(mm, ipsec_deletes(ex.qm->chosen(), spi, ex.qm->inbound_bundled_ah_spi()), "DELETE");
    }
    ex.dead = true;
    ex.reported = true;
    ++counters_.quick_modes_failed;
    emit(IkeEvent{IkeEvent::Kind::QuickModeFailed, mm.peer.address, ex.role, auth_name(mm), ex.policy.filter_id, 0, 0,
                  released.error()});
    return;
  }
  after_quick_mode_step(ex);
}

void IkeService::Engine::on_informational(const Endpoint& from, std::span<const std::byte> bytes, const IsakmpHeader& h) {
  if (!h.has(HeaderFlag::Encryption)) {
    on_unprotected_informational(from, bytes, h);
    return;
  }
  MainMode* mm = main_mode_by_cookies(h, from.address);
  if (mm == nullptr || !mm->sa->keys_shared()) {
    // Protected informationals need a main mode with keys (unprotected ones: above).
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) {
      log("IKE: ignored an informational from " + from.address.to_string() + ": no main mode with keys matches it");
    }
    return;
  }
  auto message = open_informational(*mm->sa, bytes);
  if (!message) {
    ++counters_.informational_bad;
    if (worth_logging(counters_.informational_bad)) log("IKE: dropped an informational from " + from.address.to_string() + ": " + message.error());
    return;
  }
  std::vector<std::byte> ours(mm->sa->initiator_cookie().begin(), mm->sa->initiator_cookie().end());
  ours.insert(ours.end(), mm->sa->responder_cookie().begin(), mm->sa->responder_cookie().end());
  const auto deletes = message->all<Delete>();
  const bool deletes_main_mode = std::any_of(deletes.begin(), deletes.end(), [&](const Delete* d) {
    return d->protocol == ProtocolId::Isakmp && d->spi_size == kIsakmpSpiSize && std::ranges::find(d->spis, ours) != d->spis.end();
  });
  for (const auto* notification : message->all<Notification>()) {
    if (notification->is(NotifyMessageType::RUThere) || notification->is(NotifyMessageType::RUThereAck)) {
      on_dpd_notification(*mm, *notification);
      continue;
    }
    // An error for the main mode itself (refusal.h: SPI = the cookie pair, no data; a quick mode
    // refusal carries the refused Message ID): the peer refused our main mode 5 (we are not
    // established yet) or refuses the SA it counted established (its DELETE follows).
    if (notification->is_error() && notification->spi == ours && notification->data.empty()) {
      ++counters_.refusals_received;
      mm->refused_by_peer = refusal_text(from.address, *notification);
      mm->refused_kind = failure_kind(static_cast<NotifyMessageType>(notification->message_type));
      log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": " + mm->refused_by_peer);
      continue;
    }
    if (notification->is_error()) {
      on_quick_mode_refusal(*mm, *notification);
      continue;
    }
    log("IKE: " + from.address.to_string() + " notifies " + std::to_string(notification->message_type));
  }
  if (!mm->sa->established()) {
    mm->peer_answered = true;
    if (!mm->refused_by_peer.empty() || deletes_main_mode) {
      const std::string reason =
          mm->refused_by_peer.empty() ? "peer " + from.address.to_string() + " deleted the ISAKMP SA" : mm->refused_by_peer;
      fail_main_mode(*mm, reason + " (in state " + std::string(sa::name(mm->sa->state())) + ")",
                     mm->refused_by_peer.empty() ? FailureKind::Other : mm->refused_kind);
    }
    return;
  }
  if (mm->dpd) mm->dpd->heard(now());   // HASH(1) checked: the peer is alive (after an ACK is matched)
  for (const auto* d : deletes) {
    ++counters_.deletes_received;
    if (d->protocol == ProtocolId::Isakmp && d->spi_size == kIsakmpSpiSize) {
      if (std::ranges::find(d->spis, ours) != d->spis.end() && !mm->dead) {
        log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": the peer deleted it");
        mm->dead = true;
        // After a refusal of the SA (the peer could not verify our main mode 6): say why, as a
        // deleted phase 1 SA (SasDeleted with no SPIs).
        if (!mm->refused_by_peer.empty()) {
          emit(IkeEvent{IkeEvent::Kind::SasDeleted, mm->peer.address, mm->sa->role(), auth_name(*mm), 0, 0, 0,
                        mm->refused_by_peer + "; the peer deleted the ISAKMP SA"});
        }
      }
      continue;
    }
    const bool esp = d->protocol == ProtocolId::IpsecEsp;
    if ((!esp && d->protocol != ProtocolId::IpsecAh) || d->spi_size != kIpsecSpiSize) continue;
    for (const auto& raw : d->spis) {
      const std::uint32_t spi = static_cast<std::uint32_t>(raw[0]) << 24 | static_cast<std::uint32_t>(raw[1]) << 16 |
                                static_cast<std::uint32_t>(raw[2]) << 8 | static_cast<std::uint32_t>(raw[3]);
      for (std::size_t i = 0; i < sas_.size(); ++i) {
        const auto& record = sas_[i];
        // The record's SPIs of the deleted protocol: ESP's, AH's of a bundle, or AH's alone.
        const bool main_protocol = esp == record.chosen.esp.has_value();
        const bool named = spi != 0 && (main_protocol ? (record.outbound_spi == spi || record.inbound_spi == spi)
                                         : !esp && (record.outbound_ah_spi == spi || record.inbound_ah_spi == spi));
        if (record.peer.address == from.address && named) {
          delete_pair(i, "the peer sent DELETE for " + std::string(esp ? "ESP" : "AH") + " SPI " + hex32(spi), false);
          break;
        }
      }
    }
  }
}

// ---- requests from other threads ---------------------------------------------------------------

void IkeService::Engine::initiate(const driver::Acquire& acquire) {
  ++counters_.acquires;
  bool covered = false;
  const auto t = now();
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (sas_[i].peer.address != acquire.peer || sas_[i].policy.filter_id != acquire.filter_id) continue;
    if (t - sas_[i].established < options_.acquire_grace) {
      covered = true;
      continue;
    }
    delete_pair(i, "the dataplane asked for a new SA: this pair was removed outside IKE", true);
  }
  if (covered || negotiating(acquire.peer, acquire.filter_id)) {
    ++counters_.acquires_coalesced;
    knock_again(acquire.peer, t);
    return;
  }
  negotiate(acquire, std::nullopt);
}

void IkeService::Engine::knock_again(const IpAddress& peer, TimePoint t) {
  for (auto& mm : main_modes_) {
    if (mm->dead || mm->peer.address != peer || mm->sa->role() != auth::Role::Initiator) continue;
    if (mm->sa->state() != sa::Phase1Sa::State::MainMode1Sent || mm->peer_answered) continue;
    if (t - mm->knocked.value_or(mm->created) < kKnockInterval) continue;
    mm->knocked = t;
    send(mm->peer, mm->sa->last_sent());
    if (worth_logging(++mm->knocks)) {
      log("IKE main mode " + sa::hex_cookie(mm->sa->initiator_cookie()) + ": " + peer.to_string() +
          " has not answered and traffic waits for it: main mode 1 sent again (" + std::to_string(mm->knocks) + " times)");
    }
  }
}

void IkeService::Engine::negotiate(const driver::Acquire& acquire, std::optional<QuickModePolicy> known) {
  IkeEvent failed{IkeEvent::Kind::QuickModeFailed, acquire.peer, auth::Role::Initiator, {}, acquire.filter_id, 0, 0, {}};
  auto qm_policy = known ? Expected<QuickModePolicy, std::string>(std::move(*known)) : policy_.quick_mode_for_acquire(acquire);
  if (!qm_policy) {
    ++counters_.no_policy;
    failed.reason = "no quick mode policy for filter " + std::to_string(acquire.filter_id) + ": " + qm_policy.error();
    failed.failure = FailureKind::NoPolicy;
    emit(failed);
    return;
  }
  if (MainMode* mm = main_mode_for_new_quick_mode(acquire.peer)) {
    start_quick_mode(*mm, std::move(*qm_policy));
    return;
  }
  std::vector<PendingQuickMode> pending;
  pending.push_back(PendingQuickMode{std::move(*qm_policy), now()});
  if (auto started = start_main_mode(acquire.peer, acquire.filter_id, std::move(pending)); !started) {
    ++counters_.no_policy;
    failed.kind = IkeEvent::Kind::MainModeFailed;
    failed.reason = started.error();
    failed.failure = FailureKind::NoPolicy;
    emit(failed);
  }
}

Expected<IkeService::Engine::MainMode*, std::string> IkeService::Engine::start_main_mode(
    const IpAddress& peer, std::optional<std::uint32_t> filter_id, std::vector<PendingQuickMode> pending) {
  auto p1_policy = policy_.phase1_for(options_.local, peer, filter_id);
  if (!p1_policy || p1_policy->auth.empty() || !p1_policy->auth.front()) {
    return unexpected("no main mode policy for " + peer.to_string() + ": " +
                      (p1_policy ? std::string("no authentication method") : p1_policy.error()));
  }
  auto mm = std::make_unique<MainMode>();
  mm->id = next_id_++;
  mm->auth = p1_policy->auth.front();
  mm->quick_mode_limit = p1_policy->quick_mode_limit;
  mm->sa = sa::Phase1Sa::initiate(phase1_config(*p1_policy, peer), *mm->auth, options_.clock);
  mm->peer = Endpoint{peer, options_.port};
  mm->created = now();
  mm->pending = std::move(pending);
  auto message_1 = mm->sa->build_main_mode_1();
  if (!message_1) {
    fail_main_mode(*mm, message_1.error(), FailureKind::Other);
    return nullptr;
  }
  send(mm->peer, *message_1);
  mm->sent = true;
  return main_modes_.emplace_back(std::move(mm)).get();
}

void IkeService::Engine::renew(MainMode& mm) {
  const auto& peer = mm.peer.address;
  const auto cookie = sa::hex_cookie(mm.sa->initiator_cookie());
  for (const auto& other : main_modes_) {
    if (other.get() == &mm || other->dead || other->peer.address != peer || other->sa->state() == sa::Phase1Sa::State::Failed) continue;
    if (!other->sa->established() || (other->expires && mm.expires && *other->expires > *mm.expires)) {
      log("IKE main mode " + cookie + " with " + peer.to_string() + ": near its end; a newer main mode is up or under way");
      return;
    }
  }
  const bool has_sas = std::any_of(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.peer.address == peer; });
  if (!has_sas && mm.pending.empty()) {
    log("IKE main mode " + cookie + " with " + peer.to_string() + ": near its end; no quick mode SAs with the peer, not renewed");
    return;
  }
  auto started = start_main_mode(peer, std::nullopt, {});
  if (!started) {
    log("IKE main mode " + cookie + " with " + peer.to_string() + ": could not renew it: " + started.error());
    return;
  }
  log("IKE main mode " + cookie + " with " + peer.to_string() + ": renewing phase 1 before its lifetime ends" +
      (*started != nullptr ? " (new main mode " + sa::hex_cookie((*started)->sa->initiator_cookie()) + ")" : std::string()));
}

void IkeService::Engine::expiry(const driver::SaExpiry& expiry) {
  for (std::size_t i = 0; i < sas_.size(); ++i) {
    auto& record = sas_[i];
    const bool match = expiry.direction == driver::crypto::Direction::Outbound ? record.outbound_spi == expiry.spi
                                                                               : record.inbound_spi == expiry.spi;
    if (!match) continue;
    if (expiry.kind == driver::ExpiryKind::Hard) {
      log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() + " reached its hard lifetime");
      sas_.erase(sas_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    if (record.rekeying || negotiating(record.peer.address, record.policy.filter_id)) return;
    if (record.policy.default_response) {
      // A dynamic filter's SAs are the initiator's to rekey; ours end with their hard lifetime.
      log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() +
          " reached its soft lifetime: a default response SA, the initiator rekeys");
      return;
    }
    record.rekeying = true;
    log("IKE: SA " + hex32(expiry.spi) + " to " + record.peer.address.to_string() + " reached its soft lifetime: rekeying");
    driver::Acquire acquire;
    acquire.filter_id = record.policy.filter_id;
    acquire.peer = record.peer.address;
    acquire.source = record.policy.local.prefix.address();
    acquire.destination = record.policy.remote.prefix.address();
    negotiate(acquire, record.policy);
    return;
  }
}

void IkeService::Engine::retain(const std::vector<std::uint32_t>& live) {
  const std::set<std::uint32_t> keep(live.begin(), live.end());
  for (std::size_t i = sas_.size(); i-- > 0;) {
    if (!keep.contains(sas_[i].policy.filter_id)) {
      delete_pair(i, "filter " + std::to_string(sas_[i].policy.filter_id) + " is no longer in the policy", true);
    }
  }
  for (auto& mm : main_modes_) {
    std::erase_if(mm->pending, [&](const PendingQuickMode& p) { return !keep.contains(p.policy.filter_id); });
  }
  for (auto& ex : exchanges_) {
    if (!ex->qm->done() && !keep.contains(ex->policy.filter_id)) ex->dead = true;
  }
}

void IkeService::Engine::shutdown() {
  // Quick modes past message 3 are established for the peer: finish them, so their SAs go below.
  for (auto& ex : exchanges_) {
    if (ex->release_outbound_at) release_outbound(*ex);
  }
  for (std::size_t i = sas_.size(); i-- > 0;) delete_pair(i, "IKE is shutting down", true);
  for (auto& mm : main_modes_) {
    if (mm->dead || !mm->sa->established()) continue;
    send_informational(*mm, {isakmp_delete(mm->sa->initiator_cookie(), mm->sa->responder_cookie())}, "ISAKMP DELETE");
    mm->dead = true;
  }
  sweep();
}

// ---- timers ------------------------------------------------------------------------------------

void IkeService::Engine::timers() {
  if (const auto expired = embryonic_.expire(now() - options_.half_open_timeout); expired > 0) {
    counters_.embryonic_expired += expired;
  }
  const auto t = now();
  std::vector<MainMode*> to_renew;
  for (auto& mm_ptr : main_modes_) {
    auto& mm = *mm_ptr;
    if (mm.dead) continue;
    fall_back_to_clear(mm, t, false);
    if (const auto due = mm.sa->due(); due && *due <= t) {
      const auto before = mm.sa->state();
      send(mm.peer, mm.sa->on_timer());
      std::string extra;
      std::optional<FailureKind> kind;
      if (mm.peer_answered) kind = FailureKind::TimedOut;   // it answered, then went quiet
      if (before == sa::Phase1Sa::State::MainMode5Sent) {
        extra = " - the peer could not authenticate main mode 5: the preshared keys (or credentials) probably differ";
        kind = FailureKind::AuthenticationFailed;
      }
      after_main_mode_step(mm, extra, kind);
      if (mm.dead) continue;
    }
    if (mm.sa->established() && mm.peer.nat_t && mm.sa->nat().local_behind_nat) {
      if (!mm.next_keepalive) mm.next_keepalive = t + options_.nat_keepalive_interval;
      if (*mm.next_keepalive <= t) {
        const std::array<std::byte, 1> keepalive{sa::kNatKeepaliveByte};
        send(mm.peer, keepalive);
        ++counters_.nat_keepalives_sent;
        mm.next_keepalive = t + options_.nat_keepalive_interval;
      }
    }
    if (!mm.sa->established() && mm.sa->role() == auth::Role::Responder && t - mm.created >= options_.half_open_timeout) {
      ++counters_.half_open_timeouts;
      std::string reason = "main mode not completed within " +
                           std::to_string(duration_cast<std::chrono::milliseconds>(options_.half_open_timeout).count()) +
                           " ms (state " + std::string(sa::name(mm.sa->state())) + ")";
      if (mm.undecryptable > 0) {
        reason += "; " + std::to_string(mm.undecryptable) +
                  " main mode 5 message(s) did not decrypt - the peer's preshared key probably differs";
      }
      fail_main_mode(mm, reason, FailureKind::TimedOut);
      continue;
    }
    if (mm.renew_at && *mm.renew_at <= t) {
      mm.renew_at.reset();
      to_renew.push_back(&mm);   // after this loop: renewing adds to main_modes_
    }
    if (mm.expires && *mm.expires <= t) {
      ++counters_.main_modes_expired;
      log("IKE main mode " + sa::hex_cookie(mm.sa->initiator_cookie()) + " with " + mm.peer.address.to_string() +
          ": lifetime over, removed");
      send_informational(mm, {isakmp_delete(mm.sa->initiator_cookie(), mm.sa->responder_cookie())}, "ISAKMP DELETE");
      mm.dead = true;
    }
  }
  for (auto* mm : to_renew) {
    if (!mm->dead) renew(*mm);
  }
  for (auto& ex : exchanges_) {
    if (ex->release_outbound_at && *ex->release_outbound_at <= t) release_outbound(*ex);
    if (ex->dead) continue;
    if (const auto due = ex->qm->due(); due && *due <= t) {
      send(ex->main_mode->peer, ex->qm->on_timer());
      after_quick_mode_step(*ex, FailureKind::TimedOut);
    }
    if (ex->linger_until && *ex->linger_until <= t) ex->dead = true;
  }
  std::erase_if(sas_, [&](const QuickModeSa& s) { return s.expires <= t; });
  dpd_timers(t);
  sweep();
}

void IkeService::Engine::sweep() {
  // Quick modes refer to their main mode's Phase1Sa: they go first.
  std::erase_if(exchanges_, [this](const auto& ex) {
    const bool gone = ex->dead || ex->main_mode->dead;
    if (gone && ex->release_outbound_at) release_outbound(*ex);
    if (gone && !ex->reported) abandon(*ex);
    return gone;
  });
  std::erase_if(main_modes_, [](const auto& mm) { return mm->dead; });
}

std::optional<TimePoint> IkeService::Engine::next_due() const {
  std::optional<TimePoint> next;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& mm : main_modes_) {
    consider(mm->sa->due());
    consider(mm->expires);
    if (!mm->dead) consider(mm->renew_at);
    if (mm->sent && !mm->peer_answered && !mm->dead) {
      for (const auto& pending : mm->pending) {
        if (pending.policy.fallback_to_clear && !pending.fell_back) consider(pending.requested + options_.fallback_delay);
      }
    }
    if (mm->dpd && !mm->dead) consider(mm->dpd->due());
    if (mm->dpd && !mm->dead && mm->sa->established()) consider(dpd_sampler_.next());
    consider(mm->next_keepalive);
    if (!mm->sa->established() && mm->sa->role() == auth::Role::Responder) consider(mm->created + options_.half_open_timeout);
  }
  for (const auto& ex : exchanges_) {
    consider(ex->qm->due());
    consider(ex->linger_until);
    consider(ex->release_outbound_at);
  }
  for (const auto& s : sas_) consider(s.expires);
  if (const auto oldest = embryonic_.oldest()) consider(*oldest + options_.half_open_timeout);
  return next;
}

// ---- snapshot ----------------------------------------------------------------------------------

void IkeService::Engine::publish() {
  Published p;
  for (const auto& mm : main_modes_) {
    if (mm->dead) continue;
    MainModeSaInfo info;
    info.peer = mm->peer.address;
    info.peer_port = mm->peer.port;
    info.nat_t = mm->peer.nat_t;
    info.role = mm->sa->role();
    info.status = main_mode_state(mm->sa->state());
    info.state = std::string(sa::name(mm->sa->state()));
    info.cookies = sa::hex_cookie(mm->sa->initiator_cookie()) + ":" + sa::hex_cookie(mm->sa->responder_cookie());
    info.auth_method = auth_name(*mm);
    info.dpd = mm->dpd.has_value();
    if (mm->sa->established()) {
      const auto& chosen = mm->sa->chosen();
      info.cipher = cipher_name(chosen);
      info.hash = std::string(crypto::hash_name(chosen.hash));
      info.group = static_cast<unsigned>(chosen.group);
    }
    info.quick_modes = static_cast<std::size_t>(
        std::count_if(sas_.begin(), sas_.end(), [&](const QuickModeSa& s) { return s.peer == mm->peer; }));
    p.main_modes.push_back(std::move(info));
    p.main_mode_expiry.push_back(mm->expires);
  }
  for (const auto& s : sas_) {
    QuickModeSaInfo info;
    info.peer = s.peer.address;
    info.role = s.role;
    info.filter_id = s.policy.filter_id;
    info.inbound_spi = s.inbound_spi;
    info.outbound_spi = s.outbound_spi;
    info.esp = s.chosen.esp.has_value();
    if (s.chosen.esp) {
      info.cipher = s.chosen.esp->cipher;
      info.integrity = s.chosen.esp->integrity;
    }
    if (s.chosen.ah) info.ah = s.chosen.ah->integrity;
    info.inbound_ah_spi = s.inbound_ah_spi;
    info.outbound_ah_spi = s.outbound_ah_spi;
    info.pfs_group = s.policy.pfs_group;
    info.auth_method = s.auth_method;
    info.default_response = s.policy.default_response;
    p.quick_modes.push_back(std::move(info));
    p.quick_mode_expiry.push_back(s.expires);
  }
  for (const auto& ex : exchanges_) {
    if (ex->dead || ex->reported || ex->main_mode->dead) continue;
    p.negotiating.push_back(QuickModeNegotiation{ex->main_mode->peer.address, ex->role, ex->policy.filter_id,
                                                 std::string(sa::name(ex->qm->state())), ex->policy.default_response});
  }
  for (const auto& mm : main_modes_) {
    if (mm->dead) continue;
    for (const auto& pending : mm->pending) {
      p.negotiating.push_back(QuickModeNegotiation{mm->peer.address, auth::Role::Initiator, pending.policy.filter_id,
                                                   pending.fell_back ? "SoftAssociation" : "WaitingForMainMode", false});
    }
  }
  p.failures.assign(failures_.begin(), failures_.end());
  p.counters = counters_;
  p.counters.embryonic = embryonic_.size();
  const std::lock_guard lock(published_mutex_);
  published_ = std::move(p);
}

IkeSnapshot IkeService::Engine::snapshot() const {
  const auto t = now();
  auto left = [&](TimePoint expires) { return expires > t ? duration_cast<seconds>(expires - t) : seconds(0); };
  const std::lock_guard lock(published_mutex_);
  IkeSnapshot s{published_.main_modes, published_.quick_modes, published_.negotiating, {}, published_.counters};
  for (const auto& [failure, at] : published_.failures) {
    s.failures.push_back(failure);
    s.failures.back().age = duration_cast<seconds>(t - at);
  }
  for (std::size_t i = 0; i < s.main_modes.size(); ++i) {
    if (published_.main_mode_expiry[i]) s.main_modes[i].lifetime_left = left(*published_.main_mode_expiry[i]);
  }
  for (std::size_t i = 0; i < s.quick_modes.size(); ++i) s.quick_modes[i].lifetime_left = left(published_.quick_mode_expiry[i]);
  return s;
}

// ---- the service -------------------------------------------------------------------------------

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start(IkeServiceOptions options, driver::Dataplane& dataplane,
                                                                     const PolicyLookup& policy, IkeListener& listener) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  auto socket = net::UdpSocket::bind(options.local, options.port);
  if (!socket) return unexpected("IKE: " + socket.error());
  // Best effort: without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
  (void)socket->set_receive_buffer(options.receive_buffer_bytes);
  if (auto prepared = dataplane.prepare_ike_socket(socket->native_handle(), false); !prepared) {
    return unexpected("IKE: UDP " + std::to_string(options.port) + ": " + prepared.error());
  }
  std::optional<net::UdpSocket> nat_socket;
  if (options.nat_traversal) {
    auto bound = net::UdpSocket::bind(options.local, options.nat_t_port);
    if (!bound) return unexpected("IKE: NAT-T: " + bound.error());
    (void)bound->set_receive_buffer(options.receive_buffer_bytes);
    if (auto prepared = dataplane.prepare_ike_socket(bound->native_handle(), true); !prepared) {
      return unexpected("IKE: NAT-T: UDP " + std::to_string(options.nat_t_port) + ": " + prepared.error());
    }
    nat_socket.emplace(std::move(*bound));
  }
  return start_on(std::move(options), std::move(*socket), std::move(nat_socket), dataplane, policy, listener);
}

Expected<std::unique_ptr<IkeService>, std::string> IkeService::start_on(IkeServiceOptions options, net::UdpSocket socket,
                                                                        std::optional<net::UdpSocket> nat_socket,
                                                                        driver::Dataplane& dataplane, const PolicyLookup& policy,
                                                                        IkeListener& listener) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (options.nat_traversal && !nat_socket) return unexpected(std::string("IKE: NAT-T needs a socket on the NAT-T port"));
  std::unique_ptr<IkeService> service(new IkeService(std::move(options), std::move(socket), dataplane, policy, listener));
  if (nat_socket) service->engine_->set_nat_socket(std::move(*nat_socket));
  if (service->wake_fd_ < 0) return unexpected(std::string("IKE: eventfd: ") + std::strerror(errno));
  service->thread_ = std::thread([s = service.get()] { s->run(); });
  return service;
}

IkeService::IkeService(IkeServiceOptions options, net::UdpSocket socket, driver::Dataplane& dataplane,
                       const PolicyLookup& policy, IkeListener& listener)
    : options_(std::move(options)),
      engine_(std::make_unique<Engine>(options_, std::move(socket), dataplane, policy, listener)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

IkeService::~IkeService() {
  if (thread_.joinable()) {
    post([this] {
      engine_->shutdown();
      stopping_ = true;
    });
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void IkeService::post(std::function<void()> command) {
  {
    const std::lock_guard lock(commands_mutex_);
    commands_.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  // A full counter (never in practice) still leaves the descriptor readable: nothing is lost.
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void IkeService::initiate(const driver::Acquire& acquire) {
  post([this, acquire] { engine_->initiate(acquire); });
}

void IkeService::on_expiry(const driver::SaExpiry& expiry) {
  post([this, expiry] { engine_->expiry(expiry); });
}

void IkeService::retain_filters(std::vector<std::uint32_t> live) {
  post([this, live = std::move(live)] { engine_->retain(live); });
}

IkeSnapshot IkeService::snapshot() const { return engine_->snapshot(); }

void IkeService::sync() {
  std::promise<void> done;
  auto future = done.get_future();
  post([this, &done] {
    engine_->publish();
    done.set_value();
  });
  future.wait();
}

void IkeService::run() {
  while (!stopping_) {
    auto wait = kMaxPollWait;
    if (const auto due = engine_->next_due()) {
      const auto until = duration_cast<std::chrono::milliseconds>(*due - engine_->now()) + std::chrono::milliseconds(1);
      wait = std::clamp(until, std::chrono::milliseconds(0), kMaxPollWait);
    }
    // A negative fd (no NAT-T socket) is ignored by poll().
    std::array<pollfd, 3> fds{pollfd{engine_->socket_fd(), POLLIN, 0}, pollfd{wake_fd_, POLLIN, 0},
                              pollfd{engine_->nat_socket_fd(), POLLIN, 0}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      if (options_.log) options_.log(std::string("IKE: poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) engine_->receive_all();
    if (fds[2].revents & POLLIN) engine_->receive_nat_t();
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
      std::vector<std::function<void()>> commands;
      {
        const std::lock_guard lock(commands_mutex_);
        commands.swap(commands_);
      }
      for (auto& command : commands) command();
    }
    engine_->timers();
    engine_->publish();
  }
}

}  // namespace ward::ike::service
