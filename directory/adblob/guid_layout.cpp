#include "directory/adblob/guid_layout.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ward::adblob {

namespace {
// Wire position of each text-order byte: Data1 reversed, Data2 reversed, Data3 reversed, Data4 as is.
constexpr std::array<std::size_t, kGuidSize> kWireIndex{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
}  // namespace

model::Guid guid_from_windows_bytes(const model::Guid::Bytes& wire) noexcept {
  model::Guid::Bytes text_order{};
  for (std::size_t i = 0; i < kGuidSize; ++i) text_order[i] = wire[kWireIndex[i]];
  return model::Guid(text_order);
}

model::Guid::Bytes windows_bytes_of(const model::Guid& guid) noexcept {
  model::Guid::Bytes wire{};
  for (std::size_t i = 0; i < kGuidSize; ++i) wire[kWireIndex[i]] = guid.bytes()[i];
  return wire;
}

Expected<model::Guid, ParseError> read_guid(ByteReader& reader, std::string_view field) {
  auto raw = reader.bytes(kGuidSize, field);
  if (!raw) return unexpected(std::move(raw).error());
  model::Guid::Bytes wire{};
  for (std::size_t i = 0; i < kGuidSize; ++i) wire[i] = std::to_integer<std::uint8_t>((*raw)[i]);
  return guid_from_windows_bytes(wire);
}

void write_guid(ByteWriter& writer, const model::Guid& guid) {
  for (const auto byte : windows_bytes_of(guid)) writer.u8(byte);
}

model::Guid known_guid(std::string_view text) {
  const auto parsed = model::Guid::parse(text);
  if (!parsed) {
    std::fprintf(stderr, "ward: malformed built-in GUID constant %s\n", std::string(text).c_str());
    std::abort();
  }
  return *parsed;
}

}  // namespace ward::adblob
