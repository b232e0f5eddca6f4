#include "ike/v2/ike_sa_init.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "ike/crypto/prf.h"
#include "ike/v2/signature_auth.h"

namespace ward::ike::v2 {
namespace {

constexpr unsigned kMaxRestarts = 3;   // INVALID_KE_PAYLOAD / COOKIE round trips before giving up

Bytes port_bytes(std::uint16_t port) { return {std::byte(port >> 8), std::byte(port & 0xff)}; }

// RFC 7296 2.23: is the peer's NAT_DETECTION_SOURCE_IP one of its address as we see it, and its
// NAT_DETECTION_DESTINATION_IP our address as it sent to it?
struct NatResult {
  bool seen = false;
  bool local_behind_nat = false;
  bool peer_behind_nat = false;
};

NatResult detect_nat(const Message& m, const Spi& spi_i, const Spi& spi_r, const Endpoint& local, const Endpoint& remote) {
  NatResult r;
  const Bytes expected_source = nat_detection_hash(spi_i, spi_r, remote);
  const Bytes expected_destination = nat_detection_hash(spi_i, spi_r, local);
  bool any_source_matches = false;
  for (const auto& p : m.payloads) {
    const auto* n = std::get_if<NotifyPayload>(&p);
    if (n == nullptr) continue;
    if (n->is(NotifyType::NatDetectionSourceIp)) {
      r.seen = true;
      any_source_matches = any_source_matches || crypto::equal_constant_time(n->data, expected_source);
    } else if (n->is(NotifyType::NatDetectionDestinationIp)) {
      r.seen = true;
      r.local_behind_nat = !crypto::equal_constant_time(n->data, expected_destination);
    }
  }
  r.peer_behind_nat = r.seen && !any_source_matches;
  return r;
}

std::string hex(const Spi& spi) {
  std::string s;
  char buf[3];
  for (auto b : spi) {
    std::snprintf(buf, sizeof buf, "%02x", std::to_integer<unsigned>(b));
    s += buf;
  }
  return s;
}

Expected<IkeSaKeys, std::string> derive(const IkeProposal& p, const SecureBytes& g_ir, const Bytes& ni, const Bytes& nr,
                                        const Spi& spi_i, const Spi& spi_r) {
  const auto seed = skeyseed(p.prf, ni, nr, g_ir.reveal());
  const SkSuite s = p.suite();
  return derive_ike_sa_keys(p.prf, seed, ni, nr, spi_i, spi_r, s.integrity_key_size(), s.encryption_key_size());
}

}  // namespace

Expected<Spi, std::string> random_ike_spi() {
  Spi spi{};
  do {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(spi.data()), static_cast<int>(spi.size())) != 1) {
      return unexpected(std::string("RAND_bytes failed"));
    }
  } while (std::all_of(spi.begin(), spi.end(), [](std::byte b) { return b == std::byte{0}; }));
  return spi;
}

SkKeys IkeSa::outbound_keys() const {
  return initiator ? SkKeys{keys.sk_ei, keys.sk_ai} : SkKeys{keys.sk_er, keys.sk_ar};
}
SkKeys IkeSa::inbound_keys() const {
  return initiator ? SkKeys{keys.sk_er, keys.sk_ar} : SkKeys{keys.sk_ei, keys.sk_ai};
}
std::string IkeSa::spis() const { return hex(spi_i) + "/" + hex(spi_r); }

Bytes nat_detection_hash(const Spi& spi_i, const Spi& spi_r, const Endpoint& endpoint) {
  const std::size_t size = endpoint.address.family() == IpFamily::V4 ? 4 : 16;
  const auto* address = reinterpret_cast<const std::byte*>(endpoint.address.bytes().data());
  const Bytes port = port_bytes(endpoint.port);
  return crypto::hash(IkeHashAlgorithm::Sha, {spi_i, spi_r, std::span(address, size), port});
}

namespace {
// Our NAT_DETECTION_SOURCE_IP; with pretend_nat, inverted: the hash of no address the peer sees.
Bytes own_nat_detection_hash(const Spi& spi_i, const Spi& spi_r, const IkeSaInitConfig& config) {
  auto hash = nat_detection_hash(spi_i, spi_r, config.local);
  if (config.pretend_nat) {
    for (auto& b : hash) b = ~b;
  }
  return hash;
}
}  // namespace

