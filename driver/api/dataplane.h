// The driver's public interface, used by the agent and by IKE. One abstract dataplane, chosen once
// at start-up (nfqueue, xfrm or sim); nothing outside driver/ names a backend.
//
//   install_filter_table  the agent's compiled table, swapped in atomically where the backend can
//   allocate_spi          inbound SPIs for quick mode, unique on this host, reserved until add_sa
//                         uses them or release_spi gives them back (the negotiation failed)
//   add_sa / delete_sa    IKE's quick mode results (one call per SA and direction; an AH+ESP
//                         bundle is one call, see SaInstall::bundled_ah); an SA that a default
//                         response negotiated brings its own dynamic filter along
//   add_soft_association  IKE got no answer for a filter that may fall back to clear: its traffic
//                         with that peer passes in clear for a while (Windows' soft SA)
//   prepare_ike_socket    IKE's own sockets are never caught by the dataplane
//   DataplaneListener     acquires (negotiate traffic without an SA) and SA lifetime expiries
//   counters              per filter, per SA, dynamic filters, soft associations, drops by reason
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ip.h"
#include "driver/api/filter_table.h"
#include "driver/crypto/drop_reason.h"
#include "driver/crypto/sa_params.h"

namespace ward::driver {

struct Acquire {
  std::uint32_t filter_id = 0;
  IpAddress peer;  // whom to negotiate with: the destination, or the filter's tunnel endpoint
  IpAddress source;
  IpAddress destination;
  std::uint8_t protocol = 0;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
};

enum class ExpiryKind : std::uint8_t { Soft, Hard };

struct SaExpiry {
  std::uint32_t spi = 0;
  crypto::Direction direction = crypto::Direction::Outbound;
  ExpiryKind kind = ExpiryKind::Soft;
  std::uint32_t filter_id = 0;
  IpAddress peer;
};

class DataplaneListener {
 public:
  virtual ~DataplaneListener() = default;
  // Traffic wants an SA. Backends that hold packets ask again (a few times a second) while a held
  // flow's packets keep coming, so a failed negotiation is retried when traffic wants it.
  virtual void on_acquire(const Acquire& acquire) = 0;
  virtual void on_expiry(const SaExpiry& expiry) = 0;
};

// Windows' default response: a quick mode that no filter of the table covers, answered with the
// policy's default response rule, protects the traffic its IDs name between this host and the
// peer. The SA carries the selector, and the driver keeps one dynamic filter per selector: matched
// in both directions, consulted only where no filter of the table matches (the static rule wins),
// outbound traffic protected with the newest outbound SA for it (or held for it: the responder never
// starts a negotiation for a dynamic filter, the initiator rekeys), clear inbound traffic dropped,
// and removed with the last SA that uses it. Ports 0 and protocol 0 mean any.
struct DynamicSelector {
  IpAddress local;
  IpAddress remote;  // the peer
  std::uint8_t protocol = 0;
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;

