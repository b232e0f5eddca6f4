// ByteReader: bounds-checked reads over untrusted bytes. It is the only place that does offset
// arithmetic for Ward's codecs; it cannot read past its end, and every failure names the field and
// the offset. Values are copied out, never cast onto the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "common/parse_error.h"

namespace ward {

class ByteReader {
 public:
  // base_offset: where `bytes` starts inside the whole input, so nested readers report offsets
  // relative to the outermost structure.
  ByteReader(std::span<const std::byte> bytes, std::string structure, std::size_t base_offset = 0);

  std::size_t offset() const noexcept { return base_offset_ + position_; }
  std::size_t remaining() const noexcept { return bytes_.size() - position_; }
  bool empty() const noexcept { return remaining() == 0; }
  const std::string& structure() const noexcept { return structure_; }

  Expected<std::uint8_t, ParseError> u8(std::string_view field);
  Expected<std::uint16_t, ParseError> u16_be(std::string_view field);
  Expected<std::uint16_t, ParseError> u16_le(std::string_view field);
  Expected<std::uint32_t, ParseError> u32_be(std::string_view field);
  Expected<std::uint32_t, ParseError> u32_le(std::string_view field);
  Expected<std::uint64_t, ParseError> u64_be(std::string_view field);
  Expected<std::uint64_t, ParseError> u64_le(std::string_view field);
  Expected<std::span<const std::byte>, ParseError> bytes(std::size_t count, std::string_view field);
  Expected<void, ParseError> skip(std::size_t count, std::string_view field);
  // A reader over the next `count` bytes (consumed from this one); offsets stay absolute.
  Expected<ByteReader, ParseError> sub_reader(std::size_t count, std::string_view field);
  std::span<const std::byte> rest() noexcept;

  // An error at the current offset, for checks done by the caller on values it has read.
  ParseError error(std::string_view field, std::string message) const;

 private:
  Expected<std::span<const std::byte>, ParseError> take(std::size_t count, std::string_view field);

  std::span<const std::byte> bytes_;
  std::string structure_;
  std::size_t base_offset_;
  std::size_t position_ = 0;
};

std::span<const std::byte> as_bytes(std::string_view text) noexcept;

}  // namespace ward
