#include "ike/sa/quick_mode.h"

#include <algorithm>

#include "common/byte_writer.h"
#include "ike/sa/ipsec_transforms.h"
#include "ike/sa/quick_mode_lifetime.h"

namespace ward::ike::sa {
namespace {


Expected<std::uint32_t, std::string> random_u32(std::uint32_t at_least) {
  while (true) {
    auto raw = crypto::random_bytes(kIpsecSpiSize);
    if (!raw) return unexpected(std::move(raw).error());
    const auto value = spi_value(*raw);
    if (value >= at_least) return value;
  }
}

}  // namespace

std::string_view name(QuickModeExchange::State state) noexcept {
  switch (state) {
    case QuickModeExchange::State::Idle: return "Idle";
    case QuickModeExchange::State::QuickMode1Sent: return "QuickMode1Sent";
    case QuickModeExchange::State::QuickMode2Sent: return "QuickMode2Sent";
    case QuickModeExchange::State::QuickMode3Sent: return "QuickMode3Sent";
    case QuickModeExchange::State::QuickMode3Received: return "QuickMode3Received";
    case QuickModeExchange::State::Failed: return "Failed";
  }
  return "?";
}

Identification identification_of(const TrafficSelector& selector) {
  Identification id;
  const bool v4 = selector.prefix.family() == IpFamily::V4;
  const std::size_t size = v4 ? 4 : 16;
  const auto& address = selector.prefix.address().bytes();
  id.protocol = selector.protocol;
  id.port = selector.port;
  for (std::size_t i = 0; i < size; ++i) id.data.push_back(static_cast<std::byte>(address[i]));
  if (selector.prefix.is_host()) {
    id.type = v4 ? IdType::Ipv4Addr : IdType::Ipv6Addr;
    return id;
  }
  id.type = v4 ? IdType::Ipv4AddrSubnet : IdType::Ipv6AddrSubnet;
  unsigned bits = selector.prefix.length();
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned take = std::min(bits, 8U);
    id.data.push_back(static_cast<std::byte>(take == 0 ? 0 : (0xff << (8 - take)) & 0xff));
    bits -= take;
  }
  return id;
}

QuickModeExchange::QuickModeExchange(auth::Role role, const Phase1Sa& phase1, QuickModeConfig config,
                                     driver::Dataplane& dataplane, Clock clock)
    : role_(role), phase1_(phase1), config_(std::move(config)), dataplane_(dataplane), clock_(std::move(clock)),
      retransmit_(config_.retransmit) {}

std::unique_ptr<QuickModeExchange> QuickModeExchange::initiate(const Phase1Sa& phase1, QuickModeConfig config,
                                                               driver::Dataplane& dataplane, Clock clock) {
  return std::unique_ptr<QuickModeExchange>(
      new QuickModeExchange(auth::Role::Initiator, phase1, std::move(config), dataplane, std::move(clock)));
}

void QuickModeExchange::log(const std::string& line) const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string mid;
  for (int shift = 28; shift >= 0; shift -= 4) mid.push_back(kDigits[(message_id_ >> shift) & 0xf]);
  phase1_.log("quick mode " + mid + (role_ == auth::Role::Initiator ? " (initiator): " : " (responder): ") + line);
}

bool QuickModeExchange::transition(State to, std::string_view reason) {
  const State from = state_;
  bool allowed = false;
  switch (to) {
    case State::QuickMode1Sent: allowed = from == State::Idle && role_ == auth::Role::Initiator; break;
    case State::QuickMode2Sent: allowed = from == State::Idle && role_ == auth::Role::Responder; break;
    case State::QuickMode3Sent: allowed = from == State::QuickMode1Sent; break;
    case State::QuickMode3Received: allowed = from == State::QuickMode2Sent; break;
    case State::Failed: allowed = from != State::Failed && from != State::QuickMode3Sent && from != State::QuickMode3Received; break;
    case State::Idle: allowed = false; break;
  }
  if (!allowed) {
    log("refused transition " + std::string(name(from)) + " -> " + std::string(name(to)) + " (" + std::string(reason) + ")");
    return false;
  }
  state_ = to;
  log(std::string(name(from)) + " -> " + std::string(name(to)) + " (" + std::string(reason) + ")");
  return true;
}

