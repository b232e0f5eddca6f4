// ByteWriter: the one place Ward's encoders lay out integers and byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace ward {

class ByteWriter {
 public:
  ByteWriter() = default;
  // Writes into `storage`, whose contents are discarded but whose capacity is kept, so a packet
  // path that hands the same vector back each time writes without allocating.
  explicit ByteWriter(std::vector<std::byte>&& storage) : out_(std::move(storage)) { out_.clear(); }

  void u8(std::uint8_t value) { out_.push_back(std::byte{value}); }
  void u16_be(std::uint16_t value) { put<std::uint16_t, true>(value); }
  void u16_le(std::uint16_t value) { put<std::uint16_t, false>(value); }
  void u32_be(std::uint32_t value) { put<std::uint32_t, true>(value); }
  void u32_le(std::uint32_t value) { put<std::uint32_t, false>(value); }
  void u64_be(std::uint64_t value) { put<std::uint64_t, true>(value); }
  void u64_le(std::uint64_t value) { put<std::uint64_t, false>(value); }
  void bytes(std::span<const std::byte> data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void zeros(std::size_t count) { out_.insert(out_.end(), count, std::byte{0}); }

  // Reserve a 32-bit field to be filled once the length of what follows is known.
  std::size_t reserve_u32() {
    const std::size_t at = out_.size();
    zeros(4);
    return at;
  }
  void patch_u32_le(std::size_t at, std::uint32_t value) { patch<std::uint32_t, false>(at, value); }
  void patch_u32_be(std::size_t at, std::uint32_t value) { patch<std::uint32_t, true>(at, value); }
  void patch_u16_be(std::size_t at, std::uint16_t value) { patch<std::uint16_t, true>(at, value); }
  void patch_u8(std::size_t at, std::uint8_t value) { out_.at(at) = std::byte{value}; }

  // What has been written so far, writable in place (for transforms such as encryption and for
  // checksums over the written bytes). Valid until the next write.
  std::span<std::byte> written() noexcept { return out_; }
  // Drops what was written after the first `size` bytes (no-op if fewer were written).
  void truncate(std::size_t size) {
    if (size < out_.size()) out_.resize(size);
  }

  std::size_t size() const noexcept { return out_.size(); }
  const std::vector<std::byte>& data() const noexcept { return out_; }
  std::vector<std::byte> take() && { return std::move(out_); }

 private:
  // Byte by byte rather than zeros() then patch(): GCC 12 at -O3 warns falsely (-Warray-bounds)
  // on the vector insert that zeros() inlines to.
  template <class T, bool BigEndian>
  void put(T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t shift = BigEndian ? 8 * (sizeof(T) - 1 - i) : 8 * i;
      out_.push_back(std::byte{static_cast<std::uint8_t>(value >> shift)});
    }
  }
  template <class T, bool BigEndian>
  void patch(std::size_t at, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t index = BigEndian ? sizeof(T) - 1 - i : i;
      out_.at(at + index) = std::byte{static_cast<std::uint8_t>(value >> (8 * i))};
    }
  }

  std::vector<std::byte> out_;
};

}  // namespace ward
