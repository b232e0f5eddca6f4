// IKEv1 quick mode (RFC 2409 5.5) under an established main mode SA, initiator and responder:
//
//   Initiator                                    Responder
//   HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->                        QuickMode1Sent
//                  <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]         QuickMode2Sent
//   HDR*, HASH(3)                               -->                        QuickMode3Sent (initiator done)
//                                                                          QuickMode3Received (responder done)
//
// The SA payload offers protection suites (RFC 2408 4.2): each of our methods is one proposal
// number, an AH+ESP method two proposal payloads (AH, then ESP) with that number and an SPI each.
// Our inbound SPIs come from the Dataplane (allocate_spi: unique on this host, reserved until the
// inbound SA is installed): the initiator takes one per protocol its usable methods need, the
// responder those of the suite it chose. Reserved SPIs that no SA uses are given back (release_spi)
// when the exchange fails or ends before installing, and the initiator's unused protocol once the
// inbound SA is in.
// At the end each side derives KEYMAT per protocol and SPI (RFC 2409 5.5) and installs the SAs
// into the Dataplane: inbound under the SPIs it chose, outbound under the peer's; ESP or AH alone
// is one SA per direction, AH+ESP one bundle per direction (SaInstall::bundled_ah). The initiator
// installs when it sends HASH(3), the responder when HASH(3) checks. The responder retransmits
// message 2 until HASH(3) arrives; the initiator answers a duplicate message 2 with its stored
// HASH(3).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "driver/api/dataplane.h"
#include "ike/sa/phase1_sa.h"

namespace ward::ike::sa {

// ESP of a security method: GCM with a 16-byte ICV, AES-CBC with HMAC-SHA-1/SHA-256, NULL with
// HMAC; with allow_legacy also 3DES-CBC and HMAC-MD5-96.
struct EspProposal {
  driver::crypto::Cipher cipher = driver::crypto::Cipher::AesGcm128;
  driver::crypto::Integrity integrity = driver::crypto::Integrity::None;
  friend bool operator==(const EspProposal&, const EspProposal&) = default;
};

// AH of a security method (RFC 2407 4.4.3): AH_SHA (HMAC-SHA1-96), AH_SHA2-256 (HMAC-SHA-256-128),
// with allow_legacy AH_MD5 (HMAC-MD5-96).
struct AhProposal {
  driver::crypto::Integrity integrity = driver::crypto::Integrity::HmacSha1_96;
  friend bool operator==(const AhProposal&, const AhProposal&) = default;
};

// One security method of a filter action (Windows' "security methods"): ESP, AH, or AH+ESP
// applied together, a protection suite of RFC 2408 4.2. An ESP method converts implicitly.
struct ProtectionSuite {
  ProtectionSuite() = default;
  ProtectionSuite(EspProposal esp_only) : esp(esp_only) {}   // NOLINT: implicit, ESP is the common case
  ProtectionSuite(std::optional<AhProposal> with_ah, std::optional<EspProposal> with_esp) : ah(with_ah), esp(with_esp) {}

  std::optional<AhProposal> ah;
  std::optional<EspProposal> esp;