void QuickModeExchange::fail(IkeError reason) {
  if (state_ == State::Failed) return;
  failure_ = std::move(reason);
  if (transition(State::Failed, failure_.text)) retransmit_.answered();
  release_own_spis();
}

QuickModeExchange::~QuickModeExchange() {
  // An exchange dropped before it installed (its main mode went, the service stopped): quietly, the
  // log may belong to a phase 1 SA on its way out too.
  for (const auto& [spi, protocol] : reserved_spis_) (void)dataplane_.release_spi(spi, protocol);
}

IsakmpHeader QuickModeExchange::header() const {
  IsakmpHeader h;
  h.initiator_cookie = phase1_.initiator_cookie();
  h.responder_cookie = phase1_.responder_cookie();
  h.exchange_type = ExchangeType::QuickMode;
  h.message_id = message_id_;
  h.set(HeaderFlag::Encryption, true);
  return h;
}

std::vector<std::byte> QuickModeExchange::send(Expected<std::vector<std::byte>, std::string> message, State next,
                                               std::string_view reason, bool expect_answer) {
  if (!message) {
    fail(silent(std::move(message).error()));
    return {};
  }
  if (!transition(next, reason)) {
    fail(silent("internal error: illegal transition"));
    return {};
  }
  retransmit_.sent(*message, clock_(), expect_answer);
  return std::move(*message);
}

// ---- proposals -------------------------------------------------------------------------------------

Expected<void, IkeError> QuickModeExchange::check_ids(const ParsedMessage& message) const {
  const auto ids = message.all<Identification>();
  if (ids.size() != 2) return unexpected(refusal(NotifyMessageType::InvalidIdInformation, "quick mode without IDci/IDcr is not supported"));
  if (!(*ids[0] == id_ci_) || !(*ids[1] == id_cr_)) {
    return unexpected(refusal(NotifyMessageType::InvalidIdInformation, "the peer's traffic selectors do not mirror our filter"));
  }
  return {};
}

Expected<std::vector<std::byte>, std::string> QuickModeExchange::seal_with_hash(std::vector<Payload> rest, bool second) {
  auto body = encode_payload_chain(rest);
  if (!body) return unexpected("encoding quick mode: " + body.error().message);
  const auto& keys = phase1_.keys();
  const auto digest = second ? crypto::quick_mode_hash_2(keys.hash, keys.skeyid_a, message_id_, ni_, body->bytes)
                             : crypto::quick_mode_hash_1(keys.hash, keys.skeyid_a, message_id_, body->bytes);
  std::vector<Payload> payloads{Hash{{digest.reveal().begin(), digest.reveal().end()}}};
  for (auto& p : rest) payloads.push_back(std::move(p));
  return seal(header(), payloads, cipher_state_);
}

driver::crypto::TunnelEndpoints tunnel_endpoints(const IpAddress& local, const IpAddress& remote) {
  auto convert = [](const IpAddress& a) {
    const std::size_t size = a.family() == IpFamily::V4 ? 4 : 16;
    return *driver::crypto::IpAddress::from_bytes(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(a.bytes().data()), size));
  };
  return driver::crypto::TunnelEndpoints{convert(local), convert(remote)};
}

// NAT-OAi then NAT-OAr (RFC 3947 5.2): the original addresses of the initiator and the
// responder, sent in transport mode over a NAT so the peer can fix up TCP/UDP checksums.
void QuickModeExchange::add_nat_original_addresses(std::vector<Payload>& rest) const {
  if (config_.tunnel || !config_.udp_encapsulation) return;
  auto oa = [](const IpAddress& address) {
    NatOriginalAddress p;
    p.type = address.family() == IpFamily::V4 ? IdType::Ipv4Addr : IdType::Ipv6Addr;
    const auto& raw = address.bytes();
    const std::size_t size = address.family() == IpFamily::V4 ? 4 : 16;
    for (std::size_t i = 0; i < size; ++i) p.address.push_back(std::byte(raw[i]));
    return p;
  };
  const auto& own = phase1_.config().local;
  const auto& peer = phase1_.config().peer;
  const bool initiator = role_ == auth::Role::Initiator;
  rest.push_back(oa(initiator ? own : peer));
  rest.push_back(oa(initiator ? peer : own));
}

// ---- messages ------------------------------------------------------------------------------------

