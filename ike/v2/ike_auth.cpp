#include "ike/v2/ike_auth.h"

#include <openssl/rand.h>

#include "ike/crypto/prf.h"
#include "ike/v2/protected_message.h"
#include "ike/v2/signature_auth.h"

namespace ward::ike::v2 {
namespace {

using driver::crypto::Direction;
using driver::crypto::Mode;

constexpr std::uint8_t kX509Signature = 4;   // CERT / CERTREQ encoding: X.509 Certificate - Signature

// AUTH data this side (`initiator` says which) sends or expects from the peer.
SecureBytes auth_for(const IkeSa& sa, bool of_initiator, const AuthConfig& auth, const IdPayload& id) {
  const SecureBytes padded = auth.padded_key.size() > 0 ? auth.padded_key : psk_pad(sa.proposal.prf, auth.preshared_key.reveal());
  if (of_initiator) return psk_auth_padded(sa.proposal.prf, padded, sa.init_request, sa.nr, sa.keys.sk_pi, id.body());
  return psk_auth_padded(sa.proposal.prf, padded, sa.init_response, sa.ni, sa.keys.sk_pr, id.body());
}

Expected<std::vector<Payload>, std::string> open(const IkeSa& sa, std::span<const std::byte> datagram, bool expect_response) {
  auto opened = open_protected(sa, datagram);
  if (!opened) return unexpected("IKE_AUTH: " + opened.error());
  const Header& h = opened->header;
  if (h.exchange != ExchangeType::IkeAuth || h.has(HeaderFlag::Response) != expect_response || h.message_id != 1) {
    return unexpected(std::string("not the IKE_AUTH ") + (expect_response ? "response" : "request") + " of IKE SA " + sa.spis());
  }
  return std::move(opened->payloads);
}

Expected<void, std::string> check_peer_id(const AuthConfig& auth, const IdPayload& id) {
  if (!auth.peer) return {};
  // A certificate binds the DN or FQDN the peer sent (check_peer_auth checked it); an address ID
  // must still be the peer's.
  if (auth.certificate && id.type != IdType::Ipv4Address && id.type != IdType::Ipv6Address) return {};
  if (auth.peer->type != id.type || auth.peer->data != id.data) return unexpected(std::string("the peer's ID is not the one configured"));
  return {};
}

// Our ID: the certificate's when the method has one, else the configured one (our address).
IdPayload own_id(const AuthConfig& auth, bool initiator) {
  if (auth.certificate) {
    if (const auto& id = auth.certificate->credentials().own_id()) return IdPayload{initiator, static_cast<IdType>(id->type), id->data};
  }
  return IdPayload{initiator, auth.id_type, auth.id_data};
}

// InitiatorSignedOctets / ResponderSignedOctets (2.15) of the side `of_initiator` says.
Bytes octets_for(const IkeSa& sa, bool of_initiator, const IdPayload& id) {
  if (of_initiator) return signed_octets(sa.proposal.prf, sa.init_request, sa.nr, sa.keys.sk_pi, id.body());
  return signed_octets(sa.proposal.prf, sa.init_response, sa.ni, sa.keys.sk_pr, id.body());
}

// What follows our ID: AUTH, and with a certificate CERT+ before it (and the initiator's CERTREQ
// naming the rule's CA, so a peer that sends its certificate only when asked, as charon's
// send_cert = ifasked, sends it).
Expected<std::vector<Payload>, std::string> own_auth_payloads(const IkeSa& sa, bool initiator, const AuthConfig& auth,
                                                              const IdPayload& id) {
  std::vector<Payload> out;
  if (!auth.certificate) {
    const auto mic = auth_for(sa, initiator, auth, id);
    out.emplace_back(AuthPayload{AuthMethod::SharedKeyMic, Bytes(mic.reveal().begin(), mic.reveal().end())});
    return out;
  }
  const auto& credentials = auth.certificate->credentials();
  for (auto& der : credentials.certificates_der()) out.emplace_back(CertPayload{false, kX509Signature, std::move(der)});
  if (initiator) {
    if (auto hashes = auth.certificate->ca_key_hashes(); !hashes.empty()) out.emplace_back(CertPayload{true, kX509Signature, std::move(hashes)});
  }
  auto signature = build_signature_auth(credentials, sa.peer_signature_hashes, octets_for(sa, initiator, id));
  if (!signature) return unexpected(signature.error());
  out.emplace_back(std::move(*signature));
  return out;
}

// The peer's AUTH (and CERTs) for its ID; what it proved (a certificate's subject; empty for a
// preshared key), or why not.
Expected<std::string, std::string> check_peer_auth(const IkeSa& sa, bool peer_initiator, const AuthConfig& auth, const IdPayload& id,
                                                   const AuthPayload& payload, std::span<const Payload> payloads,
                                                   const std::string& who) {
  const std::string side = peer_initiator ? "initiator" : "responder";
  if (!auth.certificate) {
    if (payload.method != AuthMethod::SharedKeyMic) {
      return unexpected("the " + side + " authenticates with method " + std::to_string(static_cast<unsigned>(payload.method)) +
                        ", not a shared key");
    }
    if (!crypto::equal_constant_time(payload.data, auth_for(sa, peer_initiator, auth, id).reveal())) {
      return unexpected("the " + side + "'s AUTH does not verify with the preshared key");
    }
    return std::string();
  }
  if (payload.method == AuthMethod::SharedKeyMic) {
    return unexpected("the " + side + " " + who + " authenticates with a shared key; the policy wants a certificate");
  }
  std::vector<Bytes> certificates;
  for (const auto& p : payloads) {
    const auto* cert = std::get_if<CertPayload>(&p);
    if (cert == nullptr || cert->request) continue;
    if (cert->encoding != kX509Signature) {
      return unexpected("the " + side + " " + who + " sent a certificate in encoding " + std::to_string(cert->encoding) +
                        ", Ward accepts X.509 Certificate - Signature (4)");
    }
    certificates.push_back(cert->data);
  }
  const auto body = id.body();
  auto peer = auth.certificate->verify_peer(certificates, body, "the " + side + " " + who);
  if (!peer) return unexpected(peer.error().text);
  if (auto checked = check_signature_auth(*peer, payload, octets_for(sa, peer_initiator, id), who + " (" + peer->subject() + ")");
      !checked) {
    return unexpected(checked.error());
  }
  return peer->subject();
}

}  // namespace

std::optional<TrafficSelector> narrow_selectors(const TsPayload& proposed, const TrafficSelector& ours) {
  for (const auto& s : proposed.selectors) {
    if (ours.contains(s)) return s;
    if (s.contains(ours)) return ours;
  }
  return std::nullopt;
}

bool wants_transport_mode(const std::vector<Payload>& payloads) {
  return find_notify(payloads, NotifyType::UseTransportMode) != nullptr;
}

Expected<ChildSa, std::string> make_child_sa(const IkeSa& sa, const ChildSaConfig& config, const ChildProposal& chosen,
                                             std::uint32_t own_spi, std::uint32_t peer_spi, const TrafficSelector& local,
                                             const TrafficSelector& remote, const ChildKeying& keying) {
  const std::size_t e = driver::crypto::encryption_key_length(chosen.cipher);
  const std::size_t a = driver::crypto::integrity_key_length(chosen.integrity);
  auto keymat = child_keymat(sa.proposal.prf, sa.keys.sk_d, keying.g_ir, keying.ni, keying.nr, 2 * (e + a));
  if (!keymat) return unexpected(keymat.error());
  const auto k = keymat->reveal();
  // 2.17: initiator -> responder first (encryption, then integrity), then responder -> initiator.
  const SecureBytes ei(k.subspan(0, e)), ai(k.subspan(e, a)), er(k.subspan(e + a, e)), ar(k.subspan(2 * e + a, a));
  ChildSa c;
  c.inbound_spi = own_spi;
  c.outbound_spi = peer_spi;
  c.proposal = chosen;
  c.pfs = keying.g_ir.empty() ? std::nullopt : config.pfs_group;
  c.local = local;
  c.remote = remote;
  auto install = [&](Direction direction) {
    driver::SaInstall s;
    auto& p = s.params;
    p.protocol = driver::crypto::SecurityProtocol::Esp;
    p.direction = direction;
    p.spi = direction == Direction::Inbound ? own_spi : peer_spi;
    p.mode = config.mode;
    if (config.mode == Mode::Tunnel && config.tunnel) p.tunnel = *config.tunnel;
    p.cipher = chosen.cipher;
    p.integrity = chosen.integrity;
    // What the exchange's initiator sends uses the i->r keys.
    const bool initiator_to_responder = (direction == Direction::Outbound) == keying.exchange_initiator;
    p.encryption_key = initiator_to_responder ? ei : er;
    p.integrity_key = initiator_to_responder ? ai : ar;
    p.udp_encapsulation = config.udp_encapsulation;
    s.filter_id = config.filter_id;
    s.peer = config.peer;
    s.lifetime.hard_time = config.lifetime;
    s.lifetime.soft_time = config.lifetime * 9 / 10;
    return s;
  };
  c.inbound = install(Direction::Inbound);
  c.outbound = install(Direction::Outbound);
  return c;
}

Expected<std::uint32_t, std::string> random_esp_spi() {
  std::uint32_t spi = 0;
  while (spi < 256) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&spi), sizeof spi) != 1) return unexpected(std::string("RAND_bytes failed"));
  }
  return spi;
}

