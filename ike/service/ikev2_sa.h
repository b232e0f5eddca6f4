// One IKEv2 SA as the service runs it (RFC 7296): the exchange units of ike/v2 (IKE_SA_INIT,
// IKE_AUTH with a preshared key or a certificate and its one CHILD_SA, INFORMATIONAL) behind one transition
// function, as strongSwan's ike_sa_t runs its tasks and iked's ikev2_recv() its exchanges:
//
//   initiator: IkeSaInitSent --response--> IkeAuthSent --response--> Established
//   responder: (IKE_SA_INIT answered) WaitingForIkeAuth --request--> Established
//   Established --DELETE of the IKE SA (ours answered, or the peer's)--> Closed
//   any state --refusal, bad AUTH, retransmissions used up--> Failed
//
// Established, the owner may ask for a liveness check (CheckLiveness: an empty INFORMATIONAL);
// when it, or any request of ours, goes unanswered the peer is dead and the IKE SA closes.
//
// Established, the owner may ask for a further CHILD_SA (AddChild: another filter's traffic to the
// same peer), and the peer may too; either side rekeys a CHILD_SA with CREATE_CHILD_SA (ike/v2/create_child_sa.h):
// the new pair comes out in Output::rekeyed to be installed at once; the requester then deletes
// the old pair (INFORMATIONAL) and, when that is answered, Output::retired_inbound_spis says to
// take it out of the dataplane; the responder's old pair goes with the peer's DELETE. When both
// sides rekey the same CHILD_SA at once, the exchange holding the lowest of the four nonces made
// the redundant SA and its requester deletes it; the other requester deletes the old one (2.8.1).
//
// The IKE SA itself is rekeyed with CREATE_CHILD_SA too (ike/v2/ike_rekey.h), by either side:
// this object then carries on under the new SPIs and keys with its CHILD_SAs (Output::ike_rekeyed)
// and keeps the old IKE SA only to answer its retransmissions and its DELETE, which the requester
// sends. A peer's rekey of the IKE SA while a request of ours is outstanding is answered
// TEMPORARY_FAILURE (2.25; the peer tries again), so no answer of ours is lost between the keys;
// when both sides rekey the IKE SA at once, the IKE SA's original initiator refuses the responder's
// rekey and the responder accepts the initiator's (deterministic, instead of 2.8.2's nonces).
//
// Message IDs (2.3): a window of 1 each way. As requester one request is outstanding at a time
// (later ones wait in order), sent again with the retransmission policy IKEv1 uses
// (sa::RetransmitPolicy: 1, 2, 4, 8, 16 s, then given up); as responder the last response is
// kept and sent again for a repeated request. Nothing here touches a socket, a clock or the
// dataplane: the engine (engine_ikev2.cpp) passes datagrams and the time in, sends what comes
// out, installs the CHILD_SA and asks the policy through Ikev2Hooks.
//
// Fragmentation (RFC 7383, ike/v2/fragments.h) sits below all of this: when both ends announced
// it in IKE_SA_INIT, a protected message of ours whose datagram exceeds the fragment size goes
// out as SKF fragments (the same fragments again when it is retransmitted or repeated), and the
// peer's fragments are authenticated and reassembled before the message is handled as if it had
// come whole; a dropped fragment's reason comes out in Output::dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ike/message/ike_error.h"
#include "ike/sa/exchange.h"
#include "ike/service/helpdesk.h"
#include "ike/v2/fragments.h"
#include "ike/v2/ike_auth.h"
#include "ike/v2/informational.h"