Expected<std::vector<std::byte>, std::string> QuickModeExchange::build_quick_mode_1() {
  if (!phase1_.established()) return unexpected(std::string("quick mode needs an established main mode SA"));
  if (config_.proposals.empty()) return unexpected(std::string("no security methods configured"));
  auto mid = random_u32(1);
  auto nonce = crypto::random_bytes(phase1_.config().nonce_size);
  if (!mid || !nonce) return unexpected(std::string("RAND_bytes failed"));
  bool esp = false, ah = false;   // the protocols of the methods we can offer here
  for (const auto& suite : config_.proposals) {
    if (!unusable_here(suite).empty()) continue;
    esp = esp || suite.esp.has_value();
    ah = ah || suite.ah.has_value();
  }
  if (auto spis = own_spis(esp, ah); !spis) return unexpected(std::move(spis).error());
  message_id_ = *mid;
  ni_ = std::move(*nonce);
  cipher_state_ = CipherState{phase1_.cipher(), &phase1_.keys().encryption_key,
                              crypto::quick_mode_iv(phase1_.keys().hash, phase1_.last_iv(), message_id_,
                                                    phase1_.cipher().block_size())};
  SecurityAssociation sa;
  sa.proposals = make_proposals();
  if (sa.proposals.empty()) {
    std::string why;
    for (const auto& suite : config_.proposals) why += "; " + describe(suite) + ": " + unusable_here(suite);
    return unexpected("none of our security methods can be used with this peer" + why);
  }
  std::vector<Payload> rest{std::move(sa), Nonce{ni_}};
  if (config_.pfs_group) {
    auto dh = crypto::DiffieHellman::generate(*config_.pfs_group);
    if (!dh) return unexpected(std::move(dh).error());
    dh_.emplace(std::move(*dh));
    rest.push_back(KeyExchange{dh_->public_value()});
  }
  id_ci_ = identification_of(config_.local);
  id_cr_ = identification_of(config_.remote);
  rest.push_back(id_ci_);
  rest.push_back(id_cr_);
  add_nat_original_addresses(rest);
  auto sent = send(seal_with_hash(std::move(rest), false), State::QuickMode1Sent, "sent quick mode 1 (HASH(1) SA Ni)", true);
  if (state_ == State::Failed) return unexpected(failure_.text);
  return sent;
}

namespace {

// Checks the HASH payload that opens a quick mode message against `expected_of(after_hash)`.
template <class Expect>
Expected<void, std::string> check_leading_hash(const Opened& opened, const char* which, Expect expected_of) {
  const auto raw = raw_payloads(opened.plaintext, opened.message.padding);
  const auto* received = std::get_if<Hash>(&opened.message.payloads.front());
  if (raw.empty() || received == nullptr) return unexpected(std::string(which) + " is not the first payload");
  const std::size_t first = raw[0].size();
  const std::size_t end = opened.plaintext.size() - opened.message.padding;
  const auto after = std::span<const std::byte>(opened.plaintext).subspan(first, end - first);
  const auto digest = expected_of(after);
  if (!crypto::equal_constant_time(digest.reveal(), received->data)) {
    return unexpected(std::string(which) + " mismatch: the message was not built with this phase 1 SA's keys");
  }
  return {};
}

}  // namespace

