// The Windows binary GUID layout used inside ipsecData blobs: Data1 as u32 little-endian, Data2 and
// Data3 as u16 little-endian, Data4 as 8 bytes in order. ward::model::Guid keeps the text order
// (most significant first), so the first 8 bytes are swapped group by group.
#pragma once

#include <string_view>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"
#include "directory/model/guid.h"

namespace ward::adblob {

inline constexpr std::size_t kGuidSize = 16;

// Bytes as they appear in a blob  <->  model GUID.
model::Guid guid_from_windows_bytes(const model::Guid::Bytes& wire) noexcept;
model::Guid::Bytes windows_bytes_of(const model::Guid& guid) noexcept;

Expected<model::Guid, ParseError> read_guid(ByteReader& reader, std::string_view field);
void write_guid(ByteWriter& writer, const model::Guid& guid);

// A GUID constant from its text form, for the well-known identifiers (aborts on a typo at start-up).
model::Guid known_guid(std::string_view text);

}  // namespace ward::adblob
