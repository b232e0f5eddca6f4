// Main mode (RFC 2409 5), both roles: proposals, NAT traversal (RFC 3947), the six messages and
// the dispatch that drives them. Over 600 lines: one state machine whose members share its
// private state (keys, transcript, cookies); its sections read in the order of the exchange.
#include "ike/sa/phase1_sa.h"

#include <algorithm>

#include "common/byte_writer.h"
#include "ike/payload/vendor_ids.h"

namespace ward::ike::sa {
namespace {

constexpr std::uint8_t kUdpProtocol = 17;
constexpr std::uint16_t kIsakmpPort = 500;

std::vector<std::byte> id_body(const Identification& id) {
  ByteWriter writer;
  id.encode_body(writer);
  return std::move(writer).take();
}

// The raw bytes of the first payload of type T (matching the parsed payload's index).
template <class T>
std::span<const std::byte> raw_of(const ParsedMessage& message, const std::vector<std::span<const std::byte>>& raw) {
  for (std::size_t i = 0; i < message.payloads.size() && i < raw.size(); ++i) {
    if (std::holds_alternative<T>(message.payloads[i])) return raw[i];
  }
  return {};
}

std::string describe(const Phase1Proposal& p) {
  std::string text = p.cipher == IkeEncryptionAlgorithm::AesCbc ? "AES-CBC-" + std::to_string(p.key_bits)
                     : p.cipher == IkeEncryptionAlgorithm::TripleDesCbc ? std::string("3DES-CBC")
                                                                         : "cipher " + std::to_string(static_cast<unsigned>(p.cipher));
  return text + "/" + std::string(crypto::hash_name(p.hash)) + "/group " + std::to_string(static_cast<unsigned>(p.group));
}

}  // namespace

std::string_view name(Phase1Sa::State state) noexcept {
  switch (state) {
    case Phase1Sa::State::Idle: return "Idle";
    case Phase1Sa::State::MainMode1Sent: return "MainMode1Sent";
    case Phase1Sa::State::MainMode2Sent: return "MainMode2Sent";
    case Phase1Sa::State::MainMode3Sent: return "MainMode3Sent";
    case Phase1Sa::State::MainMode4Sent: return "MainMode4Sent";
    case Phase1Sa::State::MainMode5Sent: return "MainMode5Sent";
    case Phase1Sa::State::MainMode6Sent: return "MainMode6Sent";
    case Phase1Sa::State::MainMode6Received: return "MainMode6Received";
    case Phase1Sa::State::Failed: return "Failed";
  }
  return "?";
}

Phase1Sa::Phase1Sa(auth::Role role, Phase1Config config, const auth::AuthProvider& auth, Clock clock)
    : role_(role),
      config_(std::move(config)),
      exchange_auth_(auth.for_exchange(role, config_.peer)),
      auth_(exchange_auth_ ? *exchange_auth_ : auth),
      clock_(std::move(clock)),
      retransmit_(config_.retransmit) {}

std::unique_ptr<Phase1Sa> Phase1Sa::initiate(Phase1Config config, const auth::AuthProvider& auth, Clock clock) {
  return std::unique_ptr<Phase1Sa>(new Phase1Sa(auth::Role::Initiator, std::move(config), auth, std::move(clock)));
}

Expected<std::unique_ptr<Phase1Sa>, IkeError> Phase1Sa::respond(Phase1Config config, const auth::AuthProvider& auth,
                                                                Clock clock, std::span<const std::byte> message_1,
                                                                std::vector<std::byte>& reply) {
  auto parsed = parse_message(message_1, MessageKind::MainModeMessage1);
  if (!parsed) return unexpected(silent("main mode 1 dropped: " + parsed.error().to_string()));
  const Cookie zero{};
  if (parsed->header.responder_cookie != zero) {
    return unexpected(silent("main mode 1 dropped: the responder cookie is not zero"));
  }
  std::unique_ptr<Phase1Sa> sa(new Phase1Sa(auth::Role::Responder, std::move(config), auth, std::move(clock)));
  sa->cky_i_ = parsed->header.initiator_cookie;
  if (sa->config_.responder_cookie) {
    sa->cky_r_ = *sa->config_.responder_cookie;
  } else {
    auto cookie = crypto::random_bytes(kCookieSize);
    if (!cookie) return unexpected(silent(std::move(cookie).error()));
    std::copy(cookie->begin(), cookie->end(), sa->cky_r_.begin());
  }
  if (auto consumed = sa->consume_main_mode_1(*parsed, message_1.subspan(kIsakmpHeaderSize)); !consumed) {
    sa->log("main mode 1 refused: " + consumed.error().text);
    return unexpected(std::move(consumed).error());
  }
  sa->last_received_.assign(message_1.begin(), message_1.end());
  reply = sa->send(sa->build_main_mode_2(), State::MainMode2Sent, "sent main mode 2 (SA)", false);
  if (sa->state_ == State::Failed) return unexpected(sa->failure_);
  return sa;
}

void Phase1Sa::log(const std::string& line) const {
  if (config_.log) config_.log(prefix() + line);
}

std::string Phase1Sa::prefix() const {
  return "IKE main mode " + hex_cookie(cky_i_) + (role_ == auth::Role::Initiator ? " (initiator): " : " (responder): ");
}

bool Phase1Sa::transition(State to, std::string_view reason) {
  const State from = state_;
  bool allowed = false;
  switch (to) {
    case State::MainMode1Sent: allowed = from == State::Idle && role_ == auth::Role::Initiator; break;
    case State::MainMode2Sent: allowed = from == State::Idle && role_ == auth::Role::Responder; break;
    case State::MainMode3Sent: allowed = from == State::MainMode1Sent; break;
    case State::MainMode4Sent: allowed = from == State::MainMode2Sent; break;
    case State::MainMode5Sent: allowed = from == State::MainMode3Sent; break;
    case State::MainMode6Sent: allowed = from == State::MainMode4Sent; break;
    case State::MainMode6Received: allowed = from == State::MainMode5Sent; break;
    case State::Failed:
      allowed = from != State::Failed && from != State::MainMode6Sent && from != State::MainMode6Received;
      break;
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

void Phase1Sa::fail(IkeError reason) {
  if (state_ == State::Failed) return;
  failure_ = std::move(reason);
  if (!transition(State::Failed, failure_.text)) return;
  retransmit_.answered();
}

IsakmpHeader Phase1Sa::header() const {
  IsakmpHeader h;
  h.initiator_cookie = cky_i_;
  h.responder_cookie = cky_r_;
  h.exchange_type = ExchangeType::IdentityProtection;
  h.message_id = 0;
  return h;
}

std::vector<std::byte> Phase1Sa::send(Expected<std::vector<std::byte>, std::string> message, State next,
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

SecurityAssociation Phase1Sa::make_offer() const {
  Proposal proposal;
  proposal.number = 1;
  proposal.protocol = ProtocolId::Isakmp;
  std::uint8_t number = 1;
  for (const auto& p : config_.proposals) {
    Transform t;
    t.number = number++;
    t.id = static_cast<std::uint8_t>(IsakmpTransformId::KeyIke);
    auto attr = [&](IkeAttribute type, std::uint16_t value) {
      t.attributes.push_back(DataAttribute::basic(static_cast<std::uint16_t>(type), value));
    };
    attr(IkeAttribute::EncryptionAlgorithm, static_cast<std::uint16_t>(p.cipher));
    if (p.cipher == IkeEncryptionAlgorithm::AesCbc) attr(IkeAttribute::KeyLength, static_cast<std::uint16_t>(p.key_bits));
    attr(IkeAttribute::HashAlgorithm, static_cast<std::uint16_t>(p.hash));
    attr(IkeAttribute::AuthenticationMethod, static_cast<std::uint16_t>(auth_.method()));
    attr(IkeAttribute::GroupDescription, static_cast<std::uint16_t>(p.group));
    attr(IkeAttribute::LifeType, static_cast<std::uint16_t>(LifeType::Seconds));
    t.attributes.push_back(DataAttribute::integer_value(static_cast<std::uint16_t>(IkeAttribute::LifeDuration),
                                                        static_cast<std::uint64_t>(p.lifetime.count())));
    proposal.transforms.push_back(std::move(t));
  }
  SecurityAssociation sa;
  sa.proposals.push_back(std::move(proposal));
  return sa;
}

Expected<Phase1Proposal, std::string> Phase1Sa::read_transform(const Transform& transform) const {
  if (transform.id != static_cast<std::uint8_t>(IsakmpTransformId::KeyIke)) {
    return unexpected("transform " + std::to_string(transform.number) + " is not KEY_IKE");
  }
  Phase1Proposal p;
  p.key_bits = 0;
  std::optional<IkeAuthenticationMethod> method;
  std::optional<std::uint64_t> life_type;
  for (const auto& a : transform.attributes) {
    // A GSS ID names the sender's principal (a string); main mode proves the principal through
    // Kerberos and checks it against the directory, so the claim is accepted and not used.
    if (a.type == static_cast<std::uint16_t>(IkeAttribute::GssId) ||
        a.type == static_cast<std::uint16_t>(IkeAttribute::GssIdWindows2000)) {
      continue;
    }
    const auto value = a.integer();
    if (!value) return unexpected("transform " + std::to_string(transform.number) + ": attribute " + std::to_string(a.type) + " is not a number");
    switch (static_cast<IkeAttribute>(a.type)) {
      case IkeAttribute::EncryptionAlgorithm: p.cipher = static_cast<IkeEncryptionAlgorithm>(*value); break;
      case IkeAttribute::KeyLength: p.key_bits = static_cast<unsigned>(*value); break;
      case IkeAttribute::HashAlgorithm: p.hash = static_cast<IkeHashAlgorithm>(*value); break;
      case IkeAttribute::AuthenticationMethod: method = static_cast<IkeAuthenticationMethod>(*value); break;
      case IkeAttribute::GroupDescription: p.group = static_cast<IkeGroupDescription>(*value); break;
      case IkeAttribute::LifeType: life_type = *value; break;
      case IkeAttribute::LifeDuration:
        if (life_type == static_cast<std::uint64_t>(LifeType::Seconds)) p.lifetime = std::chrono::seconds(*value);
        break;  // kilobyte lifetimes for phase 1 are accepted and not enforced
      default:
        return unexpected("transform " + std::to_string(transform.number) + ": attribute " + std::to_string(a.type) + " is not supported");
    }
  }
  if (method != auth_.method()) {
    return unexpected("transform " + std::to_string(transform.number) + " asks for authentication method " +
                      std::to_string(method ? static_cast<unsigned>(*method) : 0U) + ", this SA uses " + std::string(auth_.name()));
  }
  if (!crypto::is_supported_hash(p.hash)) return unexpected("transform " + std::to_string(transform.number) + ": hash not supported");
  if (!crypto::is_supported_group(p.group)) return unexpected("transform " + std::to_string(transform.number) + ": DH group not supported");
  if (!config_.allow_legacy && (crypto::is_legacy_hash(p.hash) || crypto::is_legacy_group(p.group))) {
    return unexpected("transform " + std::to_string(transform.number) + ": " +
                      (crypto::is_legacy_hash(p.hash) ? std::string("MD5") : std::string("DH group 2")) +
                      " is a legacy algorithm and our policy does not allow legacy algorithms");
  }
  if (auto cipher = crypto::phase1_cipher(p.cipher, p.key_bits, config_.allow_legacy); !cipher) {
    return unexpected("transform " + std::to_string(transform.number) + ": " + cipher.error());
  }
  return p;
}

Identification Phase1Sa::own_id() const {
  // The method's identity (a certificate's subject or DNS name), else our address.
  Identification id = auth_.own_identification().value_or(Identification{});
  if (id.data.empty()) {
    id.type = config_.local.family() == IpFamily::V4 ? IdType::Ipv4Addr : IdType::Ipv6Addr;
    const auto raw = config_.local.wire_bytes();
    id.data.assign(raw.begin(), raw.end());
  }
  id.protocol = kUdpProtocol;
  id.port = kIsakmpPort;
  return id;
}

auth::MainModeTranscript Phase1Sa::transcript() const {
  return auth::MainModeTranscript{chosen_.hash, &keys_.skeyid, g_xi_, g_xr_, cky_i_, cky_r_, sai_b_};
}

Expected<void, std::string> Phase1Sa::derive_keys() {
  const auto& peer_public = role_ == auth::Role::Initiator ? g_xr_ : g_xi_;
  auto g_xy = dh_->shared_secret(peer_public);
  if (!g_xy) return unexpected(std::move(g_xy).error());
  auto cipher = crypto::phase1_cipher(chosen_.cipher, chosen_.key_bits, config_.allow_legacy);
  if (!cipher) return unexpected(std::move(cipher).error());
  auto skeyid = auth_.skeyid(chosen_.hash, ni_, nr_, *g_xy);
  keys_ = crypto::derive_phase1_keys(chosen_.hash, std::move(skeyid), g_xy->reveal(), cky_i_, cky_r_, cipher->key_size);
  cipher_state_ = CipherState{*cipher, &keys_.encryption_key, crypto::phase1_iv(chosen_.hash, g_xi_, g_xr_, cipher->block_size())};
  dh_.reset();   // the private value is no longer needed
  return {};
}

// ---- NAT traversal (RFC 3947) ---------------------------------------------------------------------

void Phase1Sa::add_nat_t_vendor_id(std::vector<Payload>& payloads) const {
  // The responder answers with the vendor ID only when the initiator offered it.
  if (!config_.nat_traversal || (role_ == auth::Role::Responder && !peer_nat_t_)) return;
  payloads.push_back(VendorId{std::vector<std::byte>(vendor_id::kNatTRfc3947.begin(), vendor_id::kNatTRfc3947.end())});
}

void Phase1Sa::read_nat_t_vendor_id(const ParsedMessage& message) {
  for (const auto* vid : message.all<VendorId>()) {
    if (vendor_id::matches(vid->data, vendor_id::kNatTRfc3947)) peer_nat_t_ = true;
  }
  nat_t_ = config_.nat_traversal && peer_nat_t_;
  if (config_.nat_traversal) {
    log(nat_t_ ? "NAT-T (RFC 3947) negotiated" : "the peer does not support NAT-T (RFC 3947); no NAT detection");
  }
}

void Phase1Sa::add_nat_discovery(std::vector<Payload>& payloads) const {
  if (!nat_t_) return;
  // First the peer's address as we send to it, then ours (RFC 3947 3.2).
  payloads.push_back(NatDiscovery{nat_discovery_hash(chosen_.hash, cky_i_, cky_r_, Endpoint{config_.peer, config_.peer_port})});
  auto own = nat_discovery_hash(chosen_.hash, cky_i_, cky_r_, Endpoint{config_.local, config_.local_port});
  if (config_.pretend_nat) {
    for (auto& b : own) b = ~b;   // cannot be the hash of any address the peer sees
  }
  payloads.push_back(NatDiscovery{std::move(own)});
}

Expected<void, std::string> Phase1Sa::consume_nat_discovery(const ParsedMessage& message) {
  if (!nat_t_) return {};
  std::vector<std::vector<std::byte>> hashes;
  for (const auto* d : message.all<NatDiscovery>()) hashes.push_back(d->data);
  auto detection = detect_nat(chosen_.hash, cky_i_, cky_r_, Endpoint{config_.local, config_.local_port},
                              Endpoint{config_.peer, config_.peer_port}, hashes);
  if (!detection) return unexpected("main mode " + std::string(role_ == auth::Role::Initiator ? "4" : "3") + ": " +
                                    detection.error());
  nat_ = *detection;
  if (config_.pretend_nat) nat_.local_behind_nat = true;
  log("NAT detection: " + describe(nat_) +
      (float_to_nat_t_port() ? "; IKE floats to UDP " + std::to_string(kNatTraversalPort) + " from main mode 5 on" : ""));
  return {};
}

// ---- messages ------------------------------------------------------------------------------------

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_1() {
  if (config_.proposals.empty()) return unexpected(std::string("no phase 1 proposals configured"));
  auto cookie = crypto::random_bytes(kCookieSize);
  if (!cookie) return unexpected(std::move(cookie).error());
  std::copy(cookie->begin(), cookie->end(), cky_i_.begin());
  std::vector<Payload> payloads{make_offer()};
  for (const auto& vid : config_.vendor_ids) payloads.emplace_back(VendorId{vid});
  add_nat_t_vendor_id(payloads);
  auto body = encode_payload_chain(payloads);
  if (!body) return unexpected("encoding main mode 1: " + body.error().message);
  const auto raw = raw_payloads(body->bytes);
  const auto sa_body = payload_body(raw.at(0));
  sai_b_.assign(sa_body.begin(), sa_body.end());
  auto message = encode_message(header(), payloads);
  if (!message) return unexpected("encoding main mode 1: " + message.error().message);
  auto sent = send(std::move(*message), State::MainMode1Sent, "sent main mode 1 (SA)", true);
  if (state_ == State::Failed) return unexpected(failure_.text);
  return sent;
}

Expected<void, IkeError> Phase1Sa::consume_main_mode_1(const ParsedMessage& message, std::span<const std::byte> body) {
  const auto* offer = message.find<SecurityAssociation>();
  for (const auto* vid : message.all<VendorId>()) peer_vendor_ids_.push_back(vid->data);
  const auto sa_raw = raw_of<SecurityAssociation>(message, raw_payloads(body));
  const auto sa_body = payload_body(sa_raw);
  sai_b_.assign(sa_body.begin(), sa_body.end());
  read_nat_t_vendor_id(message);
  std::string refused;
  for (const auto& proposal : offer->proposals) {
    if (proposal.protocol != ProtocolId::Isakmp) continue;
    for (const auto& transform : proposal.transforms) {
      auto p = read_transform(transform);
      if (!p) {
        refused += "; " + p.error();
        continue;
      }
      const auto ours = std::find_if(config_.proposals.begin(), config_.proposals.end(),
                                     [&](const Phase1Proposal& c) { return c.same_algorithms(*p); });
      if (ours == config_.proposals.end()) {
        refused += "; " + describe(*p) + " is not in our policy";
        continue;
      }
      chosen_ = *p;
      chosen_.lifetime = std::min(p->lifetime, ours->lifetime);
      chosen_transform_ = transform;
      log("chose " + describe(chosen_) + ", lifetime " + std::to_string(chosen_.lifetime.count()) + " s");
      return {};
    }
  }
  return unexpected(refusal(NotifyMessageType::NoProposalChosen, "none of the peer's phase 1 transforms is acceptable" + refused));
}

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_2() {
  SecurityAssociation sa;
  Proposal proposal;
  proposal.number = 1;
  proposal.protocol = ProtocolId::Isakmp;
  proposal.transforms.push_back(chosen_transform_);
  sa.proposals.push_back(std::move(proposal));
  std::vector<Payload> payloads{std::move(sa)};
  for (const auto& vid : config_.vendor_ids) payloads.emplace_back(VendorId{vid});
  add_nat_t_vendor_id(payloads);
  auto message = encode_message(header(), payloads);
  if (!message) return unexpected("encoding main mode 2: " + message.error().message);
  return std::move(*message);
}

Expected<void, IkeError> Phase1Sa::consume_main_mode_2(const ParsedMessage& message) {
  const auto* sa = message.find<SecurityAssociation>();
  for (const auto* vid : message.all<VendorId>()) peer_vendor_ids_.push_back(vid->data);
  if (sa->proposals.size() != 1 || sa->proposals[0].transforms.size() != 1) {
    return unexpected(refusal(NotifyMessageType::BadProposalSyntax, "main mode 2 must carry one proposal with one transform"));
  }
  auto p = read_transform(sa->proposals[0].transforms[0]);
  if (!p) return unexpected(silent("main mode 2: " + p.error()));
  const auto ours = std::find_if(config_.proposals.begin(), config_.proposals.end(),
                                 [&](const Phase1Proposal& c) { return c.same_algorithms(*p); });
  if (ours == config_.proposals.end()) return unexpected(silent("main mode 2 chose " + describe(*p) + ", which we did not offer"));
  if (p->lifetime > ours->lifetime) return unexpected(silent("main mode 2 chose a longer lifetime than we offered"));
  chosen_ = *p;
  read_nat_t_vendor_id(message);
  log("peer chose " + describe(chosen_) + ", lifetime " + std::to_string(chosen_.lifetime.count()) + " s");
  return {};
}

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_3() {
  auto dh = crypto::DiffieHellman::generate(chosen_.group);
  if (!dh) return unexpected(std::move(dh).error());
  dh_.emplace(std::move(*dh));
  g_xi_ = dh_->public_value();
  auto nonce = crypto::random_bytes(config_.nonce_size);
  if (!nonce) return unexpected(std::move(nonce).error());
  ni_ = std::move(*nonce);
  std::vector<Payload> payloads{KeyExchange{g_xi_}, Nonce{ni_}};
  auto extras = auth_.build_key_exchange_payloads(auth::Role::Initiator);
  if (!extras) return unexpected(std::move(extras).error());
  for (auto& extra : *extras) payloads.push_back(std::move(extra));
  add_nat_discovery(payloads);
  auto message = encode_message(header(), payloads);
  if (!message) return unexpected("encoding main mode 3: " + message.error().message);
  return std::move(*message);
}

Expected<void, IkeError> Phase1Sa::consume_main_mode_3(const ParsedMessage& message) {
  const auto& ke = message.find<KeyExchange>()->data;
  if (ke.size() != crypto::public_value_size(chosen_.group)) {
    return unexpected(refusal(NotifyMessageType::InvalidKeyInformation,
                              "main mode 3 KE is " + std::to_string(ke.size()) + " bytes, group " +
                                  std::to_string(static_cast<unsigned>(chosen_.group)) + " needs " +
                                  std::to_string(crypto::public_value_size(chosen_.group))));
  }
  g_xi_ = ke;
  ni_ = message.find<Nonce>()->data;
  if (auto nat = consume_nat_discovery(message); !nat) return unexpected(silent(std::move(nat).error()));
  // Before the keys, nothing the method finds wrong is told the peer (it is unauthenticated).
  if (auto extra = auth_.consume_key_exchange_payloads(auth::Role::Initiator, message); !extra) {
    return unexpected(silent(std::move(extra).error()));
  }
  return {};
}

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_4() {
  auto dh = crypto::DiffieHellman::generate(chosen_.group);
  if (!dh) return unexpected(std::move(dh).error());
  dh_.emplace(std::move(*dh));
  g_xr_ = dh_->public_value();
  auto nonce = crypto::random_bytes(config_.nonce_size);
  if (!nonce) return unexpected(std::move(nonce).error());
  nr_ = std::move(*nonce);
  std::vector<Payload> payloads{KeyExchange{g_xr_}, Nonce{nr_}};
  auto extras = auth_.build_key_exchange_payloads(auth::Role::Responder);
  if (!extras) return unexpected(std::move(extras).error());
  for (auto& extra : *extras) payloads.push_back(std::move(extra));
  add_nat_discovery(payloads);
  auto message = encode_message(header(), payloads);
  if (!message) return unexpected("encoding main mode 4: " + message.error().message);
  if (auto keys = derive_keys(); !keys) return unexpected(std::move(keys).error());
  return std::move(*message);
}

Expected<void, IkeError> Phase1Sa::consume_main_mode_4(const ParsedMessage& message) {
  const auto& ke = message.find<KeyExchange>()->data;
  if (ke.size() != crypto::public_value_size(chosen_.group)) {
    return unexpected(refusal(NotifyMessageType::InvalidKeyInformation, "main mode 4 KE is " + std::to_string(ke.size()) + " bytes"));
  }
  g_xr_ = ke;
  nr_ = message.find<Nonce>()->data;
  if (auto nat = consume_nat_discovery(message); !nat) return unexpected(silent(std::move(nat).error()));
  if (auto extra = auth_.consume_key_exchange_payloads(auth::Role::Responder, message); !extra) {
    return unexpected(silent(std::move(extra).error()));
  }
  if (auto keys = derive_keys(); !keys) return unexpected(silent(std::move(keys).error()));
  return {};
}

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_5() {
  const auto id = own_id();
  const auto id_b = id_body(id);
  auto authentication = auth_.build_authentication(auth::Role::Initiator, transcript(), id_b);
  if (!authentication) return unexpected(std::move(authentication).error());
  std::vector<Payload> payloads{id};
  for (auto& p : *authentication) payloads.push_back(std::move(p));
  auto h = header();
  h.set(HeaderFlag::Encryption, true);
  return seal(h, payloads, cipher_state_);
}

Expected<std::vector<std::byte>, std::string> Phase1Sa::build_main_mode_6() {
  const auto id = own_id();
  const auto id_b = id_body(id);
  auto authentication = auth_.build_authentication(auth::Role::Responder, transcript(), id_b);
  if (!authentication) return unexpected(std::move(authentication).error());
  std::vector<Payload> payloads{id};
  for (auto& p : *authentication) payloads.push_back(std::move(p));
  auto h = header();
  h.set(HeaderFlag::Encryption, true);
  return seal(h, payloads, cipher_state_);
}

namespace {

// The peer's address ID must be the address we see it at, unless NAT-D showed the peer behind a
// NAT: then it is the peer's own (private) address, which a NAT changed on the way (RFC 3947 4,
// as Windows and charon accept it); the authentication that follows still covers the ID. Any
// other ID (a DN, an FQDN) is the method's to bind when it can (a certificate: its subject or
// subjectAltName), checked with the signature; a method that cannot (a shared key) refuses it.
enum class PeerIdMatch : std::uint8_t { SeenAddress, OwnAddressBehindNat, BoundByMethod };

Expected<PeerIdMatch, IkeError> check_peer_id(const Identification& id, const IpAddress& peer, bool peer_behind_nat,
                                                 const auth::AuthProvider& auth) {
  const auto want = peer.wire_bytes();
  const bool is_address = id.type == IdType::Ipv4Addr || id.type == IdType::Ipv6Addr;
  if (is_address && std::equal(id.data.begin(), id.data.end(), want.begin(), want.end())) {
    return PeerIdMatch::SeenAddress;
  }
  if (is_address && peer_behind_nat) return PeerIdMatch::OwnAddressBehindNat;
  if (!is_address && auth.binds_peer_identity()) return PeerIdMatch::BoundByMethod;
  return unexpected(refusal(NotifyMessageType::InvalidIdInformation,
                            "the peer identifies as " + std::string(name(id.type)) +
                                (is_address ? " that is not its address " + peer.to_string()
                                            : ", which " + std::string(auth.name()) +
                                                  " cannot bind (an address ID is expected: " + peer.to_string() + ")")));
}

}  // namespace

Expected<void, IkeError> Phase1Sa::consume_main_mode_5(const Opened& opened) {
  const auto* id = opened.message.find<Identification>();
  const auto id_match = check_peer_id(*id, config_.peer, nat_.peer_behind_nat, auth_);
  if (!id_match) return unexpected(id_match.error());
  if (*id_match == PeerIdMatch::OwnAddressBehindNat) {
    log("the peer is behind a NAT: its address ID is its own address, not " + config_.peer.to_string() +
        " where it is seen; accepted (RFC 3947)");
  }
  const auto raw = raw_payloads(opened.plaintext, opened.message.padding);
  auto checked = auth_.check_authentication(auth::Role::Initiator, transcript(),
                                            payload_body(raw_of<Identification>(opened.message, raw)), opened.message);
  if (checked) {
    if (const auto who = auth_.peer_identity(); !who.empty()) log("the peer authenticated as " + who);
  }
  return checked;
}

Expected<void, IkeError> Phase1Sa::consume_main_mode_6(const Opened& opened) {
  const auto* id = opened.message.find<Identification>();
  const auto id_match = check_peer_id(*id, config_.peer, nat_.peer_behind_nat, auth_);
  if (!id_match) return unexpected(id_match.error());
  if (*id_match == PeerIdMatch::OwnAddressBehindNat) {
    log("the peer is behind a NAT: its address ID is its own address, not " + config_.peer.to_string() +
        " where it is seen; accepted (RFC 3947)");
  }
  const auto raw = raw_payloads(opened.plaintext, opened.message.padding);
  auto checked = auth_.check_authentication(auth::Role::Responder, transcript(),
                                            payload_body(raw_of<Identification>(opened.message, raw)), opened.message);
  if (checked) {
    if (const auto who = auth_.peer_identity(); !who.empty()) log("the peer authenticated as " + who);
  }
  return checked;
}

// ---- dispatch ------------------------------------------------------------------------------------

std::vector<std::byte> Phase1Sa::handle(std::span<const std::byte> datagram) {
  auto drop = [&](const std::string& why) {
    ++dropped_;
    log("dropped a datagram: " + why);
    return std::vector<std::byte>{};
  };
  if (state_ == State::Failed) return drop("the SA has failed");
  auto split = split_datagram(datagram);
  if (!split) return drop(split.error().to_string());
  const auto& h = split->header;
  if (h.initiator_cookie != cky_i_) return drop("initiator cookie does not match");
  const bool learning_cookie = role_ == auth::Role::Initiator && state_ == State::MainMode1Sent;
  if (!learning_cookie && h.responder_cookie != cky_r_) return drop("responder cookie does not match");
  if (h.exchange_type != ExchangeType::IdentityProtection || h.message_id != 0) {
    return drop("not a main mode message (exchange " + std::to_string(static_cast<unsigned>(h.exchange_type)) + ")");
  }
  if (std::equal(datagram.begin(), datagram.end(), last_received_.begin(), last_received_.end())) {
    ++duplicates_;
    if (role_ == auth::Role::Initiator) return {};
    log("duplicate of the last message, answered with the stored " + std::string(name(state_)) + " message");
    return retransmit_.last();
  }

  auto accept = [&] {
    last_received_.assign(datagram.begin(), datagram.end());
    retransmit_.answered();
  };
  switch (state_) {
    case State::MainMode1Sent: {
      if (role_ != auth::Role::Initiator) break;
      auto parsed = parse_message(datagram, MessageKind::MainModeMessage2);
      if (!parsed) return drop(parsed.error().to_string());
      cky_r_ = h.responder_cookie;
      accept();
      if (auto c = consume_main_mode_2(*parsed); !c) {
        fail(c.error());
        return {};
      }
      return send(build_main_mode_3(), State::MainMode3Sent, "received main mode 2, sent 3 (KE Ni)", true);
    }
    case State::MainMode2Sent: {
      auto parsed = parse_message(datagram, MessageKind::MainModeMessage3);
      if (!parsed) return drop(parsed.error().to_string());
      accept();
      if (auto c = consume_main_mode_3(*parsed); !c) {
        fail(c.error());
        return {};
      }
      return send(build_main_mode_4(), State::MainMode4Sent, "received main mode 3, sent 4 (KE Nr)", false);
    }
    case State::MainMode3Sent: {
      auto parsed = parse_message(datagram, MessageKind::MainModeMessage4);
      if (!parsed) return drop(parsed.error().to_string());
      accept();
      if (auto c = consume_main_mode_4(*parsed); !c) {
        fail(c.error());
        return {};
      }
      return send(build_main_mode_5(), State::MainMode5Sent, "received main mode 4, sent 5 (IDii HASH_I)", true);
    }
    case State::MainMode4Sent: {
      auto opened = open(*split, MessageKind::MainModeMessage5, cipher_state_);
      if (!opened) {
        ++undecryptable_;
        // Anyone who saw messages 1-4 can send this; with drop_undecryptable_main_mode_5 it is
        // dropped and counted, so a spoofed message 5 cannot end the exchange (the owner times
        // the half-open SA out).
        if (config_.drop_undecryptable_main_mode_5) {
          return drop("main mode 5 does not decrypt (" + opened.error() + ") - the peer derived other keys (with a preshared key: the keys differ)");
        }
        // Our main mode 4 went out, so the peer may be waiting: AUTHENTICATION-FAILED, unprotected.
        fail(IkeError{NotifyMessageType::AuthenticationFailed,
                      opened.error() + " - the peer derived other keys (with a preshared key: the keys differ)"});
        return {};
      }
      accept();
      keys_confirmed_ = true;
      if (auto c = consume_main_mode_5(*opened); !c) {
        fail(c.error());
        return {};
      }
      return send(build_main_mode_6(), State::MainMode6Sent, "received main mode 5, sent 6 (IDir HASH_R): established",
                  false);
    }
    case State::MainMode5Sent: {
      auto opened = open(*split, MessageKind::MainModeMessage6, cipher_state_);
      if (!opened) {
        fail(silent(opened.error() + " - the peer derived other keys (with a preshared key: the keys differ)"));
        return {};
      }
      accept();
      keys_confirmed_ = true;
      if (auto c = consume_main_mode_6(*opened); !c) {
        fail(c.error());
        return {};
      }
      transition(State::MainMode6Received, "received main mode 6: established");
      return {};
    }
    default: break;
  }
  return drop("unexpected in state " + std::string(name(state_)));
}

std::vector<std::byte> Phase1Sa::on_timer() {
  switch (retransmit_.tick(clock_())) {
    case Retransmitter::Tick::Nothing: return {};
    case Retransmitter::Tick::Resend:
      log("no answer yet, resending the " + std::string(name(state_)) + " message (send " +
          std::to_string(retransmit_.sends()) + ")");
      return retransmit_.last();
    case Retransmitter::Tick::GiveUp:
      fail(silent("no answer after " + std::to_string(retransmit_.sends()) + " sends in state " + std::string(name(state_))));
      return {};
  }
  return {};
}

}  // namespace ward::ike::sa