  bool bundle() const noexcept { return ah.has_value() && esp.has_value(); }
  // 3DES-CBC or HMAC-MD5-96 anywhere in it.
  bool legacy() const noexcept;
  friend bool operator==(const ProtectionSuite&, const ProtectionSuite&) = default;
};
// "ESP 3DES-CBC/HMAC-SHA1-96", "AH HMAC-MD5-96", "AH HMAC-SHA1-96 + ESP AES-GCM-128/none".
std::string describe(const ProtectionSuite& suite);

// A quick mode ID (RFC 2407 4.6.2): a host is ID_IPV4_ADDR / ID_IPV6_ADDR, a subnet
// ID_IPV4_ADDR_SUBNET / ID_IPV6_ADDR_SUBNET; protocol and port 0 mean any.
struct TrafficSelector {
  IpPrefix prefix;
  std::uint8_t protocol = 0;
  std::uint16_t port = 0;
};

struct QuickModeConfig {
  std::vector<ProtectionSuite> proposals;             // preference order
  bool allow_legacy = false;                          // permits 3DES-CBC and HMAC-MD5-96 (ESP and AH)
  std::optional<IkeGroupDescription> pfs_group;       // a new DH in quick mode
  std::chrono::seconds lifetime{3600};
  std::uint64_t lifetime_kilobytes = 0;               // 0: no volume limit proposed
  TrafficSelector local;                              // our side of the filter (IDci as initiator)
  TrafficSelector remote;
  std::uint32_t filter_id = 0;
  IpAddress peer;                                     // the SaInstall peer
  RetransmitPolicy retransmit;
  // Responder: install the inbound SA when message 2 goes out (its keys are known then), the
  // outbound one when HASH(3) checks, so the initiator's first protected packet, sent as soon
  // as it has sent HASH(3), finds its SA. If HASH(3) never comes the owner deletes inbound_spi().
  bool install_inbound_at_message_2 = false;
  // Tunnel mode (RFC 2407 4.5): the ESP tunnel's outer addresses as this host sees them (the
  // selectors above are then the inner subnets/hosts); nullopt is transport mode.
  std::optional<driver::crypto::TunnelEndpoints> tunnel;
  // RFC 3948 UDP encapsulation, set when main mode floated to UDP 4500: the encapsulation mode
  // becomes UDP-Encapsulated-Tunnel/Transport (RFC 3947 5.1; the drafts' 61443/61444 are
  // accepted) and the SAs are installed with these ports. Transport mode adds NAT-OA payloads.
  std::optional<driver::crypto::UdpEncapsulation> udp_encapsulation;
};

class QuickModeExchange {
 public:
  enum class State : std::uint8_t {
    Idle,
    QuickMode1Sent,
    QuickMode2Sent,
    QuickMode3Sent,      // initiator: SAs installed
    QuickMode3Received,  // responder: SAs installed
    Failed,
  };

  ~QuickModeExchange();
  QuickModeExchange(const QuickModeExchange&) = delete;
  QuickModeExchange& operator=(const QuickModeExchange&) = delete;

  static std::unique_ptr<QuickModeExchange> initiate(const Phase1Sa& phase1, QuickModeConfig config,
                                                     driver::Dataplane& dataplane, Clock clock);
  // A responder for a quick mode message 1 on `phase1`; nothing is kept unless it decrypts, its
  // HASH(1) checks and a proposal is acceptable. `reply` receives message 2.
  static Expected<std::unique_ptr<QuickModeExchange>, IkeError> respond(const Phase1Sa& phase1, QuickModeConfig config,
                                                                           driver::Dataplane& dataplane, Clock clock,
                                                                           std::span<const std::byte> message_1,
                                                                           std::vector<std::byte>& reply);

  Expected<std::vector<std::byte>, std::string> build_quick_mode_1();
  std::vector<std::byte> handle(std::span<const std::byte> datagram);
  std::vector<std::byte> on_timer();
  std::optional<TimePoint> due() const noexcept { return retransmit_.due(); }

  State state() const noexcept { return state_; }
  bool done() const noexcept { return state_ == State::QuickMode3Sent || state_ == State::QuickMode3Received; }
  // Why it failed, and what the peer is to be told (ike/message/ike_error.h).
  const IkeError& failure() const noexcept { return failure_; }
  std::uint32_t message_id() const noexcept { return message_id_; }
  // The SPIs the dataplane knows the SAs by: ESP's (for an AH+ESP bundle too), or AH's for AH alone.
  std::uint32_t inbound_spi() const noexcept { return chosen_.esp ? own_esp_spi_ : own_ah_spi_; }
  std::uint32_t outbound_spi() const noexcept { return chosen_.esp ? peer_esp_spi_ : peer_ah_spi_; }
  // An AH+ESP bundle's AH SPIs (0 otherwise): DELETE names them too.
  std::uint32_t inbound_bundled_ah_spi() const noexcept { return chosen_.bundle() ? own_ah_spi_ : 0; }
  std::uint32_t outbound_bundled_ah_spi() const noexcept { return chosen_.bundle() ? peer_ah_spi_ : 0; }
  const ProtectionSuite& chosen() const noexcept { return chosen_; }
  // The SAs' lifetime: the policy's, or the peer's when shorter (quick_mode_lifetime.h).
  std::chrono::seconds lifetime() const noexcept { return config_.lifetime; }
  std::uint64_t lifetime_kilobytes() const noexcept { return config_.lifetime_kilobytes; }
  std::uint64_t dropped() const noexcept { return dropped_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }

 private:
  QuickModeExchange(auth::Role role, const Phase1Sa& phase1, QuickModeConfig config, driver::Dataplane& dataplane,
                    Clock clock);