namespace ward::ike::service {

// What an IKEv2 SA asks of its owner.
// What a responder tells the peer when child_for finds no CHILD_SA: NO_PROPOSAL_CHOSEN when a
// policy covers the selectors but has nothing to propose, TS_UNACCEPTABLE otherwise.
inline v2::NotifyType child_refusal(const IkeError& error) noexcept {
  return error.notify == NotifyMessageType::NoProposalChosen ? v2::NotifyType::NoProposalChosen : v2::NotifyType::TsUnacceptable;
}

struct Ikev2Hooks {
  // prf(preshared key, "Key Pad for IKEv2") under the chosen PRF: the key stays with its holder
  // (wardd's IKE process asks wardd, as it does for IKEv1's SKEYID).
  std::function<Expected<driver::crypto::SecureBytes, std::string>(v2::PrfId)> padded_key;
  // Responder: the CHILD_SA for the initiator's first TSi (its side) and TSr (ours); an error is
  // told to the peer as its type says (child_refusal).
  std::function<Expected<v2::ChildSaConfig, IkeError>(const v2::TrafficSelector& tsi, const v2::TrafficSelector& tsr)> child_for;
  // The dataplane's inbound SPIs (Dataplane::allocate_spi / release_spi).
  std::function<Expected<std::uint32_t, std::string>()> allocate_spi;
  std::function<void(std::uint32_t)> release_spi;
  // Responder: the initiator's AUTH verified (called before its CHILD_SA's SPI is allocated).
  std::function<void()> authenticated;
  // Initiator, after IKE_SA_INIT: the owner floats IKE to the NAT-T port when a NAT was found
  // (RFC 7296 2.23; charon with libipsec pretends one) and says how the CHILD_SA's ESP is
  // UDP-encapsulated then; nothing: no float.
  std::function<std::optional<driver::crypto::UdpEncapsulation>(const v2::IkeSa&)> nat_detected;
};

class Ikev2Sa {
 public:
  enum class State : std::uint8_t { IkeSaInitSent, IkeAuthSent, WaitingForIkeAuth, Established, Failed, Closed };

  struct Received {
    std::span<const std::byte> bytes;
  };
  struct Timer {};
  struct DeleteChildren {   // ours: their inbound SPIs, told to the peer
    std::vector<std::uint32_t> inbound_spis;
  };
  struct DeleteIkeSa {};
  struct RekeyChild {   // ours: the CHILD_SA with this inbound SPI nears its end (soft expiry)
    std::uint32_t inbound_spi = 0;
  };
  struct RekeyIkeSa {};   // ours: the IKE SA nears the end of its lifetime
  // Ours: a further CHILD_SA in this IKE SA (1.3.1, CREATE_CHILD_SA without REKEY_SA) for another
  // filter's traffic to the peer; agreed, it comes out in Output::rekeyed with replaces 0.
  struct AddChild {
    v2::ChildSaConfig config;
  };
  // Ours: nothing came from the peer for a while (the owner's DeadPeerDetector says so): an empty
  // INFORMATIONAL request (2.4), sent again on the retransmission policy; unanswered, the IKE SA
  // closes with FailureKind::PeerDead. Ignored while one is queued or outstanding.
  struct CheckLiveness {};
  using Input = std::variant<Received, Timer, DeleteChildren, DeleteIkeSa, RekeyChild, RekeyIkeSa, AddChild, CheckLiveness>;

  struct Rekeyed {
    v2::ChildSa child;           // install it now
    std::uint32_t replaces = 0;  // the inbound SPI of the pair it succeeds
  };

  struct Output {
    std::vector<v2::Bytes> send;
    std::optional<v2::ChildSa> child;   // agreed in IKE_AUTH: install it
    bool established = false;           // the IKE SA authenticated in this step
    bool peer_answered = false;         // something of the peer's decrypted or answered ours
    // Initiator: the peer does not speak IKEv2 (it answered INVALID_MAJOR_VERSION, NO_PROPOSAL_
    // CHOSEN or IKEv1, or nothing within the fallback time): the owner may try IKEv1.
    bool not_ikev2 = false;
    std::optional<std::string> failed;  // why, when the SA failed in this step
    FailureKind failure = FailureKind::Other;
    std::vector<std::uint32_t> peer_deleted_outbound_spis;   // the peer's DELETE of CHILD_SAs
    std::vector<Rekeyed> rekeyed;                            // CREATE_CHILD_SA made these (either side;
                                                             // replaces 0: a further CHILD_SA the peer asked for)
    std::vector<std::uint32_t> retired_inbound_spis;         // our DELETE of these pairs was answered
    std::vector<std::pair<std::uint32_t, std::string>> rekey_failed;   // our rekey of this inbound SPI, why not
    // Our AddChild for this filter, why not (the peer's refusal, or the IKE SA went first).
    std::vector<std::pair<std::uint32_t, std::string>> add_child_failed;
    std::optional<std::string> ike_rekeyed;        // the IKE SA now runs under new SPIs: the old ones
    std::optional<std::string> ike_rekey_failed;   // our rekey of the IKE SA, why not
    bool closed = false;                // the IKE SA is gone (deleted by either side)
    unsigned refusals_sent = 0;         // our AUTHENTICATION_FAILED after the responder's IKE_AUTH failed our check
    bool peer_refused = false;          // the peer's AUTHENTICATION_FAILED ended the IKE SA (RFC 7296 2.21.2)
    std::vector<std::string> dropped;   // the peer's fragments refused, and why (field, offset)
  };

