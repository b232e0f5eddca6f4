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
    : bytes_(bytes), owned_(std::move(structure)), structure_(owned_), base_offset_(base_offset) {}

ByteReader::ByteReader(std::span<const std::byte> bytes, const ByteReader& parent, std::size_t base_offset)
    : ByteReader(parent) {
  bytes_ = bytes;
  base_offset_ = base_offset;
  position_ = 0;
}

// The copies and moves re-point structure_ when it refers to the reader's own string (whose
// characters may live inside the string object itself).
ByteReader::ByteReader(const ByteReader& other) : base_offset_(0) { *this = other; }

ByteReader::ByteReader(ByteReader&& other) noexcept : base_offset_(0) { *this = std::move(other); }

ByteReader& ByteReader::operator=(const ByteReader& other) {
  if (this == &other) return *this;
  const bool owns = other.owns_name();
  bytes_ = other.bytes_;
  owned_ = other.owned_;
  structure_ = owns ? std::string_view(owned_) : other.structure_;
  base_offset_ = other.base_offset_;
  position_ = other.position_;
  return *this;
}

ByteReader& ByteReader::operator=(ByteReader&& other) noexcept {
  if (this == &other) return *this;
  const bool owns = other.owns_name();
  bytes_ = other.bytes_;
  owned_ = std::move(other.owned_);
  structure_ = owns ? std::string_view(owned_) : other.structure_;
  base_offset_ = other.base_offset_;
  position_ = other.position_;
  other.structure_ = {};
  return *this;
}

ParseError ByteReader::error(std::string_view field, std::string message) const {
  return ParseError{std::string(structure_), std::string(field), offset(), std::move(message)};
}

ParseError ByteReader::short_read(std::size_t count, std::string_view field) const {
  return error(field, "needs " + std::to_string(count) + " bytes, only " + std::to_string(remaining()) + " left");
}

Expected<ByteReader, ParseError> ByteReader::sub_reader(std::size_t count, std::string_view field) {
  const std::size_t start = offset();
  auto raw = take(count, field);
  if (!raw) return unexpected(std::move(raw).error());
  return ByteReader(*raw, *this, start);
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