Expected<IkeSaInitInitiator, std::string> IkeSaInitInitiator::create(IkeSaInitConfig config) {
  if (config.proposals.empty()) return unexpected(std::string("no IKE proposal configured"));
  for (const auto& p : config.proposals) {
    if (!sk_suite(p.encryption, p.key_bits, p.integrity)) return unexpected("IKE proposal " + p.describe() + " is not supported");
    if (!is_supported_prf(p.prf) || !crypto::is_supported_group(p.group)) {
      return unexpected("IKE proposal " + p.describe() + " is not supported");
    }
  }
  IkeSaInitInitiator i(std::move(config));
  auto spi = random_ike_spi();
  if (!spi) return unexpected(spi.error());
  i.spi_i_ = *spi;
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!nonce) return unexpected(nonce.error());
  i.ni_ = std::move(*nonce);
  auto dh = crypto::DiffieHellman::generate(i.config_.proposals.front().group);
  if (!dh) return unexpected(dh.error());
  i.dh_.emplace(std::move(*dh));
  if (auto built = i.build_request(); !built) return unexpected(built.error());
  return i;
}

Expected<void, std::string> IkeSaInitInitiator::build_request() {
  Header h;
  h.initiator_spi = spi_i_;
  h.exchange = ExchangeType::IkeSaInit;
  h.set(HeaderFlag::Initiator);
  std::vector<Payload> payloads;
  if (!cookie_.empty()) payloads.emplace_back(notify(NotifyType::Cookie, cookie_));
  payloads.emplace_back(SaPayload{ike_proposals(config_.proposals)});
  payloads.emplace_back(KePayload{static_cast<std::uint16_t>(dh_->group()), dh_->public_value()});
  payloads.emplace_back(NoncePayload{ni_});
  const Spi zero{};
  payloads.emplace_back(notify(NotifyType::NatDetectionSourceIp, own_nat_detection_hash(spi_i_, zero, config_)));
  payloads.emplace_back(notify(NotifyType::NatDetectionDestinationIp, nat_detection_hash(spi_i_, zero, config_.remote)));
  if (config_.signature_hashes) payloads.emplace_back(notify(NotifyType::SignatureHashAlgorithms, signature_hash_algorithms_data()));
  if (config_.fragmentation) payloads.emplace_back(notify(NotifyType::Ikev2FragmentationSupported));
  auto encoded = encode_message(h, payloads);
  if (!encoded) return unexpected(encoded.error());
  request_ = std::move(*encoded);
  return {};
}