  static Expected<std::unique_ptr<Ikev2Sa>, std::string> initiate(v2::IkeSaInitConfig init, v2::AuthConfig auth,
                                                                   v2::ChildSaConfig child, Ikev2Hooks hooks,
                                                                   sa::RetransmitPolicy retransmit,
                                                                   std::optional<std::chrono::milliseconds> fallback_after,
                                                                   sa::TimePoint now, Output& out);
  // A peer's IKE_SA_INIT request. Null with `out` holding the refusal to send when no SA was
  // made; an error when the request is dropped unanswered.
  static Expected<std::unique_ptr<Ikev2Sa>, std::string> respond(const v2::IkeSaInitConfig& init, v2::AuthConfig auth,
                                                                  Ikev2Hooks hooks, sa::RetransmitPolicy retransmit,
                                                                  std::span<const std::byte> request, sa::TimePoint now,
                                                                  Output& out);

  Output transition(const Input& input, sa::TimePoint now);

  State state() const noexcept { return state_; }
  bool initiator() const noexcept { return initiator_; }
  bool established() const noexcept { return state_ == State::Established; }
  bool done() const noexcept { return state_ == State::Failed || state_ == State::Closed; }
  std::optional<sa::TimePoint> due() const;
  const v2::Spi& initiator_spi() const noexcept;
  const v2::Spi* responder_spi() const noexcept { return sa_ ? &sa_->spi_r : nullptr; }
  const v2::IkeSa* ike_sa() const noexcept { return sa_ ? &*sa_ : nullptr; }
  // The SPIs of the IKE SA this one replaced, until it is deleted (its messages come here too).
  bool retiring(const v2::Spi& spi_i, const v2::Spi& spi_r) const noexcept {
    return retiring_ && retiring_->sa.spi_i == spi_i && retiring_->sa.spi_r == spi_r;
  }
  std::string spis() const;
  // The first IKE_SA_INIT request (a responder answers its repetition with the same response).
  const v2::Bytes& first_request() const noexcept { return first_request_; }
  const v2::ChildSaConfig& child_config() const noexcept { return child_; }
  // CHILD_SAs of this IKE SA (inbound, outbound SPIs), oldest first.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> child_spis() const;
  sa::TimePoint created() const noexcept { return created_; }
  // A liveness check of ours is queued or waits for its answer.
  bool checking_liveness() const noexcept;
  // The subject of the peer's certificate, once it authenticated with one (empty: a preshared key).
  const std::string& peer_identity() const noexcept { return peer_identity_; }

 private:
  Ikev2Sa(bool initiator, v2::AuthConfig auth, Ikev2Hooks hooks, sa::RetransmitPolicy retransmit, sa::TimePoint now)
      : initiator_(initiator), auth_(std::move(auth)), hooks_(std::move(hooks)), retransmitter_(retransmit), created_(now) {}

  void transition_whole(const Input& input, sa::TimePoint now, Output& out);
  void on_fragment(std::span<const std::byte> bytes, sa::TimePoint now, Output& out);
  // Replaces each message of ours in out.send too large for fragment_size_ by its fragments.
  void fragment_output(Output& out);
  void set_fragmentation(const v2::IkeSaInitConfig& init);

  void on_received(std::span<const std::byte> bytes, sa::TimePoint now, Output& out);
  void on_ike_sa_init_response(std::span<const std::byte> bytes, sa::TimePoint now, Output& out);
  void on_ike_auth_response(std::span<const std::byte> bytes, Output& out);
  void on_ike_auth_request(std::span<const std::byte> bytes, Output& out);
  void on_request(const v2::Header& header, std::span<const std::byte> bytes, Output& out);
  void on_response(const v2::Header& header, std::span<const std::byte> bytes, sa::TimePoint now, Output& out);
  void on_timer(sa::TimePoint now, Output& out);
  void on_create_child_sa(const v2::Header& header, std::vector<v2::Payload> payloads, Output& out);
  void rekey_child(std::uint32_t inbound_spi, sa::TimePoint now, Output& out);
  void rekey_ike_sa(sa::TimePoint now, Output& out);
  void add_further_child(v2::ChildSaConfig config, sa::TimePoint now, Output& out);
  // The IKE SA is now `next`; the old one is kept for its DELETE (sent by us when `we_requested`).
  void move_to(v2::IkeSa next, bool we_requested, Output& out);
  void on_retiring(const v2::Header& header, std::span<const std::byte> bytes, Output& out);
  // Queues a DELETE of our pairs `inbound_spis`, reported retired when answered.
  void retire_children(std::vector<std::uint32_t> inbound_spis, sa::TimePoint now, Output& out);
  // Queues a request of ours (window of 1: sent when the previous one is answered).
  struct PendingRequest;
  void request(PendingRequest pending, sa::TimePoint now, Output& out);
  void request(std::function<Expected<v2::Bytes, std::string>(std::uint32_t message_id)> build, bool deletes_ike_sa,
               sa::TimePoint now, Output& out);
  void send_next_request(sa::TimePoint now, Output& out);
  void fail(std::string reason, FailureKind kind, Output& out);
  Expected<void, std::string> load_padded_key();

