#include "directory/adblob/filter_blob.h"

#include "directory/adblob/blob_framing.h"
#include "directory/adblob/utf16.h"

namespace ward::adblob {

namespace {

// The smallest records: three empty strings' lengths plus the fixed fields.
constexpr std::size_t kMinLegacySpecSize = 12 + 52;
constexpr std::size_t kMinV2SpecSize = 12 + 16 + 4 + 40 + 40 + 8 + 8 + 4 + 4;

Expected<LegacyFilterSpec, ParseError> read_legacy(ByteReader& reader) {
  LegacyFilterSpec f;
  ADBLOB_READ(f.source_dns_name, read_counted_utf16(reader, "Source-Length-Of-DNS-Name1", "Source-DNS-Name1"));
  ADBLOB_READ(f.destination_dns_name,
              read_counted_utf16(reader, "Destination-Length-Of-DNS-Name1", "Destination-DNS-Name1"));
  ADBLOB_READ(f.description, read_counted_utf16(reader, "Filter-Description-Length1", "Filter-Description1"));
  ADBLOB_READ(f.id, read_guid(reader, "Filter-Specification-ID1"));
  ADBLOB_READ(f.mirrored, reader.u32_le("Legacy-Mirror-Options"));
  ADBLOB_READ(f.source_address, read_array<4>(reader, "Legacy-Source-Address"));
  ADBLOB_READ(f.source_mask, read_array<4>(reader, "Legacy-Source-Mask"));
  ADBLOB_READ(f.destination_address, read_array<4>(reader, "Legacy-Destination-Address"));
  ADBLOB_READ(f.destination_mask, read_array<4>(reader, "Legacy-Destination-Mask"));
  ADBLOB_READ(f.tunnel_address, read_array<4>(reader, "Legacy-Tunnel-Address"));
  ADBLOB_READ(f.protocol, reader.u32_le("Legacy-Protocol"));
  ADBLOB_READ(f.source_port, reader.u16_le("Legacy-Source-Port"));
  ADBLOB_READ(f.destination_port, reader.u16_le("Legacy-Destination-Port"));
  ADBLOB_READ(f.is_tunnel, reader.u8("Legacy-Is-Tunnel"));
  ADBLOB_READ(f.special_filter, reader.u8("Legacy-Special-Filter"));
  ADBLOB_READ(f.filter_options, reader.u16_le("Legacy-Filter-Options"));
  return f;
}

void write_legacy(ByteWriter& writer, const LegacyFilterSpec& f) {
  write_counted_utf16(writer, f.source_dns_name);
  write_counted_utf16(writer, f.destination_dns_name);
  write_counted_utf16(writer, f.description);
  write_guid(writer, f.id);
  writer.u32_le(f.mirrored);
  write_array(writer, f.source_address);
  write_array(writer, f.source_mask);
  write_array(writer, f.destination_address);
  write_array(writer, f.destination_mask);
  write_array(writer, f.tunnel_address);
  writer.u32_le(f.protocol);
  writer.u16_le(f.source_port);
  writer.u16_le(f.destination_port);
  writer.u8(f.is_tunnel);
  writer.u8(f.special_filter);
  writer.u16_le(f.filter_options);
}

Expected<FilterAddressBlock, ParseError> read_address(ByteReader& reader, std::string_view which) {
  FilterAddressBlock a;
  const std::string prefix(which);
  ADBLOB_READ(a.type, reader.u32_le(prefix + " IPsec-Address-Type"));
  ADBLOB_READ(a.version, reader.u32_le(prefix + " IPsec-Address-Version"));
  ADBLOB_READ(a.address, read_array<16>(reader, prefix + " IP-Address"));
  ADBLOB_READ(a.secondary, read_array<16>(reader, prefix + " IP-Address-Secondary"));
  return a;
}

Expected<FilterPortBlock, ParseError> read_port(ByteReader& reader, std::string_view which) {
  FilterPortBlock p;
  const std::string prefix(which);
  ADBLOB_READ(p.type, reader.u32_le(prefix + " Port-Type"));
  ADBLOB_READ(p.port, reader.u16_le(prefix + " Port"));
  ADBLOB_READ(p.range_end, reader.u16_le(prefix + " Port-Range-End"));
  return p;
}

Expected<FilterSpecV2, ParseError> read_v2_spec(ByteReader& reader) {
  FilterSpecV2 f;
  ADBLOB_READ(f.source_dns_name, read_counted_utf16(reader, "Source-Length-Of-DNS-Name2", "Source-DNS-Name2"));
  ADBLOB_READ(f.destination_dns_name,
              read_counted_utf16(reader, "Destination-Length-Of-DNS-Name2", "Destination-DNS-Name2"));
  ADBLOB_READ(f.description, read_counted_utf16(reader, "Filter-Description-Length2", "Filter-Description2"));
  ADBLOB_READ(f.id, read_guid(reader, "Filter-Specification-ID2"));
  ADBLOB_READ(f.mirror_flags, reader.u32_le("Mirror-Flags"));
  ADBLOB_READ(f.source, read_address(reader, "Source-Address-Data"));
  ADBLOB_READ(f.destination, read_address(reader, "Destination-Address-Data"));
  ADBLOB_READ(f.source_port, read_port(reader, "Source-Port-Data"));
  ADBLOB_READ(f.destination_port, read_port(reader, "Destination-Port-Data"));
  ADBLOB_READ(f.protocol, reader.u32_le("Filter-Protocol"));
  ADBLOB_READ(f.flags, reader.u32_le("Filter-Flags"));
  return f;
}

void write_address(ByteWriter& writer, const FilterAddressBlock& a) {
  writer.u32_le(a.type);
  writer.u32_le(a.version);
  write_array(writer, a.address);
  write_array(writer, a.secondary);
}

void write_port(ByteWriter& writer, const FilterPortBlock& p) {
  writer.u32_le(p.type);
  writer.u16_le(p.port);
  writer.u16_le(p.range_end);
}

void write_v2_spec(ByteWriter& writer, const FilterSpecV2& f) {
  write_counted_utf16(writer, f.source_dns_name);
  write_counted_utf16(writer, f.destination_dns_name);
  write_counted_utf16(writer, f.description);
  write_guid(writer, f.id);
  writer.u32_le(f.mirror_flags);
  write_address(writer, f.source);
  write_address(writer, f.destination);
  write_port(writer, f.source_port);
  write_port(writer, f.destination_port);
  writer.u32_le(f.protocol);
  writer.u32_le(f.flags);
}

Expected<std::uint32_t, ParseError> read_count(ByteReader& reader, std::string_view field, std::size_t min_size) {
  std::uint32_t count = 0;
  ADBLOB_READ(count, reader.u32_le(field));
  if (count > reader.remaining() / min_size) {
    return unexpected(reader.error(field, std::to_string(count) + " filters cannot fit in the " +
                                              std::to_string(reader.remaining()) + " bytes left"));
  }
  return count;
}

Expected<FilterPartV2, ParseError> read_v2(ByteReader& reader) {
  FilterPartV2 part;
  (void)reader.skip(kGuidSize, "Filter-Policy-ID2");  // find_marker has checked it
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, reader.u32_le("Data-Length2"));
  const std::size_t start = reader.offset();
  ADBLOB_READ(part.legacy_count_override, reader.u32_le("Number-Of-Filters11"));
  std::uint32_t count = 0;
  ADBLOB_READ(count, read_count(reader, "Number-Of-Filters2", kMinV2SpecSize));
  for (std::uint32_t i = 0; i < count; ++i) {
    FilterSpecV2 spec;
    ADBLOB_READ(spec, read_v2_spec(reader));
    part.filters.push_back(std::move(spec));
  }
  part.data_length_as_found = keep_if_unusual(data_length, static_cast<std::uint32_t>(reader.offset() - start));
  return part;
}

}  // namespace

