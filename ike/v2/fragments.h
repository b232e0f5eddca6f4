// IKE message fragmentation (RFC 7383): a protected message too large for the path is sent as
// Encrypted Fragment payloads (SKF, type 53), each sealed on its own under the SA's keys:
//
//   HDR(Next Payload = SKF), SKF{Next Payload (first fragment only), Fragment Number, Total
//   Fragments, IV, E(part of the inner chain | padding | Pad Length), ICV}
//
// The AAD (GCM) and the ICV (CBC) cover the header and the SKF header with its two numbers (2.5).
// Fragmentation happens below the exchange units: fragment_message splits a message that
// seal_protected made (opened again with our own keys), and Reassembler gives back the whole
// message as the SK message the peer would have sent unfragmented, sealed again under the peer's
// keys (each end holds both directions' keys), so IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL
// take it as they take any other datagram.
//
// Reassembly follows 2.6: every fragment is authenticated before it is kept; one message per
// direction is reassembled at a time (a fragment of another message ID replaces it, the window
// being 1); a larger Total Fragments restarts it (the sender fragments smaller after a PMTU
// change), a smaller one is dropped, so is a duplicate; the count and the reassembled size are
// bounded; a reassembly older than the timeout is dropped. A retransmitted request's fragment
// number 1 after its message was reassembled gives that message again (2.6.1: only number 1
// triggers the response's retransmission).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/v2/ike_sa_init.h"

namespace ward::ike::v2 {

inline constexpr std::size_t kFragmentPayloadHeaderSize = 8;   // generic header + Fragment Number + Total Fragments
inline constexpr std::size_t kNonEspMarkerSize = 4;            // on port 4500 (RFC 3948)
inline constexpr std::size_t kUdpHeaderSize = 8;

// The largest IP datagram carrying an IKE message sent whole or as one fragment, by default
// (2.5.1: 1280 for IPv6, 576 for IPv4, which any path carries unfragmented).
std::size_t default_fragment_size(IpFamily family) noexcept;
// The IP datagram a message of `message_size` bytes makes (IP, UDP, and the non-ESP marker
// counted whatever the port, so a float to 4500 never pushes a fragment over).
std::size_t datagram_size(std::size_t message_size, IpFamily family) noexcept;
// How many bytes of the inner payload chain one fragment holds so its datagram stays within
// `fragment_size`; 0 when the size leaves no room.
std::size_t fragment_content_size(const SkSuite& suite, std::size_t fragment_size, IpFamily family) noexcept;

// `sealed` (a message of ours under `sa`, SK its only payload) as SKF messages whose datagrams
// fit `fragment_size`; the message itself when it fits already.
Expected<std::vector<Bytes>, std::string> fragment_message(const IkeSa& sa, std::span<const std::byte> sealed,
                                                           std::size_t fragment_size, IpFamily family);

// An SKF message's header and fragment fields, unauthenticated. Errors name the field and offset.
struct FragmentFields {
  Header header;
  PayloadType first_inner = PayloadType::None;   // meaningful in fragment 1 only
  std::uint16_t number = 0;
  std::uint16_t total = 0;
  std::size_t body_offset = 0;                   // of the IV
};
Expected<FragmentFields, MessageError> parse_fragment(std::span<const std::byte> datagram);
// Is this datagram an SKF message (the header's Next Payload)? No other check.
bool is_fragment(std::span<const std::byte> datagram) noexcept;

namespace detail {
// Outside Reassembler: clang cannot default-construct a nested struct with member initializers
// inside std::optional while the enclosing class is being defined.
struct PendingMessage {
  std::uint32_t message_id = 0;
  bool response = false;
  Header header;
  PayloadType first_inner = PayloadType::None;
  std::uint16_t total = 0;
  std::vector<std::optional<Bytes>> parts;
  std::size_t bytes = 0;
  std::chrono::steady_clock::time_point started;
};
struct CompletedMessage {
  std::uint32_t message_id = 0;
  bool response = false;
  Bytes message;
};
}  // namespace detail

class Reassembler {
 public:
  struct Limits {
    std::size_t max_fragments = 64;
    std::size_t max_bytes = 60000;                  // the reassembled inner chain
    std::chrono::milliseconds timeout{30000};       // the retransmission policy's span
  };
  enum class Outcome : std::uint8_t {
    Kept,       // authenticated and stored; more to come
    Complete,   // `message` is the whole message
    Repeated,   // fragment 1 of the message reassembled last: `message` again (a retransmission)
    Duplicate,  // authenticated, but held already or of the message reassembled last: ignored
    Dropped,    // `reason` says why
  };
  struct Result {
    Outcome outcome = Outcome::Dropped;
    Bytes message;
    std::string reason;
  };
  using Clock = std::chrono::steady_clock;

  Reassembler() = default;
  explicit Reassembler(Limits limits) : limits_(limits) {}

  Result add(const IkeSa& sa, std::span<const std::byte> datagram, Clock::time_point now);
  // Fragments held (for tests and the memory bound).
  std::size_t held() const noexcept;

 private:
  using Pending = detail::PendingMessage;
  using Completed = detail::CompletedMessage;
  Result drop(std::string reason) const { return Result{Outcome::Dropped, {}, std::move(reason)}; }

  Limits limits_;
  std::optional<Pending> pending_[2];     // [0] requests, [1] responses
  std::optional<Completed> completed_[2];
};

}  // namespace ward::ike::v2
