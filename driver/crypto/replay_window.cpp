#include "driver/crypto/replay_window.h"

#include <algorithm>

#include "driver/crypto/constants.h"

namespace ward::driver::crypto {

namespace {
constexpr std::uint64_t kBitsPerBlock = 64;
constexpr unsigned kBlockShift = 6;
}  // namespace

Expected<ReplayWindow, std::string> ReplayWindow::create(std::uint32_t size, bool extended_sequence_numbers) {
  if (size > kMaxReplayWindow) {
    return unexpected("replay window of " + std::to_string(size) + " packets exceeds the maximum of " +
                      std::to_string(kMaxReplayWindow));
  }
  return ReplayWindow(size, extended_sequence_numbers);
}

ReplayWindow::ReplayWindow(std::uint32_t size, bool esn) : size_(size), esn_(esn) {
  // RFC 6479 3: one block more than the window needs, so that sliding clears whole blocks only.
  const std::size_t window_blocks = (size + kBitsPerBlock - 1) / kBitsPerBlock;
  blocks_.assign(window_blocks + 1, 0);
}

bool ReplayWindow::seen(std::uint64_t sequence) const noexcept {
  const std::uint64_t block = (sequence >> kBlockShift) % blocks_.size();
  return (blocks_[block] >> (sequence & (kBitsPerBlock - 1))) & 1U;
}

Expected<std::uint64_t, DropReason> ReplayWindow::check(std::uint32_t low) const noexcept {
  std::uint64_t sequence = low;
  if (esn_) {
    // RFC 4303 Appendix A2.2: place `low` in the 2^32 subspace that keeps it closest to the
    // window. W is at least 1 here so that a disabled window still infers the high half.
    const std::uint64_t window = size_ == 0 ? 1 : size_;
    const auto top_low = static_cast<std::uint32_t>(top_);
    const std::uint64_t top_high = top_ >> 32;
    std::uint64_t high = top_high;
    if (top_low >= window - 1) {
      const auto bottom = static_cast<std::uint32_t>(top_low - window + 1);
      if (low < bottom) high = top_high + 1;
    } else {
      const auto bottom = static_cast<std::uint32_t>(top_low - static_cast<std::uint32_t>(window) + 1);  // wraps
      if (low >= bottom) {
        if (top_high == 0) return unexpected(DropReason::Replay);  // below sequence number 0
        high = top_high - 1;
      }
    }
    sequence = (high << 32) | low;
  }
  if (sequence == 0) return unexpected(DropReason::Replay);  // RFC 4303 2.2: the first packet is 1
  if (size_ == 0 || sequence > top_) return sequence;
  if (top_ - sequence >= size_) return unexpected(DropReason::Replay);  // left of the window
  if (seen(sequence)) return unexpected(DropReason::Replay);
  return sequence;
}

void ReplayWindow::commit(std::uint64_t sequence) noexcept {
  if (sequence > top_) {
    const std::uint64_t old_block = top_ >> kBlockShift;
    const std::uint64_t new_block = sequence >> kBlockShift;
    const std::uint64_t to_clear = std::min<std::uint64_t>(new_block - old_block, blocks_.size());
    for (std::uint64_t i = 1; i <= to_clear; ++i) blocks_[(old_block + i) % blocks_.size()] = 0;
    top_ = sequence;
  } else if (size_ != 0 && top_ - sequence >= size_) {
    return;  // fell out of the window since check(); nothing to record
  }
  const std::uint64_t block = (sequence >> kBlockShift) % blocks_.size();
  blocks_[block] |= std::uint64_t{1} << (sequence & (kBitsPerBlock - 1));
}

}  // namespace ward::driver::crypto