Expected<std::optional<IkeSa>, std::string> IkeSaInitInitiator::consume_response(std::span<const std::byte> datagram) {
  auto m = parse_message(datagram);
  if (!m) return unexpected("IKE_SA_INIT response: " + m.error().to_string());
  const Header& h = m->header;
  if (h.exchange != ExchangeType::IkeSaInit || !h.has(HeaderFlag::Response) || h.message_id != 0 || h.initiator_spi != spi_i_) {
    return unexpected(std::string("not the IKE_SA_INIT response to our request"));
  }
  if (const auto* cookie = m->find_notify(NotifyType::Cookie)) {
    if (++restarts_ > kMaxRestarts) return unexpected(std::string("the responder keeps asking for a COOKIE"));
    cookie_ = cookie->data;
    if (auto built = build_request(); !built) return unexpected(built.error());
    return std::optional<IkeSa>{};
  }
  if (const auto* invalid_ke = m->find_notify(NotifyType::InvalidKePayload)) {
    if (invalid_ke->data.size() != 2) return unexpected(std::string("INVALID_KE_PAYLOAD without a 2-byte group"));
    const auto group = static_cast<IkeGroupDescription>((std::to_integer<unsigned>(invalid_ke->data[0]) << 8) |
                                                        std::to_integer<unsigned>(invalid_ke->data[1]));
    const bool offered = std::any_of(config_.proposals.begin(), config_.proposals.end(),
                                     [&](const IkeProposal& p) { return p.group == group; });
    if (!offered || group == dh_->group() || ++restarts_ > kMaxRestarts) {
      return unexpected("INVALID_KE_PAYLOAD asks for group " + std::to_string(static_cast<unsigned>(group)) + ", which Ward did not offer");
    }
    auto dh = crypto::DiffieHellman::generate(group);
    if (!dh) return unexpected(dh.error());
    dh_.emplace(std::move(*dh));
    if (auto built = build_request(); !built) return unexpected(built.error());
    return std::optional<IkeSa>{};
  }
  if (const auto* error = m->find_error()) {
    return unexpected("the responder refused IKE_SA_INIT with " + std::string(name(static_cast<NotifyType>(error->type))));
  }
  const auto* sa = m->find<SaPayload>();
  const auto* ke = m->find<KePayload>();
  const auto* nr = m->find<NoncePayload>();
  if (sa == nullptr || ke == nullptr || nr == nullptr) return unexpected(std::string("IKE_SA_INIT response without SA, KE or Nr"));
  if (sa->proposals.size() != 1) return unexpected("the responder chose " + std::to_string(sa->proposals.size()) + " proposals");
  auto chosen = choose_ike(config_.proposals, *sa);
  if (!chosen) return unexpected("the responder chose a proposal Ward did not offer: " + chosen.error());
  const auto expected_transforms = ike_proposals({chosen->proposal}).front().transforms;
  if (sa->proposals.front().transforms.size() != expected_transforms.size()) {
    return unexpected(std::string("the responder's chosen proposal has more than one transform of a type"));
  }
  if (chosen->proposal.group != dh_->group() || ke->group != static_cast<std::uint16_t>(dh_->group())) {
    return unexpected("the responder chose group " + std::to_string(ke->group) + " but Ward's KE is group " +
                      std::to_string(static_cast<unsigned>(dh_->group())));
  }
  if (std::all_of(h.responder_spi.begin(), h.responder_spi.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return unexpected(std::string("IKE_SA_INIT response with a zero responder SPI"));
  }
  auto g_ir = dh_->shared_secret(ke->data);
  if (!g_ir) return unexpected("KEr: " + g_ir.error());
  IkeSa out;
  out.initiator = true;
  out.spi_i = spi_i_;
  out.spi_r = h.responder_spi;
  out.proposal = chosen->proposal;
  out.ni = ni_;
  out.nr = nr->data;
  out.init_request = request_;
  out.init_response.assign(datagram.begin(), datagram.end());
  const auto nat = detect_nat(*m, out.spi_i, out.spi_r, config_.local, config_.remote);
  out.local_behind_nat = nat.local_behind_nat || (nat.seen && config_.pretend_nat);
  out.peer_behind_nat = nat.peer_behind_nat;
  if (const auto* hashes = m->find_notify(NotifyType::SignatureHashAlgorithms)) {
    out.peer_signature_hashes = parse_signature_hash_algorithms(hashes->data);
  }
  out.fragmentation = config_.fragmentation && m->find_notify(NotifyType::Ikev2FragmentationSupported) != nullptr;
  auto keys = derive(out.proposal, *g_ir, out.ni, out.nr, out.spi_i, out.spi_r);
  if (!keys) return unexpected(keys.error());
  out.keys = std::move(*keys);
  return std::optional<IkeSa>{std::move(out)};
}

Expected<IkeSaInitReply, std::string> respond_ike_sa_init(const IkeSaInitConfig& config, std::span<const std::byte> request) {
  auto m = parse_message(request);
  if (!m) return unexpected("IKE_SA_INIT request: " + m.error().to_string());
  const Header& h = m->header;
  if (h.exchange != ExchangeType::IkeSaInit || h.has(HeaderFlag::Response) || !h.has(HeaderFlag::Initiator) ||
      h.message_id != 0 || std::any_of(h.responder_spi.begin(), h.responder_spi.end(), [](std::byte b) { return b != std::byte{0}; })) {
    return unexpected(std::string("not an IKE_SA_INIT request"));
  }
  const auto* sa = m->find<SaPayload>();
  const auto* ke = m->find<KePayload>();
  const auto* ni = m->find<NoncePayload>();
  if (sa == nullptr || ke == nullptr || ni == nullptr) return unexpected(std::string("IKE_SA_INIT request without SA, KE or Ni"));

  Header reply_header;
  reply_header.initiator_spi = h.initiator_spi;
  reply_header.exchange = ExchangeType::IkeSaInit;
  reply_header.set(HeaderFlag::Response);
  auto refuse = [&](NotifyPayload n, std::string why) -> Expected<IkeSaInitReply, std::string> {
    std::vector<Payload> payloads{std::move(n)};
    auto encoded = encode_message(reply_header, payloads);
    if (!encoded) return unexpected(encoded.error());
    return IkeSaInitReply{std::move(*encoded), std::nullopt, std::move(why)};
  };

  auto chosen = choose_ike(config.proposals, *sa);
  if (!chosen) return refuse(notify(NotifyType::NoProposalChosen), chosen.error());
  if (ke->group != static_cast<std::uint16_t>(chosen->proposal.group)) {
    const auto g = static_cast<std::uint16_t>(chosen->proposal.group);
    return refuse(notify(NotifyType::InvalidKePayload, {std::byte(g >> 8), std::byte(g & 0xff)}),
                  "KEi is group " + std::to_string(ke->group) + ", the chosen proposal's is " + std::to_string(g));
  }
  auto dh = crypto::DiffieHellman::generate(chosen->proposal.group);
  if (!dh) return unexpected(dh.error());
  auto g_ir = dh->shared_secret(ke->data);
  if (!g_ir) return refuse(notify(NotifyType::InvalidSyntax), "KEi: " + g_ir.error());
  auto spi = random_ike_spi();
  auto nonce = crypto::random_bytes(kNonceSize);
  if (!spi || !nonce) return unexpected(std::string("random bytes failed"));

  IkeSa out;
  out.initiator = false;
  out.spi_i = h.initiator_spi;
  out.spi_r = *spi;
  out.proposal = chosen->proposal;
  out.ni = ni->data;
  out.nr = std::move(*nonce);
  out.init_request.assign(request.begin(), request.end());
  const auto nat = detect_nat(*m, out.spi_i, Spi{}, config.local, config.remote);
  // Only where the initiator sent NAT detection: without it, neither end can float.
  out.local_behind_nat = nat.local_behind_nat || (nat.seen && config.pretend_nat);
  out.peer_behind_nat = nat.peer_behind_nat;

  reply_header.responder_spi = out.spi_r;
  std::vector<Payload> payloads;
  payloads.emplace_back(SaPayload{{chosen->reply}});
  payloads.emplace_back(KePayload{static_cast<std::uint16_t>(dh->group()), dh->public_value()});
  payloads.emplace_back(NoncePayload{out.nr});
  if (nat.seen) {
    payloads.emplace_back(notify(NotifyType::NatDetectionSourceIp, own_nat_detection_hash(out.spi_i, out.spi_r, config)));
    payloads.emplace_back(notify(NotifyType::NatDetectionDestinationIp, nat_detection_hash(out.spi_i, out.spi_r, config.remote)));
  }
  if (!config.certificate_request.empty()) payloads.emplace_back(CertPayload{true, 4, config.certificate_request});
  if (const auto* hashes = m->find_notify(NotifyType::SignatureHashAlgorithms)) {
    out.peer_signature_hashes = parse_signature_hash_algorithms(hashes->data);
    if (config.signature_hashes) payloads.emplace_back(notify(NotifyType::SignatureHashAlgorithms, signature_hash_algorithms_data()));
  }
  out.fragmentation = config.fragmentation && m->find_notify(NotifyType::Ikev2FragmentationSupported) != nullptr;
  if (out.fragmentation) payloads.emplace_back(notify(NotifyType::Ikev2FragmentationSupported));
  auto encoded = encode_message(reply_header, payloads);
  if (!encoded) return unexpected(encoded.error());
  out.init_response = *encoded;
  auto keys = derive(out.proposal, *g_ir, out.ni, out.nr, out.spi_i, out.spi_r);
  if (!keys) return unexpected(keys.error());
  out.keys = std::move(*keys);
  return IkeSaInitReply{std::move(*encoded), std::move(out), {}};
}

}  // namespace ward::ike::v2
