#include "ike/service/ikev2_sa.h"

#include <algorithm>

#include "ike/v2/protected_message.h"

namespace ward::ike::service {
namespace {

using v2::ExchangeType;
using v2::HeaderFlag;
using v2::NotifyType;

// The header's fields, read without the codec's checks (an IKEv1 answer has major version 1).
struct RawHeader {
  std::uint8_t version = 0;
  std::uint8_t exchange = 0;
  std::uint8_t flags = 0;
  std::uint32_t message_id = 0;
  bool response() const noexcept { return (flags & static_cast<std::uint8_t>(HeaderFlag::Response)) != 0; }
};
std::optional<RawHeader> raw_header(std::span<const std::byte> bytes) {
  if (bytes.size() < 28) return std::nullopt;
  RawHeader h;
  h.version = std::to_integer<std::uint8_t>(bytes[17]);
  h.exchange = std::to_integer<std::uint8_t>(bytes[18]);
  h.flags = std::to_integer<std::uint8_t>(bytes[19]);
  for (int i = 20; i < 24; ++i) h.message_id = (h.message_id << 8) | std::to_integer<std::uint8_t>(bytes[i]);
  return h;
}
bool is(std::uint8_t exchange, ExchangeType type) { return exchange == static_cast<std::uint8_t>(type); }

// The notify of `types` in a cleartext answer, read as IKEv2 whatever its version octet says
// (INVALID_MAJOR_VERSION comes back with the version the peer speaks, 2.5).
std::optional<NotifyType> refusal_in(std::span<const std::byte> bytes, std::initializer_list<NotifyType> types) {
  v2::Bytes copy(bytes.begin(), bytes.end());
  copy[17] = std::byte{v2::kVersion};
  auto m = v2::parse_message(copy);
  if (!m) return std::nullopt;
  for (auto type : types)
    if (m->find_notify(type) != nullptr) return type;
  return std::nullopt;
}

FailureKind kind_of(NotifyType type) {
  switch (type) {
    case NotifyType::AuthenticationFailed: return FailureKind::AuthenticationFailed;
    case NotifyType::NoProposalChosen: return FailureKind::NoProposalChosen;
    case NotifyType::TsUnacceptable: return FailureKind::InvalidId;
    default: return FailureKind::Other;
  }
}

}  // namespace

std::string_view name(Ikev2Sa::State state) noexcept {
  switch (state) {
    case Ikev2Sa::State::IkeSaInitSent: return "IkeSaInitSent";
    case Ikev2Sa::State::IkeAuthSent: return "IkeAuthSent";
    case Ikev2Sa::State::WaitingForIkeAuth: return "WaitingForIkeAuth";
    case Ikev2Sa::State::Established: return "Established";
    case Ikev2Sa::State::Failed: return "Failed";
    case Ikev2Sa::State::Closed: return "Closed";
  }
  return "unknown";
}

Expected<std::unique_ptr<Ikev2Sa>, std::string> Ikev2Sa::initiate(v2::IkeSaInitConfig init, v2::AuthConfig auth,
                                                                  v2::ChildSaConfig child, Ikev2Hooks hooks,
                                                                  sa::RetransmitPolicy retransmit,
                                                                  std::optional<std::chrono::milliseconds> fallback_after,
                                                                  sa::TimePoint now, Output& out) {
  auto proposals = init.proposals;   // a rekey of the IKE SA chooses among them too
  const v2::IkeSaInitConfig init_config = init;
  auto made = v2::IkeSaInitInitiator::create(std::move(init));
  if (!made) return unexpected("IKE_SA_INIT: " + made.error());
  std::unique_ptr<Ikev2Sa> sa(new Ikev2Sa(true, std::move(auth), std::move(hooks), retransmit, now));
  sa->set_fragmentation(init_config);
  sa->ike_proposals_ = std::move(proposals);
  sa->child_ = std::move(child);
  sa->init_.emplace(std::move(*made));
  sa->first_request_ = sa->init_->request();
  sa->retransmitter_.sent(sa->first_request_, now, true);
  if (fallback_after) sa->fallback_at_ = now + *fallback_after;
  out.send.push_back(sa->first_request_);
  return sa;
}

Expected<std::unique_ptr<Ikev2Sa>, std::string> Ikev2Sa::respond(const v2::IkeSaInitConfig& init, v2::AuthConfig auth,
                                                                 Ikev2Hooks hooks, sa::RetransmitPolicy retransmit,
                                                                 std::span<const std::byte> request, sa::TimePoint now,
                                                                 Output& out) {
  auto reply = v2::respond_ike_sa_init(init, request);
  if (!reply) return unexpected(reply.error());
  out.send.push_back(reply->reply);
  if (!reply->sa) {
    out.failed = "IKE_SA_INIT refused: " + reply->refusal;
    out.failure = FailureKind::NoProposalChosen;
    return std::unique_ptr<Ikev2Sa>();
  }
  std::unique_ptr<Ikev2Sa> sa(new Ikev2Sa(false, std::move(auth), std::move(hooks), retransmit, now));
  sa->set_fragmentation(init);
  sa->state_ = State::WaitingForIkeAuth;
  sa->ike_proposals_ = init.proposals;
  sa->sa_.emplace(std::move(*reply->sa));
  sa->first_request_.assign(request.begin(), request.end());
  sa->last_response_ = std::move(reply->reply);
  sa->expected_request_id_ = 1;
  return sa;
}

const v2::Spi& Ikev2Sa::initiator_spi() const noexcept { return sa_ ? sa_->spi_i : init_->initiator_spi(); }

std::string Ikev2Sa::spis() const {
  if (sa_) return sa_->spis();
  std::string out;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (auto b : init_->initiator_spi()) {
    out.push_back(kDigits[std::to_integer<unsigned>(b) >> 4]);
    out.push_back(kDigits[std::to_integer<unsigned>(b) & 0xf]);
  }
  return out + "/0000000000000000";
}

std::optional<sa::TimePoint> Ikev2Sa::due() const {
  if (done()) return std::nullopt;
  auto due = retransmitter_.due();
  if (fallback_at_ && !answered_ && state_ == State::IkeSaInitSent && (!due || *fallback_at_ < *due)) due = fallback_at_;
  return due;
}

void Ikev2Sa::set_fragmentation(const v2::IkeSaInitConfig& init) {
  family_ = init.local.address.family();
  fragment_size_ = init.fragment_size != 0 ? init.fragment_size : v2::default_fragment_size(family_);
}

Ikev2Sa::Output Ikev2Sa::transition(const Input& input, sa::TimePoint now) {
  Output out;
  if (done()) return out;
  transition_whole(input, now, out);
  fragment_output(out);
  return out;
}

void Ikev2Sa::fragment_output(Output& out) {
  if (!sa_ || !sa_->fragmentation || out.send.empty()) return;
  std::vector<v2::Bytes> send;
  for (auto& message : out.send) {
    // Only what goes under the current IKE SA's keys with SK alone (IKE_SA_INIT never fragments;
    // the retiring SA's DELETE is small).
    const bool ours = message.size() > v2::kHeaderSize && std::equal(sa_->spi_i.begin(), sa_->spi_i.end(), message.begin()) &&
                      std::equal(sa_->spi_r.begin(), sa_->spi_r.end(), message.begin() + 8) &&
                      message[16] == std::byte{static_cast<std::uint8_t>(v2::PayloadType::Encrypted)};
    if (!ours || v2::datagram_size(message.size(), family_) <= fragment_size_) {
      send.push_back(std::move(message));
      continue;
    }
    auto cached = std::find_if(fragmented_.begin(), fragmented_.end(), [&](const auto& f) { return f.first == message; });
    if (cached == fragmented_.end()) {
      auto fragments = v2::fragment_message(*sa_, message, fragment_size_, family_);
      if (!fragments) {   // cannot happen with a sane size: sent whole rather than not at all
        out.dropped.push_back("not fragmented: " + fragments.error());
        send.push_back(std::move(message));
        continue;
      }
      fragmented_.emplace_back(std::move(message), std::move(*fragments));
      if (fragmented_.size() > 2) fragmented_.pop_front();
      cached = std::prev(fragmented_.end());
    }
    send.insert(send.end(), cached->second.begin(), cached->second.end());
  }
  out.send = std::move(send);
}

void Ikev2Sa::on_fragment(std::span<const std::byte> bytes, sa::TimePoint now, Output& out) {
  if (!sa_ || !sa_->fragmentation) {
    out.dropped.push_back("an SKF fragment (RFC 7383) on IKE SA " + spis() + ", which did not agree to fragmentation");
    return;
  }
  auto result = reassembler_.add(*sa_, bytes, now);
  switch (result.outcome) {
    case v2::Reassembler::Outcome::Kept:
    case v2::Reassembler::Outcome::Duplicate: out.peer_answered = true; return;   // a retransmission: not worth a log line
    case v2::Reassembler::Outcome::Dropped: out.dropped.push_back(std::move(result.reason)); return;
    case v2::Reassembler::Outcome::Complete:
    case v2::Reassembler::Outcome::Repeated: on_received(result.message, now, out); return;
  }
}

void Ikev2Sa::transition_whole(const Input& input, sa::TimePoint now, Output& out) {
  if (const auto* received = std::get_if<Received>(&input)) {
    on_received(received->bytes, now, out);
  } else if (std::holds_alternative<Timer>(input)) {
    on_timer(now, out);
  } else if (const auto* children = std::get_if<DeleteChildren>(&input)) {
    if (state_ != State::Established || children->inbound_spis.empty()) return;
    std::erase_if(children_, [&](const Child& c) {
      return std::find(children->inbound_spis.begin(), children->inbound_spis.end(), c.inbound) != children->inbound_spis.end();
    });
    request([this, spis = children->inbound_spis](std::uint32_t id) { return v2::delete_child_sa_request(*sa_, id, spis); },
            false, now, out);
  } else if (const auto* rekey = std::get_if<RekeyChild>(&input)) {
    if (state_ == State::Established) rekey_child(rekey->inbound_spi, now, out);
  } else if (std::holds_alternative<RekeyIkeSa>(input)) {
    if (state_ == State::Established) rekey_ike_sa(now, out);
  } else if (const auto* add = std::get_if<AddChild>(&input)) {
    if (state_ == State::Established) {
      add_further_child(add->config, now, out);
    } else {
      out.add_child_failed.emplace_back(add->config.filter_id, "the IKE SA is not established");
    }
  } else if (std::holds_alternative<CheckLiveness>(input)) {
    if (state_ != State::Established || checking_liveness()) return;
    PendingRequest pending;
    pending.build = [this](std::uint32_t id) { return v2::liveness_request(*sa_, id); };
    pending.liveness = true;
    request(std::move(pending), now, out);
  } else if (std::holds_alternative<DeleteIkeSa>(input)) {
    if (state_ != State::Established) {
      state_ = State::Closed;
      out.closed = true;
      return;
    }
    queued_.clear();
    request([this](std::uint32_t id) { return v2::delete_ike_sa_request(*sa_, id); }, true, now, out);
  }
  return;
}

bool Ikev2Sa::checking_liveness() const noexcept {
  if (outstanding_request_ && outstanding_request_->liveness) return true;
  return std::any_of(queued_.begin(), queued_.end(), [](const PendingRequest& p) { return p.liveness; });
}

void Ikev2Sa::on_received(std::span<const std::byte> bytes, sa::TimePoint now, Output& out) {
  const auto h = raw_header(bytes);
  if (!h) return;
  if ((h->version >> 4) != 2) {
    // An IKEv1-only peer: INVALID_MAJOR_VERSION under its own version (2.5).
    if (state_ == State::IkeSaInitSent && is(h->exchange, ExchangeType::IkeSaInit) &&
        refusal_in(bytes, {NotifyType::InvalidMajorVersion})) {
      out.peer_answered = true;
      out.not_ikev2 = true;
      fail("the peer answered IKE_SA_INIT with INVALID_MAJOR_VERSION (version " + std::to_string(h->version >> 4) + "." +
               std::to_string(h->version & 0xf) + ")",
           FailureKind::NoProposalChosen, out);
    }
    return;
  }
  if (v2::is_fragment(bytes)) {
    on_fragment(bytes, now, out);
    return;
  }
  switch (state_) {
    case State::IkeSaInitSent:
      if (is(h->exchange, ExchangeType::IkeSaInit) && h->response()) on_ike_sa_init_response(bytes, now, out);
      return;
    case State::IkeAuthSent:
      if (is(h->exchange, ExchangeType::IkeAuth) && h->response() && h->message_id == 1) on_ike_auth_response(bytes, out);
      return;
    case State::WaitingForIkeAuth:
      if (is(h->exchange, ExchangeType::IkeSaInit) && !h->response()) {
        out.send.push_back(last_response_);   // the peer did not get our IKE_SA_INIT response
      } else if (is(h->exchange, ExchangeType::IkeAuth) && !h->response() && h->message_id == 1) {
        on_ike_auth_request(bytes, out);
      }
      return;
    case State::Established: {
      auto header = v2::parse_message(bytes);
      if (!header) return;
      if (retiring(header->header.initiator_spi, header->header.responder_spi)) {
        if (h->response()) {
          on_response(header->header, bytes, now, out);
        } else {
          on_retiring(header->header, bytes, out);
        }
      } else if (h->response()) {
        on_response(header->header, bytes, now, out);
      } else {
        on_request(header->header, bytes, out);
      }
      if (!done()) send_next_request(now, out);
      return;
    }
    case State::Failed:
    case State::Closed: return;
  }
}

Expected<void, std::string> Ikev2Sa::load_padded_key() {
  if (auth_.certificate || auth_.preshared_key.size() > 0 || auth_.padded_key.size() > 0) return {};
  if (!hooks_.padded_key) return unexpected(std::string("no preshared key"));
  auto padded = hooks_.padded_key(sa_->proposal.prf);
  if (!padded) return unexpected("the preshared key's holder: " + padded.error());
  if (padded->size() == 0) return unexpected(std::string("the preshared key's holder gave no key"));
  auth_.padded_key = std::move(*padded);
  return {};
}

void Ikev2Sa::on_ike_sa_init_response(std::span<const std::byte> bytes, sa::TimePoint now, Output& out) {
  if (const auto refusal = refusal_in(bytes, {NotifyType::InvalidMajorVersion, NotifyType::NoProposalChosen})) {
    // NO_PROPOSAL_CHOSEN to IKE_SA_INIT is also how a peer with only IKEv1 configured answers
    // (charon: "no IKE config found").
    out.peer_answered = true;
    out.not_ikev2 = true;
    fail("the peer refused IKE_SA_INIT with " + std::string(v2::name(*refusal)), kind_of(*refusal), out);
    return;
  }
  auto result = init_->consume_response(bytes);
  if (!result) {
    if (!v2::parse_message(bytes)) return;   // not a message (a forgery cannot fail us)
    out.peer_answered = true;
    answered_ = true;
    fail(result.error(), FailureKind::NoProposalChosen, out);
    return;
  }
  answered_ = true;
  out.peer_answered = true;
  if (!*result) {   // INVALID_KE_PAYLOAD or COOKIE: the request again, changed
    retransmitter_.sent(init_->request(), now, true);
    out.send.push_back(init_->request());
    return;
  }
  sa_.emplace(std::move(**result));
  init_.reset();
  if (auto loaded = load_padded_key(); !loaded) {
    fail(loaded.error(), FailureKind::Other, out);
    return;
  }
  auto spi = hooks_.allocate_spi ? hooks_.allocate_spi() : v2::random_esp_spi();
  if (!spi) {
    fail("no inbound SPI: " + spi.error(), FailureKind::Other, out);
    return;
  }
  own_spi_ = *spi;
  if (hooks_.nat_detected) child_.udp_encapsulation = hooks_.nat_detected(*sa_);
  auth_initiator_ = std::make_unique<v2::IkeAuthInitiator>(*sa_, auth_, child_, own_spi_);
  auto request = auth_initiator_->build_request();
  if (!request) {
    fail("IKE_AUTH: " + request.error(), FailureKind::Other, out);
    return;
  }
  retransmitter_.sent(*request, now, true);
  out.send.push_back(std::move(*request));
  state_ = State::IkeAuthSent;
  next_request_id_ = 2;
}

void Ikev2Sa::on_ike_auth_response(std::span<const std::byte> bytes, Output& out) {
  auto child = auth_initiator_->consume_response(bytes);
  if (!child) {
    const auto& error = child.error();
    if (!error.peer_refused && !v2::open_protected(*sa_, bytes)) return;   // does not decrypt: not the peer's
    out.peer_answered = true;
    if (error.tell) {
      // RFC 7296 2.21.2: the responder counts the IKE SA established; tell it, in an
      // INFORMATIONAL of its own, not retransmitted (the SA is failed here at once).
      if (auto told = v2::error_request(*sa_, next_request_id_, *error.tell)) {
        out.send.push_back(std::move(*told));
        ++out.refusals_sent;
      }
    }
    fail(error.text, error.peer_refused ? kind_of(*error.peer_refused) : FailureKind::AuthenticationFailed, out);
    return;
  }
  retransmitter_.answered();
  out.peer_answered = true;
  out.established = true;
  state_ = State::Established;
  peer_identity_ = auth_initiator_->peer_identity();
  add_child(*child, child_);
  out.child = std::move(*child);
  auth_initiator_.reset();
}

void Ikev2Sa::on_ike_auth_request(std::span<const std::byte> bytes, Output& out) {
  auto opened = v2::open_protected(*sa_, bytes);
  if (!opened) return;   // not the peer's: dropped
  const v2::TsPayload* tsi = nullptr;
  const v2::TsPayload* tsr = nullptr;
  for (const auto& p : opened->payloads) {
    if (const auto* ts = std::get_if<v2::TsPayload>(&p)) (ts->initiator ? tsi : tsr) = ts;
  }
  v2::ChildSaConfig child;
  if (tsi == nullptr || tsr == nullptr || tsi->selectors.empty() || tsr->selectors.empty()) {
    child.refuse_with = NotifyType::InvalidSyntax;
    child.refusal = "IKE_AUTH request without TSi or TSr";
  } else if (auto found = hooks_.child_for(tsi->selectors[0], tsr->selectors[0]); !found) {
    child.refuse_with = child_refusal(found.error());
    child.refusal = found.error().text;
  } else {
    child = std::move(*found);
  }
  child_ = child;
  if (auto loaded = load_padded_key(); !loaded) {
    fail(loaded.error(), FailureKind::Other, out);
    return;
  }
  // The SPI is asked for once the initiator's AUTH verified (wardd reserves SPIs for its IKE
  // process only for peers reported authenticated: hooks_.authenticated reports it first).
  std::uint32_t spi = 0;
  const v2::SpiSource source = [&]() -> Expected<std::uint32_t, std::string> {
    if (hooks_.authenticated) hooks_.authenticated();
    auto allocated = hooks_.allocate_spi ? hooks_.allocate_spi() : v2::random_esp_spi();
    if (allocated) spi = *allocated;
    return allocated;
  };
  auto reply = v2::respond_ike_auth(*sa_, auth_, child, source, bytes);
  if (!reply) {
    if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
    return;
  }
  out.peer_answered = true;
  out.send.push_back(reply->reply);
  last_response_ = reply->reply;
  expected_request_id_ = 2;
  if (!reply->authenticated) {
    if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
    fail(reply->refusal, FailureKind::AuthenticationFailed, out);
    return;
  }
  state_ = State::Established;
  out.established = true;
  peer_identity_ = reply->peer_identity;
  if (!reply->child) {
    if (spi != 0 && hooks_.release_spi) hooks_.release_spi(spi);
    // Authenticated, but no CHILD_SA: RFC 7296 keeps the IKE SA; Ward, which has nothing to
    // run in it yet, reports the refusal and deletes it.
    out.failed = "IKE_AUTH: no CHILD_SA: " + reply->refusal;
    out.failure = child.refuse_with ? kind_of(*child.refuse_with) : FailureKind::NoProposalChosen;
    return;
  }
  add_child(*reply->child, child_);
  out.child = std::move(reply->child);
}

void Ikev2Sa::on_request(const v2::Header& header, std::span<const std::byte> bytes, Output& out) {
  if (header.message_id + 1 == expected_request_id_) {
    if (v2::open_protected(*sa_, bytes)) out.send.push_back(last_response_);   // repeated: answered again
    return;
  }
  if (header.message_id != expected_request_id_) return;   // outside the window of 1
  if (header.exchange != ExchangeType::Informational) {
    auto opened = v2::open_protected(*sa_, bytes);
    if (!opened) return;
    if (header.exchange == ExchangeType::CreateChildSa) {
      on_create_child_sa(header, std::move(opened->payloads), out);
      return;
    }
    const v2::Payload refusal = v2::NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::NoAdditionalSas), {}};
    auto sealed = v2::seal_protected(*sa_, header.exchange, header.message_id, true, std::span(&refusal, 1));
    if (!sealed) return;
    out.peer_answered = true;
    last_response_ = *sealed;
    ++expected_request_id_;
    out.send.push_back(std::move(*sealed));
    return;
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> outbound_to_inbound;
  for (const auto& c : children_) outbound_to_inbound.emplace_back(c.outbound, c.inbound);
  auto answer = v2::answer_informational(*sa_, bytes, outbound_to_inbound);
  if (!answer) return;
  out.peer_answered = true;
  last_response_ = answer->reply;
  ++expected_request_id_;
  out.send.push_back(answer->reply);
  if (!answer->deleted_outbound_spis.empty()) {
    out.peer_deleted_outbound_spis = answer->deleted_outbound_spis;
    std::erase_if(children_, [&](const Child& c) {
      return std::find(answer->deleted_outbound_spis.begin(), answer->deleted_outbound_spis.end(), c.outbound) !=
             answer->deleted_outbound_spis.end();
    });
  }
  if (answer->error == NotifyType::AuthenticationFailed) {
    // The initiator found our IKE_AUTH wrong after we counted the SA established (2.21.2).
    out.failed = "peer " + child_.peer.to_string() + " refused: " + std::string(v2::name(*answer->error));
    out.failure = FailureKind::AuthenticationFailed;
    out.peer_refused = true;
    answer->delete_ike_sa = true;
  }
  if (answer->delete_ike_sa) {
    state_ = State::Closed;
    out.closed = true;
  }
}