Expected<FilterBlob, ParseError> decode_filter_blob(std::span<const std::byte> data) noexcept {
  ByteReader reader(data, "ipsecFilter blob");
  FilterBlob blob;
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, read_blob_header(reader, blob_type::kFilter));
  const std::size_t length_at = reader.offset() - 4;
  std::uint32_t count = 0;
  ADBLOB_READ(count, read_count(reader, "Number-Of-Filters1", kMinLegacySpecSize));
  for (std::uint32_t i = 0; i < count; ++i) {
    LegacyFilterSpec spec;
    ADBLOB_READ(spec, read_legacy(reader));
    blob.legacy_filters.push_back(std::move(spec));
  }
  blob.data_length_as_found = keep_if_unusual(data_length, canonical_length(length_at, reader.offset()));
  ByteReader peek = reader;
  if (const auto at = find_marker(peek.rest(), blob_type::kFilterV2)) {
    if (*at == 1) ADBLOB_READ(blob.pad_before_v2, reader.u8("pad before part 2"));
    FilterPartV2 part;
    ADBLOB_READ(part, read_v2(reader));
    if (part.legacy_count_override != 0 && part.legacy_count_override != count) {
      return unexpected(reader.error("Number-Of-Filters11",
                                     "is " + std::to_string(part.legacy_count_override) + " but part 1 holds " +
                                         std::to_string(count) + " filters; Ward cannot place such a part 2"));
    }
    blob.v2 = std::move(part);
  }
  blob.trailer = copy_bytes(reader.rest());
  return blob;
}

std::vector<std::byte> encode_filter_blob(const FilterBlob& blob) {
  ByteWriter writer;
  const std::size_t length_at = begin_blob(writer, blob_type::kFilter);
  writer.u32_le(static_cast<std::uint32_t>(blob.legacy_filters.size()));
  for (const auto& spec : blob.legacy_filters) write_legacy(writer, spec);
  finish_data_length(writer, length_at, blob.data_length_as_found);
  if (blob.v2) {
    if (blob.pad_before_v2) writer.u8(*blob.pad_before_v2);
    write_guid(writer, blob_type::kFilterV2);
    const std::size_t v2_length_at = writer.reserve_u32();
    writer.u32_le(blob.v2->legacy_count_override);
    writer.u32_le(static_cast<std::uint32_t>(blob.v2->filters.size()));
    for (const auto& spec : blob.v2->filters) write_v2_spec(writer, spec);
    finish_data_length(writer, v2_length_at, blob.v2->data_length_as_found);
  }
  writer.bytes(blob.trailer);
  return std::move(writer).take();
}

}  // namespace ward::adblob
