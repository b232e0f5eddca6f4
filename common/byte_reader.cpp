#include "common/byte_reader.h"

#include <utility>

namespace ward {

std::string ParseError::to_string() const {
  std::string text = structure;
  text += ": ";
  text += field;
  text += " at byte offset ";
  text += std::to_string(offset);
  text += ": ";
  text += message;
  return text;
}

ByteReader::ByteReader(std::span<const std::byte> bytes, std::string structure, std::size_t base_offset)
    : bytes_(bytes), structure_(std::move(structure)), base_offset_(base_offset) {}

ParseError ByteReader::error(std::string_view field, std::string message) const {
  return ParseError{structure_, std::string(field), offset(), std::move(message)};
}

Expected<std::span<const std::byte>, ParseError> ByteReader::take(std::size_t count, std::string_view field) {
  if (count > remaining()) {
    return unexpected(error(field, "needs " + std::to_string(count) + " bytes, only " +
                                       std::to_string(remaining()) + " left"));
  }
  auto out = bytes_.subspan(position_, count);
  position_ += count;
  return out;
}

namespace {

template <class T, bool BigEndian>
T load(std::span<const std::byte> raw) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const std::size_t index = BigEndian ? i : sizeof(T) - 1 - i;
    value = static_cast<T>((value << 8) | static_cast<T>(std::to_integer<std::uint8_t>(raw[index])));
  }
  return value;
}

}  // namespace

Expected<std::uint8_t, ParseError> ByteReader::u8(std::string_view field) {
  auto raw = take(1, field);
  if (!raw) return unexpected(std::move(raw).error());
  return std::to_integer<std::uint8_t>((*raw)[0]);
}

#define WARD_READER_INT(name, type, big)                                    \
  Expected<type, ParseError> ByteReader::name(std::string_view field) {     \
    auto raw = take(sizeof(type), field);                                   \
    if (!raw) return unexpected(std::move(raw).error());                    \
    return load<type, big>(*raw);                                           \
  }

WARD_READER_INT(u16_be, std::uint16_t, true)
WARD_READER_INT(u16_le, std::uint16_t, false)
WARD_READER_INT(u32_be, std::uint32_t, true)
WARD_READER_INT(u32_le, std::uint32_t, false)
WARD_READER_INT(u64_be, std::uint64_t, true)
WARD_READER_INT(u64_le, std::uint64_t, false)
#undef WARD_READER_INT

Expected<std::span<const std::byte>, ParseError> ByteReader::bytes(std::size_t count, std::string_view field) {
  return take(count, field);
}

Expected<void, ParseError> ByteReader::skip(std::size_t count, std::string_view field) {
  auto raw = take(count, field);
  if (!raw) return unexpected(std::move(raw).error());
  return {};
}

Expected<ByteReader, ParseError> ByteReader::sub_reader(std::size_t count, std::string_view field) {
  const std::size_t start = offset();
  auto raw = take(count, field);
  if (!raw) return unexpected(std::move(raw).error());
  return ByteReader(*raw, structure_, start);
}

std::span<const std::byte> ByteReader::rest() noexcept {
  auto out = bytes_.subspan(position_);
  position_ = bytes_.size();
  return out;
}

std::span<const std::byte> as_bytes(std::string_view text) noexcept {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

}  // namespace ward