void Ikev2Sa::on_response(const v2::Header& header, std::span<const std::byte> bytes, sa::TimePoint now, Output& out) {
  if (!outstanding_ || !outstanding_request_ || header.message_id != *outstanding_) return;
  if (header.exchange != outstanding_request_->exchange) return;
  // Under the old keys: our DELETE of the rekeyed IKE SA, or our own rekey of it that crossed the
  // peer's (and is refused).
  const bool on_retiring_sa = retiring(header.initiator_spi, header.responder_spi);
  auto opened = v2::open_protected(on_retiring_sa ? retiring_->sa : *sa_, bytes);
  if (!opened) return;
  out.peer_answered = true;
  retransmitter_.answered();
  outstanding_.reset();
  auto answered = std::move(*outstanding_request_);
  outstanding_request_.reset();
  out.retired_inbound_spis.insert(out.retired_inbound_spis.end(), answered.retires.begin(), answered.retires.end());
  if (answered.on_answer) answered.on_answer(&opened->payloads, now, out);
  if (answered.deletes_ike_sa) {
    state_ = State::Closed;
    out.closed = true;
  }
}

void Ikev2Sa::request(std::function<Expected<v2::Bytes, std::string>(std::uint32_t)> build, bool deletes_ike_sa,
                      sa::TimePoint now, Output& out) {
  PendingRequest pending;
  pending.build = std::move(build);
  pending.deletes_ike_sa = deletes_ike_sa;
  request(std::move(pending), now, out);
}

