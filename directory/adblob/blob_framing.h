// What every ipsecData blob shares: a type GUID, a u32 Data-Length, the spec'd fields, then bytes
// the spec does not describe (normally one 0x00 pad byte; Ward's extension record may follow it).
// Data-Length is "1 byte less than the size of the following data" in every Windows-made blob.
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "directory/adblob/guid_layout.h"

namespace ward::adblob {

// Blob type identifiers (MS-GPIPSEC 2.2.1.x), as the first 16 bytes of ipsecData.
namespace blob_type {
inline const model::Guid kPolicy = known_guid("{22202163-4F4C-11D1-863B-00A0248D3021}");
inline const model::Guid kIsakmp = known_guid("{80DC20B8-2EC8-11D1-A89E-00A0248D3021}");
inline const model::Guid kNfa = known_guid("{11BBAC00-498D-11D1-8639-00A0248D3021}");
inline const model::Guid kNegotiation = known_guid("{80DC20B9-2EC8-11D1-A89E-00A0248D3021}");
inline const model::Guid kFilter = known_guid("{80DC20B5-2EC8-11D1-A89E-00A0248D3021}");
inline const model::Guid kFilterV2 = known_guid("{35FECD3D-AE29-4373-8A6A-C5D8FAB2FB08}");
}  // namespace blob_type

inline constexpr std::size_t kBlobHeaderSize = 16 + 4;  // type GUID + Data-Length

// The usual trailer: the single pad byte Windows writes after the spec'd data.
inline std::vector<std::byte> standard_trailer() { return {std::byte{0}}; }

// Reads the type GUID (must equal `expected`) and the Data-Length.
Expected<std::uint32_t, ParseError> read_blob_header(ByteReader& reader, const model::Guid& expected);

// Starts a blob: writes the type GUID and reserves Data-Length; returns the reserved position.
std::size_t begin_blob(ByteWriter& writer, const model::Guid& type);
// Patches Data-Length: `as_found` when the decoder kept one, else the bytes written since it.
void finish_data_length(ByteWriter& writer, std::size_t at, std::optional<std::uint32_t> as_found);
// What finish_data_length writes without an override; decoders compare against it.
inline std::uint32_t canonical_length(std::size_t length_field_at, std::size_t end) {
  return static_cast<std::uint32_t>(end - (length_field_at + 4));
}
inline std::optional<std::uint32_t> keep_if_unusual(std::uint32_t found, std::uint32_t canonical) {
  return found == canonical ? std::nullopt : std::optional<std::uint32_t>(found);
}

// Where `marker` starts in `rest`: at 0, or at 1 after a single pad byte. nullopt: not there.
std::optional<std::size_t> find_marker(std::span<const std::byte> rest, const model::Guid& marker);

std::vector<std::byte> copy_bytes(std::span<const std::byte> bytes);

// Fixed-size raw fields (addresses, reserved areas) kept byte for byte.
template <std::size_t N>
Expected<std::array<std::uint8_t, N>, ParseError> read_array(ByteReader& reader, std::string_view field) {
  auto raw = reader.bytes(N, field);
  if (!raw) return unexpected(std::move(raw).error());
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = std::to_integer<std::uint8_t>((*raw)[i]);
  return out;
}

template <std::size_t N>
void write_array(ByteWriter& writer, const std::array<std::uint8_t, N>& values) {
  for (const auto value : values) writer.u8(value);
}

}  // namespace ward::adblob

// Reads into `target` or returns the reader's error from the enclosing decoder.
#define ADBLOB_READ(target, expr)                                          \
  do {                                                                     \
    auto adblob_result_ = (expr);                                          \
    if (!adblob_result_) return ::ward::unexpected(std::move(adblob_result_).error()); \
    (target) = std::move(adblob_result_).value();                          \
  } while (0)

// The same for any Expected whose error type the enclosing function returns (not only ParseError).
#define ADBLOB_TRY(target, expr) ADBLOB_READ(target, expr)
