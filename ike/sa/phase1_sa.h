// IKEv1 main mode (RFC 2409 5, identity protection), initiator and responder:
//
//   Initiator                         Responder
//   HDR, SA                  -->                      MainMode1Sent
//                            <--  HDR, SA             MainMode2Sent
//   HDR, KE, Ni              -->                      MainMode3Sent
//                            <--  HDR, KE, Nr         MainMode4Sent
//   HDR*, IDii, HASH_I       -->                      MainMode5Sent
//                            <--  HDR*, IDir, HASH_R  MainMode6Sent (responder: established)
//                                                     MainMode6Received (initiator: established)
//
// States name the last message sent or received. One transition() moves between them, refuses
// moves the table does not list, and logs old -> new with the reason. build_*/consume_* come in
// pairs, one per message. The method (PSK, Kerberos) is an AuthProvider; main mode never asks
// which. A method with per-exchange state (Kerberos' GSS context) gets its own provider object per
// SA through AuthProvider::for_exchange; messages 3/4 carry whatever extra payloads it builds (the
// GSS tokens) and 5/6 whatever it puts after the ID (HASH, or a GSS-wrapped HASH). The ID is the
// method's (a certificate's subject or DNS name: AuthProvider::own_identification) or our address;
// a peer's address ID must be its address (or its own behind a NAT), any other ID is left to a
// method that binds it (certificates), and refused otherwise.
// The responder keeps no state until a message 1 parses (Phase1Sa::respond).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "ike/auth/auth_provider.h"
#include "ike/crypto/dh.h"
#include "ike/crypto/keys.h"
#include "ike/message/ike_error.h"
#include "ike/sa/exchange.h"
#include "ike/sa/nat_traversal.h"

namespace ward::ike::sa {

// One phase 1 offer: a transform of the initiator's single ISAKMP proposal.
struct Phase1Proposal {
  IkeEncryptionAlgorithm cipher = IkeEncryptionAlgorithm::AesCbc;
  unsigned key_bits = 256;   // AES key length; ignored for 3DES
  IkeHashAlgorithm hash = IkeHashAlgorithm::Sha2_256;
  IkeGroupDescription group = IkeGroupDescription::Ecp256;
  std::chrono::seconds lifetime{kDefaultSaLifetime};

  bool same_algorithms(const Phase1Proposal& other) const noexcept {
    return cipher == other.cipher && (cipher != IkeEncryptionAlgorithm::AesCbc || key_bits == other.key_bits) &&
           hash == other.hash && group == other.group;
  }
};

struct Phase1Config {
  std::vector<Phase1Proposal> proposals;   // preference order
  IpAddress local;                          // our ID (ID_IPV4_ADDR / ID_IPV6_ADDR) unless the method names one
  IpAddress peer;                           // a peer's address ID must name this address
  bool allow_legacy = false;                // permits 3DES-CBC, MD5 and DH group 2
  std::size_t nonce_size = 32;
  // Responder: a main mode 5 that does not decrypt is dropped and counted (undecryptable())
  // instead of failing the SA; the owner times the half-open SA out (spoofing defence).
  bool drop_undecryptable_main_mode_5 = false;
  // Vendor ID payloads sent in main mode 1 (initiator) / 2 (responder), e.g. DPD (RFC 3706).
  std::vector<std::vector<std::byte>> vendor_ids;
  RetransmitPolicy retransmit;
  LogSink log;
  // NAT traversal (RFC 3947): the NAT-T vendor ID in messages 1/2 and, when both sides sent it,
  // NAT-D in 3/4. The ports are the UDP ports of the conversation so far (500 unless a NAT moved
  // the peer's); the owner floats to 4500 when float_to_nat_t_port() says so.
  bool nat_traversal = false;
  std::uint16_t local_port = kIkePort;
  std::uint16_t peer_port = kIkePort;
  // Test aid and charon's trick: send a NAT-D for our own address that cannot match, so the
  // peer (and we, by symmetry) float to 4500 without a NAT.
  bool pretend_nat = false;
  // Responder: the responder cookie to use (the owner derives it from a secret, so that main mode
  // 3 proves the initiator received main mode 2: ike/service/responder_cookies.h). Unset: random.
  std::optional<Cookie> responder_cookie;
};

class Phase1Sa {
 public:
  enum class State : std::uint8_t {
    Idle,
    MainMode1Sent,
    MainMode2Sent,
    MainMode3Sent,
    MainMode4Sent,
    MainMode5Sent,
    MainMode6Sent,      // responder, established
    MainMode6Received,  // initiator, established
    Failed,
  };