void Ikev2Sa::request(PendingRequest pending, sa::TimePoint now, Output& out) {
  queued_.push_back(std::move(pending));
  send_next_request(now, out);
}

void Ikev2Sa::send_next_request(sa::TimePoint now, Output& out) {
  while (!outstanding_ && !queued_.empty()) {
    auto next = std::move(queued_.front());
    queued_.pop_front();
    const std::uint32_t id = next.message_id.value_or(next_request_id_);
    auto built = next.build(id);
    if (!built) {
      if (next.on_answer) next.on_answer(nullptr, now, out);
      continue;
    }
    outstanding_ = id;
    if (!next.message_id) ++next_request_id_;
    outstanding_request_ = std::move(next);
    retransmitter_.sent(*built, now, true);
    out.send.push_back(std::move(*built));
  }
}

void Ikev2Sa::on_timer(sa::TimePoint now, Output& out) {
  if (fallback_at_ && !answered_ && state_ == State::IkeSaInitSent && now >= *fallback_at_) {
    out.not_ikev2 = true;
    fail("no answer to IKE_SA_INIT after " + std::to_string(retransmitter_.sends()) + " sends", FailureKind::NoResponse, out);
    return;
  }
  switch (retransmitter_.tick(now)) {
    case sa::Retransmitter::Tick::Nothing: return;
    case sa::Retransmitter::Tick::Resend: out.send.push_back(retransmitter_.last()); return;
    case sa::Retransmitter::Tick::GiveUp: break;
  }
  if (state_ == State::Established) {
    // Our INFORMATIONAL went unanswered: the peer is gone (2.4), and with it the IKE SA.
    state_ = State::Closed;
    out.closed = true;
    const bool liveness = outstanding_request_ && outstanding_request_->liveness;
    out.failed = "the peer did not answer " +
                 (liveness ? std::string("the liveness check (empty INFORMATIONAL)")
                           : std::string(v2::name(outstanding_request_ ? outstanding_request_->exchange : ExchangeType::Informational))) +
                 " request " + std::to_string(outstanding_.value_or(0)) + " after " +
                 std::to_string(retransmitter_.sends()) + " sends";
    out.failure = FailureKind::PeerDead;
    return;
  }
  const bool never_answered = !answered_ && state_ == State::IkeSaInitSent;
  if (never_answered) out.not_ikev2 = true;
  fail(std::string("no answer to ") + (state_ == State::IkeSaInitSent ? "IKE_SA_INIT" : "IKE_AUTH") + " after " +
           std::to_string(retransmitter_.sends()) + " sends",
       never_answered ? FailureKind::NoResponse : FailureKind::TimedOut, out);
}

void Ikev2Sa::fail(std::string reason, FailureKind kind, Output& out) {
  if (own_spi_ != 0 && state_ != State::Established && hooks_.release_spi) hooks_.release_spi(own_spi_);
  state_ = State::Failed;
  out.failed = std::move(reason);
  out.failure = kind;
}

}  // namespace ward::ike::service