  friend auto operator<=>(const DynamicSelector&, const DynamicSelector&) = default;
};

// Windows' soft SA ("Allow fallback to unsecured communication"): IKE got no answer from `peer` for
// negotiate filter `filter_id`, whose action allows falling back to clear. The packets held for
// (filter, peer) go out in clear, and the pair's traffic passes in clear both ways until the
// association has carried nothing for `idle_lifetime`; the next packet after that asks IKE again.
// An SA installed for the pair ends it at once.
struct SoftAssociation {
  std::uint32_t filter_id = 0;
  IpAddress peer;
  std::chrono::seconds idle_lifetime{0};
};

// Zero means "no limit" for each field.
struct SaLifetime {
  std::chrono::seconds soft_time{0};
  std::chrono::seconds hard_time{0};
  std::uint64_t soft_bytes = 0;
  std::uint64_t hard_bytes = 0;
};

struct SaInstall {
  crypto::SaParams params;
  std::uint32_t filter_id = 0;  // the negotiate filter this SA serves (default response: the rule's id)
  IpAddress peer;               // outbound: the destination (or tunnel endpoint) it protects traffic to
  SaLifetime lifetime;
  std::optional<DynamicSelector> dynamic{};  // a default response SA: the traffic it protects
  // AH+ESP bundle (RFC 4301 4.3 transport adjacency; one quick mode protection suite, RFC 2409
  // 5.5): with this set, `params` is the ESP SA and this the AH SA of the same direction, both in
  // transport mode without UDP encapsulation. Outbound packets get ESP, then AH around it; inbound
  // packets must carry AH around this ESP SA, and a packet missing either is dropped
  // (DropReason::BundleIncomplete). The bundle is one SA to the rest of the API, named by its ESP
  // SPI: delete_sa, SaExpiry and SaCounters use that SPI (SaCounters::bundled_ah_spi names AH's).
  std::optional<crypto::SaParams> bundled_ah{};
};

struct FilterCounters {
  std::uint32_t filter_id = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct SaCounters {
  std::uint32_t spi = 0;
  crypto::Direction direction = crypto::Direction::Outbound;
  crypto::SecurityProtocol protocol = crypto::SecurityProtocol::Esp;
  std::uint32_t filter_id = 0;
  std::uint32_t dynamic_filter_id = 0;  // the dynamic filter it protects (default response), or 0
  IpAddress peer;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;
  std::uint32_t bundled_ah_spi = 0;   // an AH+ESP bundle (this row is its ESP SA): the AH SA's SPI
};

struct DynamicFilterCounters {
  std::uint32_t id = 0;         // kFirstDynamicFilterId and up
  std::uint32_t filter_id = 0;  // the SaInstall's filter_id (the default response rule's)
  DynamicSelector selector;
  std::size_t sas = 0;          // SAs (both directions) that keep it
  std::uint64_t packets = 0;    // matched it, either direction
  std::uint64_t bytes = 0;
};

struct SoftAssociationCounters {
  std::uint32_t filter_id = 0;
  IpAddress peer;
  std::uint64_t packets = 0;    // passed in clear, either direction
  std::uint64_t bytes = 0;
  std::chrono::seconds age{0};
  std::chrono::seconds expires_in{0};  // unless traffic keeps it alive
};

struct DataplaneCounters {
  std::vector<FilterCounters> filters;
  std::vector<SaCounters> sas;
  std::vector<DynamicFilterCounters> dynamic_filters;
  std::vector<SoftAssociationCounters> soft_associations;
  std::array<std::uint64_t, crypto::kDropReasonCount> drops_by_reason{};
  std::uint64_t malformed = 0;          // packets that do not parse as IP
  std::uint64_t blocked = 0;            // matched a block filter
  // Clear traffic that matched a negotiate filter: inbound, or outbound to a multicast, broadcast or
  // unspecified address (no IKE peer can answer for one).
  std::uint64_t unsecured_dropped = 0;
  // Clear inbound traffic a negotiate filter covers, accepted: its action accepts unsecured
  // communication (inbound pass-through). Soft associations count their own.
  std::uint64_t unsecured_accepted = 0;
  std::uint64_t unknown_spi = 0;        // ESP/AH for an SA we do not have
  std::uint64_t policy_mismatch = 0;    // decrypted traffic that its SA's filter does not cover
  std::uint64_t held = 0;               // outbound packets held for an SA (dynamic filters' included)
  std::uint64_t hold_dropped = 0;       // held packets dropped: queue full or SA never came
  std::uint64_t acquires = 0;
};

struct Capabilities {
  bool userspace_crypto = false;   // ESP/AH done by Ward (nfqueue, sim)
  bool kernel_sas = false;         // the kernel does ESP/AH (xfrm on a kernel that has it)
  bool atomic_table_swap = false;  // no packet ever sees half a table
  bool holds_packets = false;      // packets wait for their SA instead of being dropped
};

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  virtual Capabilities capabilities() const = 0;
  virtual Expected<void, std::string> install_filter_table(FilterTable table) = 0;
  // An inbound SPI for an SA from `peer` (IKE offers it in quick mode): never the SPI of an inbound
  // SA on this host, nor one an earlier call reserved that is still reserved. The reservation ends
  // when add_sa installs the inbound SA with it (an AH+ESP bundle's add_sa uses both its SPIs), when
  // release_spi gives it back, or after a while: the kernel's larval state with xfrm
  // (net.core.xfrm_acq_expires), EngineOptions::spi_allocation.reservation with the userspace
  // backends. Refused when no SPI is free or too many are reserved.
  virtual Expected<std::uint32_t, std::string> allocate_spi(crypto::SecurityProtocol protocol, const IpAddress& peer) = 0;
  // Gives back an SPI allocate_spi reserved that no SA uses yet (the negotiation failed, or the peer
  // chose a suite without this protocol). Never touches an installed SA: an SPI that is not
  // reserved (installed, released or expired already) is an error, and changes nothing.
  virtual Expected<void, std::string> release_spi(std::uint32_t spi, crypto::SecurityProtocol protocol) = 0;
  // Adds an SA, or replaces the SA with the same SPI, direction and peer. An SA is named by (peer,
  // SPI, direction): outbound SPIs are chosen by the peers, so two peers may choose the same one and
  // both SAs stand; an inbound SPI names one SA on this host, and one already used by an SA from
  // another peer (or reserved by allocate_spi for another peer) is refused.
  virtual Expected<void, std::string> add_sa(SaInstall sa) = 0;
  // By SPI and direction alone: refused as ambiguous where two peers' outbound SAs share the SPI.
  virtual Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) = 0;
  // The SA with this SPI and direction to or from `peer`. Backends whose SAs are keyed by SPI and
  // direction alone delete by those.
  virtual Expected<void, std::string> delete_sa_of_peer(std::uint32_t spi, crypto::Direction direction, const IpAddress& peer) {
    (void)peer;
    return delete_sa(spi, direction);
  }
  // Starts (or renews) a soft association; its filter must be a negotiate filter of the table.
  virtual Expected<void, std::string> add_soft_association(SoftAssociation association) = 0;
  virtual Expected<void, std::string> delete_soft_association(std::uint32_t filter_id, const IpAddress& peer) = 0;
  virtual DataplaneCounters counters() const = 0;
  // IKE's sockets (UDP 500; `nat_traversal`: UDP 4500, which also carries UDP-encapsulated ESP)
  // must never be caught by the filters they negotiate for. Backends that filter by ports do
  // nothing here; xfrm gives the socket its own bypass policies (the kernel checks per-socket
  // policies first) and, on the NAT-T socket, has the kernel decapsulate ESP in UDP.
  virtual Expected<void, std::string> prepare_ike_socket([[maybe_unused]] int fd, [[maybe_unused]] bool nat_traversal) { return {}; }
};

using DataplanePtr = std::unique_ptr<Dataplane>;

}  // namespace ward::driver
