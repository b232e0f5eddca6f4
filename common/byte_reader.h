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
  // relative to the outermost structure. A string literal as the structure's name is kept by
  // reference (packet paths construct readers per packet); any other name is copied.
  template <std::size_t N>
  ByteReader(std::span<const std::byte> bytes, const char (&structure)[N], std::size_t base_offset = 0)
      : bytes_(bytes), structure_(structure, N - 1), base_offset_(base_offset) {}
  ByteReader(std::span<const std::byte> bytes, std::string structure, std::size_t base_offset = 0);

  ByteReader(const ByteReader& other);
  ByteReader(ByteReader&& other) noexcept;
  ByteReader& operator=(const ByteReader& other);
  ByteReader& operator=(ByteReader&& other) noexcept;
  ~ByteReader() = default;

  std::size_t offset() const noexcept { return base_offset_ + position_; }
  std::size_t remaining() const noexcept { return bytes_.size() - position_; }
  bool empty() const noexcept { return remaining() == 0; }
  std::string structure() const { return std::string(structure_); }

  // The fixed-size reads are inline: they sit on every packet's path, and the failure (building
  // the ParseError) stays out of line.
  Expected<std::uint8_t, ParseError> u8(std::string_view field) { return read<std::uint8_t, true>(field); }
  Expected<std::uint16_t, ParseError> u16_be(std::string_view field) { return read<std::uint16_t, true>(field); }
  Expected<std::uint16_t, ParseError> u16_le(std::string_view field) { return read<std::uint16_t, false>(field); }
  Expected<std::uint32_t, ParseError> u32_be(std::string_view field) { return read<std::uint32_t, true>(field); }
  Expected<std::uint32_t, ParseError> u32_le(std::string_view field) { return read<std::uint32_t, false>(field); }
  Expected<std::uint64_t, ParseError> u64_be(std::string_view field) { return read<std::uint64_t, true>(field); }
  Expected<std::uint64_t, ParseError> u64_le(std::string_view field) { return read<std::uint64_t, false>(field); }
  Expected<std::span<const std::byte>, ParseError> bytes(std::size_t count, std::string_view field) {
    return take(count, field);
  }
  Expected<void, ParseError> skip(std::size_t count, std::string_view field) {
    if (count > remaining()) [[unlikely]] return unexpected(short_read(count, field));
    position_ += count;
    return {};
  }
  // A reader over the next `count` bytes (consumed from this one); offsets stay absolute.
  Expected<ByteReader, ParseError> sub_reader(std::size_t count, std::string_view field);
  std::span<const std::byte> rest() noexcept;

  // An error at the current offset, for checks done by the caller on values it has read.
  ParseError error(std::string_view field, std::string message) const;

 private:
  ByteReader(std::span<const std::byte> bytes, const ByteReader& parent, std::size_t base_offset);

  Expected<std::span<const std::byte>, ParseError> take(std::size_t count, std::string_view field) {
    if (count > remaining()) [[unlikely]] return unexpected(short_read(count, field));
    auto out = bytes_.subspan(position_, count);
    position_ += count;
    return out;
  }

  template <class T, bool BigEndian>
  Expected<T, ParseError> read(std::string_view field) {
    if (sizeof(T) > remaining()) [[unlikely]] return unexpected(short_read(sizeof(T), field));
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t index = position_ + (BigEndian ? i : sizeof(T) - 1 - i);
      value = static_cast<T>((value << 8) | static_cast<T>(std::to_integer<std::uint8_t>(bytes_[index])));
    }
    position_ += sizeof(T);
    return value;
  }

  bool owns_name() const noexcept { return structure_.data() == owned_.data(); }
  // "needs N bytes, only M left" at the current offset.
  ParseError short_read(std::size_t count, std::string_view field) const;

  std::span<const std::byte> bytes_;
  std::string owned_;            // the name when it is not a literal
  std::string_view structure_;   // the literal, or owned_
  std::size_t base_offset_;
  std::size_t position_ = 0;
};

std::span<const std::byte> as_bytes(std::string_view text) noexcept;

}  // namespace ward