  bool transition(State to, std::string_view reason);
  void fail(IkeError reason);
  void log(const std::string& line) const;
  IsakmpHeader header() const;
  std::vector<std::byte> send(Expected<std::vector<std::byte>, std::string> message, State next, std::string_view reason,
                              bool expect_answer);

  std::vector<Proposal> make_proposals() const;
  // Our inbound SPIs from the dataplane, for the protocols asked.
  Expected<void, std::string> own_spis(bool esp, bool ah);
  // Gives back the reserved SPIs no SA uses.
  void release_own_spis();
  // Why we would not offer or accept `suite` here (AH over a NAT, a bundle in tunnel mode, a
  // legacy algorithm without allow_legacy); empty when it is fine.
  std::string unusable_here(const ProtectionSuite& suite) const;
  struct SuiteChoice {
    ProtectionSuite suite;
    std::vector<Proposal> proposals;   // the peer's proposal payloads, each narrowed to the chosen transform
    std::uint32_t esp_spi = 0;         // the peer's SPIs
    std::uint32_t ah_spi = 0;
    // The chosen transform's lifetimes (ESP's, or AH's alone), as proposed.
    std::optional<std::chrono::seconds> lifetime;
    std::optional<std::uint64_t> kilobytes;
  };
  // The peer's protection suite with proposal number `number` (its one or two proposal payloads):
  // the first combination of its transforms that is one of our suites (quick_mode_suites.cpp).
  Expected<SuiteChoice, std::string> read_suite(std::span<const Proposal* const> proposals) const;
  Expected<void, IkeError> check_ids(const ParsedMessage& message) const;
  void add_nat_original_addresses(std::vector<Payload>& rest) const;
  Expected<void, std::string> install();   // the directions not installed yet
  Expected<void, std::string> install_direction(driver::crypto::Direction direction);
  driver::crypto::SaParams sa_params(driver::crypto::Direction direction, ProtocolId protocol);
  Expected<std::vector<std::byte>, std::string> seal_with_hash(std::vector<Payload> rest, bool second);

  Expected<void, IkeError> consume_quick_mode_1(const Opened& opened);
  Expected<std::vector<std::byte>, std::string> build_quick_mode_2();
  Expected<void, IkeError> consume_quick_mode_2(const Opened& opened);
  Expected<std::vector<std::byte>, std::string> build_quick_mode_3();
  Expected<void, IkeError> consume_quick_mode_3(const Opened& opened);

  auth::Role role_;
  const Phase1Sa& phase1_;
  QuickModeConfig config_;
  driver::Dataplane& dataplane_;
  Clock clock_;
  State state_ = State::Idle;
  IkeError failure_;
  std::uint64_t dropped_ = 0;
  std::uint64_t duplicates_ = 0;

  std::uint32_t message_id_ = 0;
  std::uint32_t own_esp_spi_ = 0;
  std::uint32_t own_ah_spi_ = 0;
  std::uint32_t peer_esp_spi_ = 0;
  std::uint32_t peer_ah_spi_ = 0;
  // SPIs allocate_spi reserved for us that no installed SA uses yet.
  std::vector<std::pair<std::uint32_t, driver::crypto::SecurityProtocol>> reserved_spis_;
  ProtectionSuite chosen_;
  std::vector<Proposal> chosen_proposals_;
  bool tell_lifetime_ = false;   // responder: our lifetime is shorter; quick mode 2 carries RESPONDER-LIFETIME   // responder: the chosen suite, one transform each, SPIs to be ours
  std::vector<std::byte> ni_, nr_;
  std::optional<crypto::DiffieHellman> dh_;
  std::vector<std::byte> peer_ke_;
  driver::crypto::SecureBytes g_qm_;   // the PFS secret, kept from the first install to the second
  bool inbound_installed_ = false;
  Identification id_ci_, id_cr_;
  CipherState cipher_state_;
  Retransmitter retransmit_;
  std::vector<std::byte> last_received_;
};

std::string_view name(QuickModeExchange::State state) noexcept;

// Tunnel endpoints for SaParams from Ward's common addresses (both of one family).
driver::crypto::TunnelEndpoints tunnel_endpoints(const IpAddress& local, const IpAddress& remote);

// The quick mode ID for a traffic selector.
Identification identification_of(const TrafficSelector& selector);

}  // namespace ward::ike::sa