  bool initiator_;
  State state_ = State::IkeSaInitSent;
  v2::AuthConfig auth_;
  v2::ChildSaConfig child_;
  Ikev2Hooks hooks_;
  sa::Retransmitter retransmitter_;
  sa::TimePoint created_;
  std::optional<sa::TimePoint> fallback_at_;   // initiator: no answer by then means no IKEv2
  bool answered_ = false;
  std::optional<v2::IkeSaInitInitiator> init_;
  std::optional<v2::IkeSa> sa_;
  std::unique_ptr<v2::IkeAuthInitiator> auth_initiator_;
  std::uint32_t own_spi_ = 0;   // the first CHILD_SA's inbound SPI
  v2::Bytes first_request_;
  std::string peer_identity_;

  // 2.8.1: the peer rekeyed a CHILD_SA while our rekey of it was outstanding.
  struct Collision {
    v2::Bytes ni, nr;               // the peer's exchange's nonces
  };
  struct Child {
    std::uint32_t inbound = 0, outbound = 0;
    v2::ChildSaConfig config;       // as agreed: the narrowed selectors, the PFS group
    bool rekeying = false;          // our CREATE_CHILD_SA for it is outstanding
    bool replaced = false;          // a successor is installed; its DELETE is coming
    std::optional<Collision> collision;
  };
  Child* child_by_inbound(std::uint32_t spi);
  void add_child(const v2::ChildSa& sa, const v2::ChildSaConfig& config);
  std::vector<Child> children_;

  // Requests of ours: the outstanding one and what follows it.
  struct PendingRequest {
    std::function<Expected<v2::Bytes, std::string>(std::uint32_t)> build;
    bool deletes_ike_sa = false;
    v2::ExchangeType exchange = v2::ExchangeType::Informational;
    std::vector<std::uint32_t> retires;   // a DELETE of our pairs: out of the dataplane when answered
    bool on_retiring_sa = false;          // the DELETE of the rekeyed IKE SA, under its old keys and IDs
    bool rekeys_ike_sa = false;
    bool liveness = false;                // an empty INFORMATIONAL (CheckLiveness)
    std::optional<std::uint32_t> message_id;
    // CREATE_CHILD_SA: the response's payloads (decrypted, the ID checked), or nothing when the
    // request is given up.
    std::function<void(const std::vector<v2::Payload>*, sa::TimePoint, Output&)> on_answer;
  };
  std::deque<PendingRequest> queued_;
  std::optional<std::uint32_t> outstanding_;
  std::optional<PendingRequest> outstanding_request_;
  std::uint32_t next_request_id_ = 0;
  // The peer's requests: the next ID expected, and the response to the last one.
  std::uint32_t expected_request_id_ = 0;
  v2::Bytes last_response_;

  // The IKE SA's rekey: our proposals (a responder chooses among them), ours under way, and the
  // IKE SA it replaced with the peer's request window, until that one is deleted.
  std::vector<v2::IkeProposal> ike_proposals_;
  bool ike_rekeying_ = false;
  struct Retiring {
    v2::IkeSa sa;
    std::uint32_t next_request_id = 0;
    std::uint32_t expected_request_id = 0;
    v2::Bytes last_response;
  };
  std::optional<Retiring> retiring_;

  // RFC 7383: the largest datagram sent whole (IP and UDP headers included), the address family
  // it is counted for, the peer's fragments being put together, and the last messages of ours
  // sent as fragments (a retransmission sends the same ones): the outstanding request and the
  // last response.
  std::size_t fragment_size_ = 0;
  IpFamily family_ = IpFamily::V4;
  v2::Reassembler reassembler_;
  std::deque<std::pair<v2::Bytes, std::vector<v2::Bytes>>> fragmented_;
};

std::string_view name(Ikev2Sa::State state) noexcept;

}  // namespace ward::ike::service