Expected<Bytes, std::string> IkeAuthInitiator::build_request() {
  const IdPayload idi = own_id(auth_, true);
  auto proposals = child_proposals(child_.proposals, own_spi_);
  if (!proposals) return unexpected(proposals.error());
  std::vector<Payload> inner;
  inner.emplace_back(idi);
  auto own_auth = own_auth_payloads(sa_, true, auth_, idi);
  if (!own_auth) return unexpected("IKE_AUTH: " + own_auth.error());
  for (auto& p : *own_auth) inner.push_back(std::move(p));
  if (child_.mode == Mode::Transport) inner.emplace_back(notify(NotifyType::UseTransportMode));
  inner.emplace_back(SaPayload{std::move(*proposals)});
  inner.emplace_back(TsPayload{true, {child_.local}});
  inner.emplace_back(TsPayload{false, {child_.remote}});
  auto sealed = seal_protected(sa_, ExchangeType::IkeAuth, 1, false, inner);
  if (!sealed) return unexpected(sealed.error());
  request_ = *sealed;
  return sealed;
}

Expected<ChildSa, IkeAuthError> IkeAuthInitiator::consume_response(std::span<const std::byte> datagram) {
  const auto fails = [](std::string text) { return unexpected(IkeAuthError{std::nullopt, std::nullopt, std::move(text)}); };
  const auto authentication_failed = [](std::string text) {
    return unexpected(IkeAuthError{NotifyType::AuthenticationFailed, std::nullopt, std::move(text)});
  };
  auto inner = open(sa_, datagram, true);
  if (!inner) return fails(inner.error());
  if (const auto* error = find_error(*inner)) {
    const auto type = static_cast<NotifyType>(error->type);
    return unexpected(IkeAuthError{std::nullopt, type, "the responder answered IKE_AUTH with " + std::string(name(type))});
  }
  const auto* idr = find_id(*inner, false);
  const auto* auth = find_payload<AuthPayload>(*inner);
  if (idr == nullptr || auth == nullptr) return authentication_failed("IKE_AUTH response without IDr or AUTH");
  auto proved = check_peer_auth(sa_, false, auth_, *idr, *auth, *inner, child_.peer.to_string());
  if (!proved) return authentication_failed(proved.error());
  if (auto id_ok = check_peer_id(auth_, *idr); !id_ok) return authentication_failed(id_ok.error());
  peer_identity_ = std::move(*proved);
  const auto* sa = find_payload<SaPayload>(*inner);
  const auto* tsi = find_ts(*inner, true);
  const auto* tsr = find_ts(*inner, false);
  if (sa == nullptr || tsi == nullptr || tsr == nullptr) return fails("IKE_AUTH response without SAr2, TSi or TSr");
  if (sa->proposals.size() != 1) return fails("the responder chose more than one ESP proposal");
  auto chosen = choose_child(child_.proposals, *sa);
  if (!chosen) return fails("the responder chose an ESP proposal Ward did not offer: " + chosen.error());
  if ((child_.mode == Mode::Transport) != wants_transport_mode(*inner)) {
    return fails(std::string("the responder did not agree to ") + (child_.mode == Mode::Transport ? "transport" : "tunnel") + " mode");
  }
  // The responder may only narrow (2.9).
  if (tsi->selectors.size() != 1 || tsr->selectors.size() != 1 || !child_.local.contains(tsi->selectors[0]) ||
      !child_.remote.contains(tsr->selectors[0])) {
    return fails("the responder's selectors " + tsi->selectors[0].to_string() + " / " + tsr->selectors[0].to_string() +
                 " are not within Ward's");
  }
  auto made = make_child_sa(sa_, child_, chosen->proposal, own_spi_, chosen->peer_spi, tsi->selectors[0], tsr->selectors[0],
                            ChildKeying{{}, sa_.ni, sa_.nr, sa_.initiator});
  if (!made) return fails(std::move(made).error());
  return std::move(*made);
}

