// Main modes answered at message 1 whose initiator has not yet shown that it receives at its
// address ("embryonic": the responder cookie of main mode 2 has not come back in a main mode 3).
// Anyone can send a main mode 1 from any source address, so this state is the one an attacker
// controls, and it is kept small and cheap:
//   - an entry is the two messages' bytes and the cookies (no Phase1Sa, no DH, no auth state):
//     main mode 3 needs main mode 1's SA payload for HASH_I/HASH_R (RFC 2409 5), nothing else;
//   - at most `max_entries` entries and `max_bytes` bytes of messages: a new entry evicts the
//     oldest ones (a real initiator answers within one round trip; a flood turns over the table
//     in fractions of a second, so the oldest entries are the spoofers');
//   - at most `max_per_peer` entries per source address, so one noisy host cannot fill it;
//   - entries older than the half-open timeout go (expire()).
// Only when main mode 3 brings the cookie back does the owner (IkeService) make a real
// responder, which then counts against the half-open limits. Every map here is bounded by
// max_entries, whatever addresses and cookies the attacker chooses. Not thread-safe (the event
// thread owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/ip.h"
#include "ike/message/header.h"
#include "ike/sa/exchange.h"

namespace ward::ike::service {

struct EmbryonicLimits {
  std::size_t max_entries = 4096;
  std::size_t max_bytes = 2 * 1024 * 1024;
  std::size_t max_per_peer = 4;
};

struct EmbryonicMainMode {
  IpAddress peer;
  std::uint16_t port = 0;
  bool nat_t = false;
  Cookie initiator_cookie{};
  Cookie responder_cookie{};
  std::vector<std::byte> message_1;   // as received
  std::vector<std::byte> message_2;   // as sent (answers a resent message 1)
  sa::TimePoint created{};
};

class EmbryonicTable {
 public:
  explicit EmbryonicTable(EmbryonicLimits limits) : limits_(limits) {}

  enum class Added : std::uint8_t { Added, PeerLimit };
  // Adds `entry` (replacing one with the same cookies), then evicts the oldest entries while over
  // the limits; `evicted` counts them. PeerLimit: the source already has max_per_peer entries.
  Added add(EmbryonicMainMode entry, std::size_t& evicted);
  // The entry for this cookie pair, or nullptr.
  const EmbryonicMainMode* find(const Cookie& initiator, const Cookie& responder) const;
  std::optional<EmbryonicMainMode> take(const Cookie& initiator, const Cookie& responder);
  std::size_t count_for(const IpAddress& peer) const;
  // Removes the entries created before `cutoff`; returns how many.
  std::size_t expire(sa::TimePoint cutoff);
  std::optional<sa::TimePoint> oldest() const;

  std::size_t size() const noexcept { return order_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  const EmbryonicLimits& limits() const noexcept { return limits_; }

 private:
  using Key = std::array<std::byte, 2 * kCookieSize>;
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  static Key key_of(const Cookie& initiator, const Cookie& responder);
  void erase(std::list<EmbryonicMainMode>::iterator it);

  EmbryonicLimits limits_;
  std::list<EmbryonicMainMode> order_;   // oldest first
  std::unordered_map<Key, std::list<EmbryonicMainMode>::iterator, KeyHash> index_;
  std::map<IpAddress, std::size_t> per_peer_;   // one key per source with an entry: bounded by size()
  std::size_t bytes_ = 0;
};

}  // namespace ward::ike::service
