// ReplayWindow: the RFC 4303 3.4.3 anti-replay window as an RFC 6479 ring of 64-bit blocks, with
// RFC 4303 Appendix A extended sequence numbers.
//
// Use it as strongSwan's esp_context does (verify_seqno / set_authenticated_seqno): check() a
// received sequence number BEFORE the ICV is verified (cheap rejection, and it yields the full
// 64-bit number that ESN needs for the ICV), and commit() it only AFTER the ICV verified, so that
// forged packets never move the window.
//
// Thread safety: none. A ReplayWindow belongs to one inbound SA and must be used by one thread at
// a time; a driver that spreads one SA over threads serialises check + ICV + commit per SA with
// its own lock (commit() is idempotent and safe to call for a number check() accepted, even if
// other numbers were committed in between).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "driver/crypto/drop_reason.h"

namespace ward::driver::crypto {

class ReplayWindow {
 public:
  // size: 0 disables anti-replay (every number passes, ESN still inferred from the highest seen);
  // otherwise 1..kMaxReplayWindow packets (RFC 4303 recommends at least 64, the default).
  static Expected<ReplayWindow, std::string> create(std::uint32_t size, bool extended_sequence_numbers);

  // The full sequence number of a packet carrying `low` (the 32 bits on the wire), or Replay if it
  // is zero, already seen, or left of the window. Does not change the window.
  Expected<std::uint64_t, DropReason> check(std::uint32_t low) const noexcept;
  // Marks `sequence` (as returned by check) as received; advances the window when it is new.
  void commit(std::uint64_t sequence) noexcept;

  std::uint64_t highest() const noexcept { return top_; }
  std::uint32_t size() const noexcept { return size_; }
  bool extended_sequence_numbers() const noexcept { return esn_; }

 private:
  ReplayWindow(std::uint32_t size, bool esn);
  bool seen(std::uint64_t sequence) const noexcept;

  std::uint32_t size_;
  bool esn_;
  std::uint64_t top_ = 0;  // highest authenticated sequence number; 0 = none yet
  std::vector<std::uint64_t> blocks_;  // ring: bit (s % 64) of block (s / 64) % blocks_.size()
};

}  // namespace ward::driver::crypto