Expected<std::unique_ptr<QuickModeExchange>, IkeError> QuickModeExchange::respond(
    const Phase1Sa& phase1, QuickModeConfig config, driver::Dataplane& dataplane, Clock clock,
    std::span<const std::byte> message_1, std::vector<std::byte>& reply) {
  if (!phase1.established()) return unexpected(silent("quick mode 1 dropped: main mode is not established"));
  auto split = split_datagram(message_1);
  if (!split) return unexpected(silent("quick mode 1 dropped: " + split.error().to_string()));
  const auto& h = split->header;
  if (h.initiator_cookie != phase1.initiator_cookie() || h.responder_cookie != phase1.responder_cookie() ||
      h.exchange_type != ExchangeType::QuickMode || h.message_id == 0) {
    return unexpected(silent("quick mode 1 dropped: not a quick mode message of this phase 1 SA"));
  }
  std::unique_ptr<QuickModeExchange> qm(
      new QuickModeExchange(auth::Role::Responder, phase1, std::move(config), dataplane, std::move(clock)));
  qm->message_id_ = h.message_id;
  qm->cipher_state_ = CipherState{phase1.cipher(), &phase1.keys().encryption_key,
                                  crypto::quick_mode_iv(phase1.keys().hash, phase1.last_iv(), h.message_id,
                                                        phase1.cipher().block_size())};
  auto opened = open(*split, MessageKind::QuickModeMessage1, qm->cipher_state_);
  if (!opened) return unexpected(silent("quick mode 1 dropped: " + opened.error()));
  if (auto consumed = qm->consume_quick_mode_1(*opened); !consumed) {
    qm->log("quick mode 1 refused: " + consumed.error().text);
    return unexpected(std::move(consumed).error());
  }
  qm->last_received_.assign(message_1.begin(), message_1.end());
  reply = qm->send(qm->build_quick_mode_2(), State::QuickMode2Sent, "received quick mode 1, sent 2 (HASH(2) SA Nr)", true);
  if (qm->state_ == State::Failed) return unexpected(qm->failure_);
  if (qm->config_.install_inbound_at_message_2) {
    if (auto in = qm->install_direction(driver::crypto::Direction::Inbound); !in) {
      qm->fail(silent(in.error()));
      return unexpected(qm->failure_);
    }
    qm->log("installed the inbound SA (SPI " + std::to_string(qm->inbound_spi()) + ") with message 2");
  }
  return qm;
}

Expected<void, IkeError> QuickModeExchange::consume_quick_mode_1(const Opened& opened) {
  const auto& keys = phase1_.keys();
  if (auto checked = check_leading_hash(opened, "HASH(1)", [&](std::span<const std::byte> after) {
        return crypto::quick_mode_hash_1(keys.hash, keys.skeyid_a, message_id_, after);
      });
      !checked) {
    return unexpected(silent(std::move(checked).error()));   // not the peer's: nothing is told
  }
  ni_ = opened.message.find<Nonce>()->data;
  id_ci_ = identification_of(config_.remote);   // the initiator's side is our remote side
  id_cr_ = identification_of(config_.local);
  if (auto ids = check_ids(opened.message); !ids) return ids;
  const auto* ke = opened.message.find<KeyExchange>();
  if (config_.pfs_group.has_value() != (ke != nullptr)) {
    return unexpected(silent(std::string("quick mode 1 ") + (ke ? "carries KE but our policy has no PFS" : "has no KE but our policy requires PFS")));
  }
  if (ke) peer_ke_ = ke->data;
  // RFC 2408 4.2: consecutive proposal payloads with one number form a suite; suites are
  // alternatives, taken in the peer's order.
  const auto& offered = opened.message.find<SecurityAssociation>()->proposals;
  std::string refused;
  for (std::size_t i = 0; i < offered.size();) {
    std::vector<const Proposal*> suite;
    for (const auto number = offered[i].number; i < offered.size() && offered[i].number == number; ++i) suite.push_back(&offered[i]);
    auto choice = read_suite(suite);
    if (!choice) {
      refused += "; " + choice.error();
      continue;
    }
    chosen_ = choice->suite;
    chosen_proposals_ = std::move(choice->proposals);
    peer_esp_spi_ = choice->esp_spi;
    peer_ah_spi_ = choice->ah_spi;
    TransformAttributes proposed;
    proposed.lifetime = choice->lifetime;
    proposed.kilobytes = choice->kilobytes;
    const auto applied = responder_lifetime(proposed, config_.lifetime, config_.lifetime_kilobytes);
    config_.lifetime = applied.seconds;
    config_.lifetime_kilobytes = applied.kilobytes;
    tell_lifetime_ = applied.tell_initiator;
    log("chose " + describe(chosen_) + ", lifetime " + std::to_string(applied.seconds.count()) + " s" +
        (applied.kilobytes != 0 ? " / " + std::to_string(applied.kilobytes) + " KB" : std::string()) +
        (tell_lifetime_ ? " (ours, shorter than proposed: RESPONDER-LIFETIME)" : ""));
    return {};
  }
  return unexpected(refusal(NotifyMessageType::NoProposalChosen, "none of the peer's security methods is acceptable" + refused));
}

