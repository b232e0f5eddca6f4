#include "directory/adblob/blob_framing.h"

#include <algorithm>

namespace ward::adblob {

Expected<std::uint32_t, ParseError> read_blob_header(ByteReader& reader, const model::Guid& expected) {
  const std::size_t at = reader.offset();
  auto type = read_guid(reader, "blob type GUID");
  if (!type) return unexpected(std::move(type).error());
  if (*type != expected) {
    return unexpected(ParseError{reader.structure(), "blob type GUID", at,
                                 "is " + type->to_string() + ", expected " + expected.to_string()});
  }
  return reader.u32_le("Data-Length");
}

std::size_t begin_blob(ByteWriter& writer, const model::Guid& type) {
  write_guid(writer, type);
  return writer.reserve_u32();
}

void finish_data_length(ByteWriter& writer, std::size_t at, std::optional<std::uint32_t> as_found) {
  writer.patch_u32_le(at, as_found.value_or(canonical_length(at, writer.size())));
}

std::optional<std::size_t> find_marker(std::span<const std::byte> rest, const model::Guid& marker) {
  const auto wire = windows_bytes_of(marker);
  const auto matches_at = [&](std::size_t start) {
    if (rest.size() < start + kGuidSize) return false;
    return std::equal(wire.begin(), wire.end(), rest.begin() + static_cast<std::ptrdiff_t>(start),
                      [](std::uint8_t a, std::byte b) { return a == std::to_integer<std::uint8_t>(b); });
  };
  if (matches_at(0)) return 0;
  if (matches_at(1)) return 1;
  return std::nullopt;
}

std::vector<std::byte> copy_bytes(std::span<const std::byte> bytes) { return {bytes.begin(), bytes.end()}; }

}  // namespace ward::adblob
