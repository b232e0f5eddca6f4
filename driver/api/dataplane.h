// The driver's public interface, used by the agent and by IKE. One abstract dataplane, chosen once
// at start-up (nfqueue, xfrm or sim); nothing outside driver/ names a backend.
//
//   install_filter_table  the agent's compiled table, swapped in atomically where the backend can
//   add_sa / delete_sa    IKE's quick mode results (one call per SA and direction; an AH+ESP
//                         bundle is one call, see SaInstall::bundled_ah)
//   DataplaneListener     acquires (negotiate traffic without an SA) and SA lifetime expiries
//   counters              per filter, per SA, and drops by reason
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
  virtual void on_acquire(const Acquire& acquire) = 0;
  virtual void on_expiry(const SaExpiry& expiry) = 0;
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
  std::uint32_t filter_id = 0;  // the negotiate filter this SA serves
  IpAddress peer;               // outbound: the destination (or tunnel endpoint) it protects traffic to
  SaLifetime lifetime;
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
  IpAddress peer;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t drops = 0;
  std::uint32_t bundled_ah_spi = 0;   // an AH+ESP bundle (this row is its ESP SA): the AH SA's SPI
};

struct DataplaneCounters {
  std::vector<FilterCounters> filters;
  std::vector<SaCounters> sas;
  std::array<std::uint64_t, crypto::kDropReasonCount> drops_by_reason{};
  std::uint64_t malformed = 0;          // packets that do not parse as IP
  std::uint64_t blocked = 0;            // matched a block filter
  // Clear traffic that matched a negotiate filter: inbound, or outbound to a multicast, broadcast or
  // unspecified address (no IKE peer can answer for one).
  std::uint64_t unsecured_dropped = 0;
  std::uint64_t unknown_spi = 0;        // ESP/AH for an SA we do not have
  std::uint64_t policy_mismatch = 0;    // decrypted traffic that its SA's filter does not cover
  std::uint64_t held = 0;               // outbound packets held for an SA
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
  // Adds an SA, or replaces the SA with the same SPI and direction.
  virtual Expected<void, std::string> add_sa(SaInstall sa) = 0;
  virtual Expected<void, std::string> delete_sa(std::uint32_t spi, crypto::Direction direction) = 0;
  virtual DataplaneCounters counters() const = 0;
};

using DataplanePtr = std::unique_ptr<Dataplane>;

}  // namespace ward::driver