Expected<std::vector<std::byte>, std::string> QuickModeExchange::build_quick_mode_2() {
  auto nonce = crypto::random_bytes(phase1_.config().nonce_size);
  if (!nonce) return unexpected(std::string("RAND_bytes failed"));
  if (auto spis = own_spis(chosen_.esp.has_value(), chosen_.ah.has_value()); !spis) return unexpected(std::move(spis).error());
  nr_ = std::move(*nonce);
  SecurityAssociation sa;
  sa.proposals = chosen_proposals_;
  for (auto& proposal : sa.proposals) proposal.spi = spi_bytes(proposal.protocol == ProtocolId::IpsecAh ? own_ah_spi_ : own_esp_spi_);
  std::vector<Payload> rest{std::move(sa), Nonce{nr_}};
  if (config_.pfs_group) {
    auto dh = crypto::DiffieHellman::generate(*config_.pfs_group);
    if (!dh) return unexpected(std::move(dh).error());
    dh_.emplace(std::move(*dh));
    rest.push_back(KeyExchange{dh_->public_value()});
  }
  rest.push_back(id_ci_);
  rest.push_back(id_cr_);
  if (tell_lifetime_) {
    // RFC 2407 4.6.3.1: protocol and SPI of the SA (ours, ESP's in a bundle), our lifetimes.
    Notification n;
    n.protocol = chosen_.esp ? ProtocolId::IpsecEsp : ProtocolId::IpsecAh;
    n.message_type = static_cast<std::uint16_t>(NotifyMessageType::ResponderLifetime);
    n.spi = spi_bytes(chosen_.esp ? own_esp_spi_ : own_ah_spi_);
    n.data = lifetime_notification_data(config_.lifetime, config_.lifetime_kilobytes);
    rest.push_back(std::move(n));
  }
  add_nat_original_addresses(rest);
  return seal_with_hash(std::move(rest), true);
}

Expected<void, IkeError> QuickModeExchange::consume_quick_mode_2(const Opened& opened) {
  const auto& keys = phase1_.keys();
  if (auto checked = check_leading_hash(opened, "HASH(2)", [&](std::span<const std::byte> after) {
        return crypto::quick_mode_hash_2(keys.hash, keys.skeyid_a, message_id_, ni_, after);
      });
      !checked) {
    return unexpected(silent(std::move(checked).error()));
  }
  const auto* sa = opened.message.find<SecurityAssociation>();
  const bool one_suite = !sa->proposals.empty() && sa->proposals.size() <= 2 &&
                         std::all_of(sa->proposals.begin(), sa->proposals.end(), [&](const Proposal& p) {
                           return p.number == sa->proposals.front().number && p.transforms.size() == 1;
                         });
  if (!one_suite) {
    return unexpected(refusal(NotifyMessageType::BadProposalSyntax,
                              "quick mode 2 must carry one suite (one proposal number) with one transform per protocol"));
  }
  std::vector<const Proposal*> suite;
  for (const auto& p : sa->proposals) suite.push_back(&p);
  auto choice = read_suite(suite);
  if (!choice) return unexpected(silent("quick mode 2: " + choice.error()));
  chosen_ = choice->suite;
  peer_esp_spi_ = choice->esp_spi;
  peer_ah_spi_ = choice->ah_spi;
  // The responder's lifetime when shorter: in its RESPONDER-LIFETIME notification, or in the SA
  // it answered with (some responders put theirs there).
  auto shorten = [&](std::optional<std::chrono::seconds> seconds, std::optional<std::uint64_t> kilobytes, const char* from) {
    if (seconds && *seconds < config_.lifetime) {
      log("the responder's lifetime " + std::to_string(seconds->count()) + " s (" + from + ") is shorter than ours (" +
          std::to_string(config_.lifetime.count()) + " s): applied");
      config_.lifetime = *seconds;
    }
    if (kilobytes && (config_.lifetime_kilobytes == 0 || *kilobytes < config_.lifetime_kilobytes)) config_.lifetime_kilobytes = *kilobytes;
  };
  shorten(choice->lifetime, choice->kilobytes, "its SA payload");
  for (const auto* n : opened.message.all<Notification>()) {
    if (!n->is(NotifyMessageType::ResponderLifetime)) continue;
    auto told = parse_lifetime_notification_data(n->data);
    if (!told) {
      log("quick mode 2: ignored a RESPONDER-LIFETIME: " + told.error());
      continue;
    }
    shorten(told->lifetime, told->kilobytes, "RESPONDER-LIFETIME");
  }
  nr_ = opened.message.find<Nonce>()->data;
  if (auto ids = check_ids(opened.message); !ids) return ids;
  const auto* ke = opened.message.find<KeyExchange>();
  if (config_.pfs_group.has_value() != (ke != nullptr)) return unexpected(silent("quick mode 2: KE presence does not match PFS"));
  if (ke) peer_ke_ = ke->data;
  log("peer chose " + describe(chosen_));
  return {};
}