Expected<IkeAuthReply, std::string> respond_ike_auth(IkeSa& sa, const AuthConfig& auth, const ChildSaConfig& child,
                                                     std::uint32_t own_spi, std::span<const std::byte> request) {
  return respond_ike_auth(sa, auth, child, SpiSource([own_spi]() -> Expected<std::uint32_t, std::string> { return own_spi; }), request);
}

Expected<IkeAuthReply, std::string> respond_ike_auth(IkeSa& sa, const AuthConfig& auth, const ChildSaConfig& child,
                                                     const SpiSource& spi_source, std::span<const std::byte> request) {
  auto inner = open(sa, request, false);
  if (!inner) return unexpected(inner.error());
  auto seal = [&](std::vector<Payload> payloads) { return seal_protected(sa, ExchangeType::IkeAuth, 1, true, payloads); };
  auto refuse = [&](NotifyType type, std::string why, bool authenticated) -> Expected<IkeAuthReply, std::string> {
    auto sealed = seal({notify(type)});
    if (!sealed) return unexpected(sealed.error());
    return IkeAuthReply{std::move(*sealed), std::nullopt, authenticated, std::move(why), {}};
  };
  const auto* idi = find_id(*inner, true);
  const auto* auth_payload = find_payload<AuthPayload>(*inner);
  if (idi == nullptr || auth_payload == nullptr) return refuse(NotifyType::InvalidSyntax, "IKE_AUTH request without IDi or AUTH", false);
  auto proved = check_peer_auth(sa, true, auth, *idi, *auth_payload, *inner, child.peer.to_string());
  if (!proved) return refuse(NotifyType::AuthenticationFailed, proved.error(), false);
  if (auto id_ok = check_peer_id(auth, *idi); !id_ok) return refuse(NotifyType::AuthenticationFailed, id_ok.error(), false);

  const IdPayload idr = own_id(auth, false);
  std::vector<Payload> reply{idr};
  auto own_auth = own_auth_payloads(sa, false, auth, idr);
  if (!own_auth) return unexpected("IKE_AUTH: " + own_auth.error());
  for (auto& p : *own_auth) reply.push_back(std::move(p));
  auto child_refusal = [&](NotifyType type, std::string why) -> Expected<IkeAuthReply, std::string> {
    reply.emplace_back(notify(type));
    auto sealed = seal(std::move(reply));
    if (!sealed) return unexpected(sealed.error());
    return IkeAuthReply{std::move(*sealed), std::nullopt, true, std::move(why), *proved};
  };
  if (child.refuse_with) return child_refusal(*child.refuse_with, child.refusal);
  const auto* sai2 = find_payload<SaPayload>(*inner);
  const auto* tsi = find_ts(*inner, true);
  const auto* tsr = find_ts(*inner, false);
  if (sai2 == nullptr || tsi == nullptr || tsr == nullptr) return child_refusal(NotifyType::InvalidSyntax, "IKE_AUTH request without SAi2, TSi or TSr");
  auto chosen = choose_child(child.proposals, *sai2);
  if (!chosen) return child_refusal(NotifyType::NoProposalChosen, chosen.error());
  if ((child.mode == Mode::Transport) != wants_transport_mode(*inner)) {
    return child_refusal(NotifyType::NoProposalChosen, std::string("the initiator asks for ") +
                                                           (wants_transport_mode(*inner) ? "transport" : "tunnel") + " mode");
  }
  const auto remote = narrow_selectors(*tsi, child.remote);
  const auto local = narrow_selectors(*tsr, child.local);
  if (!remote || !local) {
    return child_refusal(NotifyType::TsUnacceptable, "the initiator's selectors " + tsi->selectors[0].to_string() + " / " +
                                                         tsr->selectors[0].to_string() + " do not meet the filter's");
  }
  const auto spi = spi_source();
  if (!spi) return child_refusal(NotifyType::NoAdditionalSas, "no inbound SPI: " + spi.error());
  const std::uint32_t own_spi = *spi;
  if (child.mode == Mode::Transport) reply.emplace_back(notify(NotifyType::UseTransportMode));
  Proposal answer = chosen->reply;
  answer.spi = child_spi_bytes(own_spi);
  reply.emplace_back(SaPayload{{answer}});
  reply.emplace_back(TsPayload{true, {*remote}});
  reply.emplace_back(TsPayload{false, {*local}});
  auto made = make_child_sa(sa, child, chosen->proposal, own_spi, chosen->peer_spi, *local, *remote, ChildKeying{{}, sa.ni, sa.nr, false});
  if (!made) return unexpected(made.error());
  auto sealed = seal(std::move(reply));
  if (!sealed) return unexpected(sealed.error());
  return IkeAuthReply{std::move(*sealed), std::move(*made), true, {}, std::move(*proved)};
}

}  // namespace ward::ike::v2