  // An initiator; build_main_mode_1() gives the first message.
  static std::unique_ptr<Phase1Sa> initiate(Phase1Config config, const auth::AuthProvider& auth, Clock clock);
  // A responder for a message 1; nothing is kept unless it parses and a proposal is acceptable.
  // `reply` receives message 2.
  static Expected<std::unique_ptr<Phase1Sa>, IkeError> respond(Phase1Config config, const auth::AuthProvider& auth,
                                                                  Clock clock, std::span<const std::byte> message_1,
                                                                  std::vector<std::byte>& reply);

  Expected<std::vector<std::byte>, std::string> build_main_mode_1();

  // A datagram for this SA (same cookies, Message ID 0). Returns what to send back (possibly
  // nothing). Malformed input is dropped and counted; a failure moves to Failed with a reason.
  std::vector<std::byte> handle(std::span<const std::byte> datagram);
  // Call when due() has come: returns a retransmission, or nothing; after the last try, Failed.
  std::vector<std::byte> on_timer();
  std::optional<TimePoint> due() const noexcept { return retransmit_.due(); }
  // The message last sent (what a retransmission sends again).
  const std::vector<std::byte>& last_sent() const noexcept { return retransmit_.last(); }

  State state() const noexcept { return state_; }
  bool established() const noexcept { return state_ == State::MainMode6Sent || state_ == State::MainMode6Received; }
  auth::Role role() const noexcept { return role_; }
  // Why it failed, and what the peer is to be told (ike/message/ike_error.h).
  const IkeError& failure() const noexcept { return failure_; }
  // Who the peer authenticated as (a Kerberos principal; empty for a pre-shared key).
  std::string peer_identity() const { return auth_.peer_identity(); }
  std::uint64_t dropped() const noexcept { return dropped_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  // Responder: main mode 5 messages that did not decrypt (dropped, counted in dropped() too).
  std::uint64_t undecryptable() const noexcept { return undecryptable_; }
  const Phase1Proposal& chosen() const noexcept { return chosen_; }
  const Cookie& initiator_cookie() const noexcept { return cky_i_; }
  const Cookie& responder_cookie() const noexcept { return cky_r_; }
  // The peer's Vendor ID payloads from main mode 1 / 2.
  const std::vector<std::vector<std::byte>>& peer_vendor_ids() const noexcept { return peer_vendor_ids_; }

  // The peer can read, and we can open, an informational under the phase 1 keys (RFC 2409 5.7):
  // established, or a message under the keys from the peer opened here (main mode 5 as
  // responder, 6 as initiator; both sides then hold the same keys and last CBC block, even if
  // the exchange failed after it), or we are the initiator waiting for main mode 6 (the
  // responder's refusal of our main mode 5 comes under the keys; HASH(1) proves it).
  bool keys_shared() const noexcept {
    return established() || keys_confirmed_ || (role_ == auth::Role::Initiator && state_ == State::MainMode5Sent);
  }
  // A message under the phase 1 keys from the peer opened (main mode 5 / 6).
  bool keys_confirmed() const noexcept { return keys_confirmed_; }

  // For quick mode, valid once established().
  const crypto::Phase1Keys& keys() const noexcept { return keys_; }
  const crypto::Phase1Cipher& cipher() const noexcept { return cipher_state_.cipher; }
  const std::vector<std::byte>& last_iv() const noexcept { return cipher_state_.iv; }
  const Phase1Config& config() const noexcept { return config_; }
  // NAT-T: both sides sent the RFC 3947 vendor ID (known after message 2).
  bool nat_traversal_negotiated() const noexcept { return nat_t_; }
  // What the peer's NAT-D said (after message 3 for the responder, 4 for the initiator).
  const NatDetection& nat() const noexcept { return nat_; }
  // From main mode 5 on, IKE goes to and from UDP 4500 with the non-ESP marker, and ESP is
  // UDP-encapsulated (RFC 3947 4).
  bool float_to_nat_t_port() const noexcept { return nat_t_ && nat_.any(); }
  void log(const std::string& line) const;

 private:
  Phase1Sa(auth::Role role, Phase1Config config, const auth::AuthProvider& auth, Clock clock);

  bool transition(State to, std::string_view reason);
  void fail(IkeError reason);
  std::string prefix() const;
  IsakmpHeader header() const;
  std::vector<std::byte> send(Expected<std::vector<std::byte>, std::string> message, State next, std::string_view reason,
                              bool expect_answer);

  SecurityAssociation make_offer() const;
  Expected<Phase1Proposal, std::string> read_transform(const Transform& transform) const;
  Identification own_id() const;
  Expected<void, std::string> derive_keys();
  void add_nat_t_vendor_id(std::vector<Payload>& payloads) const;
  void read_nat_t_vendor_id(const ParsedMessage& message);
  void add_nat_discovery(std::vector<Payload>& payloads) const;
  Expected<void, std::string> consume_nat_discovery(const ParsedMessage& message);
  auth::MainModeTranscript transcript() const;

  Expected<std::vector<std::byte>, std::string> build_main_mode_2();
  Expected<std::vector<std::byte>, std::string> build_main_mode_3();
  Expected<std::vector<std::byte>, std::string> build_main_mode_4();
  Expected<std::vector<std::byte>, std::string> build_main_mode_5();
  Expected<std::vector<std::byte>, std::string> build_main_mode_6();
  Expected<void, IkeError> consume_main_mode_1(const ParsedMessage& message, std::span<const std::byte> body);
  Expected<void, IkeError> consume_main_mode_2(const ParsedMessage& message);
  Expected<void, IkeError> consume_main_mode_3(const ParsedMessage& message);
  Expected<void, IkeError> consume_main_mode_4(const ParsedMessage& message);
  Expected<void, IkeError> consume_main_mode_5(const Opened& opened);
  Expected<void, IkeError> consume_main_mode_6(const Opened& opened);

  auth::Role role_;
  Phase1Config config_;
  std::unique_ptr<auth::AuthProvider> exchange_auth_;   // per-exchange state, if the method has any
  const auth::AuthProvider& auth_;                       // exchange_auth_ or the shared provider
  Clock clock_;
  State state_ = State::Idle;
  IkeError failure_;
  std::uint64_t dropped_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t undecryptable_ = 0;

  Cookie cky_i_{};
  Cookie cky_r_{};
  std::vector<std::byte> sai_b_;
  Transform chosen_transform_;
  Phase1Proposal chosen_;
  std::optional<crypto::DiffieHellman> dh_;
  std::vector<std::byte> g_xi_, g_xr_, ni_, nr_;
  crypto::Phase1Keys keys_;
  CipherState cipher_state_;
  Retransmitter retransmit_;
  std::vector<std::byte> last_received_;
  std::vector<std::vector<std::byte>> peer_vendor_ids_;
  bool peer_nat_t_ = false;
  bool nat_t_ = false;
  bool keys_confirmed_ = false;
  NatDetection nat_;
};

std::string_view name(Phase1Sa::State state) noexcept;

}  // namespace ward::ike::sa