Expected<std::vector<std::byte>, std::string> QuickModeExchange::build_quick_mode_3() {
  const auto& keys = phase1_.keys();
  const auto digest = crypto::quick_mode_hash_3(keys.hash, keys.skeyid_a, message_id_, ni_, nr_);
  const std::vector<Payload> payloads{Hash{{digest.reveal().begin(), digest.reveal().end()}}};
  return seal(header(), payloads, cipher_state_);
}

Expected<void, IkeError> QuickModeExchange::consume_quick_mode_3(const Opened& opened) {
  const auto& keys = phase1_.keys();
  const auto digest = crypto::quick_mode_hash_3(keys.hash, keys.skeyid_a, message_id_, ni_, nr_);
  const auto* received = opened.message.find<Hash>();
  if (received == nullptr || !crypto::equal_constant_time(digest.reveal(), received->data)) {
    return unexpected(silent("HASH(3) mismatch"));
  }
  return {};
}

// ---- dispatch ------------------------------------------------------------------------------------

std::vector<std::byte> QuickModeExchange::handle(std::span<const std::byte> datagram) {
  auto drop = [&](const std::string& why) {
    ++dropped_;
    log("dropped a datagram: " + why);
    return std::vector<std::byte>{};
  };
  if (state_ == State::Failed) return drop("the exchange has failed");
  auto split = split_datagram(datagram);
  if (!split) return drop(split.error().to_string());
  const auto& h = split->header;
  if (h.initiator_cookie != phase1_.initiator_cookie() || h.responder_cookie != phase1_.responder_cookie() ||
      h.exchange_type != ExchangeType::QuickMode || h.message_id != message_id_) {
    return drop("not a message of this quick mode exchange");
  }
  if (std::equal(datagram.begin(), datagram.end(), last_received_.begin(), last_received_.end())) {
    ++duplicates_;
    log("duplicate of the last message, answered with the stored one");
    return retransmit_.last();
  }
  switch (state_) {
    case State::QuickMode1Sent: {
      auto opened = open(*split, MessageKind::QuickModeMessage2, cipher_state_);
      if (!opened) return drop(opened.error());
      last_received_.assign(datagram.begin(), datagram.end());
      retransmit_.answered();
      if (auto c = consume_quick_mode_2(*opened); !c) {
        fail(c.error());
        return {};
      }
      auto message_3 = build_quick_mode_3();
      if (message_3) {
        if (auto installed = install(); !installed) {
          fail(silent(installed.error()));
          return {};
        }
      }
      return send(std::move(message_3), State::QuickMode3Sent, "received quick mode 2, sent 3 (HASH(3)), SAs installed", false);
    }
    case State::QuickMode2Sent: {
      auto opened = open(*split, MessageKind::QuickModeMessage3, cipher_state_);
      if (!opened) return drop(opened.error());
      last_received_.assign(datagram.begin(), datagram.end());
      retransmit_.answered();
      if (auto c = consume_quick_mode_3(*opened); !c) {
        fail(c.error());
        return {};
      }
      if (auto installed = install(); !installed) {
        fail(silent(installed.error()));
        return {};
      }
      transition(State::QuickMode3Received, "received quick mode 3, SAs installed");
      return {};
    }
    default: break;
  }
  return drop("unexpected in state " + std::string(name(state_)));
}

std::vector<std::byte> QuickModeExchange::on_timer() {
  switch (retransmit_.tick(clock_())) {
    case Retransmitter::Tick::Nothing: return {};
    case Retransmitter::Tick::Resend:
      log("no answer yet, resending the " + std::string(name(state_)) + " message (send " + std::to_string(retransmit_.sends()) + ")");
      return retransmit_.last();
    case Retransmitter::Tick::GiveUp:
      fail(silent("no answer after " + std::to_string(retransmit_.sends()) + " sends in state " + std::string(name(state_))));
      return {};
  }
  return {};
}

}  // namespace ward::ike::sa
