#include "directory/adblob/nfa_blob.h"

#include "directory/adblob/blob_framing.h"
#include "directory/adblob/utf16.h"

namespace ward::adblob {

namespace nfa_marker {
const model::Guid kAltAuthMethods = known_guid("{01010101-0101-0101-0101-010101010101}");
const model::Guid kAltAuthFlags = known_guid("{01010101-0101-0101-0101-010101010102}");
const model::Guid kIpv6Tunnel = known_guid("{01010101-0101-0101-0101-010101010103}");
}  // namespace nfa_marker

namespace {

Expected<std::vector<NfaAuthMethod>, ParseError> read_methods(ByteReader& reader, std::uint32_t count,
                                                              std::string_view type_field,
                                                              std::string_view length_field,
                                                              std::string_view data_field) {
  std::vector<NfaAuthMethod> methods;
  for (std::uint32_t i = 0; i < count; ++i) {
    NfaAuthMethod method;
    std::uint32_t length = 0;
    ADBLOB_READ(method.type, reader.u32_le(type_field));
    ADBLOB_READ(length, reader.u32_le(length_field));
    std::span<const std::byte> data;
    ADBLOB_READ(data, reader.bytes(length, data_field));
    method.data = copy_bytes(data);
    methods.push_back(std::move(method));
  }
  return methods;
}

void write_methods(ByteWriter& writer, const std::vector<NfaAuthMethod>& methods) {
  for (const auto& method : methods) {
    writer.u32_le(method.type);
    writer.u32_le(static_cast<std::uint32_t>(method.data.size()));
    writer.bytes(method.data);
  }
}

// Each method takes at least 8 bytes, which bounds a count taken from the input.
Expected<std::uint32_t, ParseError> read_count(ByteReader& reader, std::string_view field) {
  std::uint32_t count = 0;
  ADBLOB_READ(count, reader.u32_le(field));
  if (count > reader.remaining() / 8) {
    return unexpected(reader.error(field, std::to_string(count) + " methods cannot fit in the " +
                                              std::to_string(reader.remaining()) + " bytes left"));
  }
  return count;
}

// Reads the tail part introduced by `marker` if it comes next (after at most one pad byte when
// `pad` is still free to take it). Returns whether it was there.
bool marker_next(ByteReader& reader, const model::Guid& marker, std::optional<std::uint8_t>* pad) {
  ByteReader peek = reader;
  const auto at = find_marker(peek.rest(), marker);
  if (!at || (*at == 1 && (pad == nullptr || pad->has_value()))) return false;
  if (*at == 1) *pad = std::to_integer<std::uint8_t>(reader.bytes(1, "pad before tail").value()[0]);
  (void)reader.skip(kGuidSize, "tail marker");
  return true;
}

Expected<void, ParseError> read_tail(ByteReader& reader, NfaBlob& blob) {
  std::optional<std::uint8_t>* pad = &blob.pad_before_tail;
  if (marker_next(reader, nfa_marker::kAltAuthMethods, pad)) {
    pad = nullptr;
    std::uint32_t count = 0;
    ADBLOB_READ(count, read_count(reader, "Alt-Auth-Num-Methods-Count"));
    if (count != blob.auth_methods.size()) {
      return unexpected(reader.error("Alt-Auth-Num-Methods-Count", "is " + std::to_string(count) +
                                                                       ", must equal Auth-Method-Count " +
                                                                       std::to_string(blob.auth_methods.size())));
    }
    std::vector<NfaAuthMethod> alt;
    ADBLOB_READ(alt, read_methods(reader, count, "Alt-Auth-Type", "Alt-Auth-Method-Length", "Alt-Auth-Method-Value"));
    blob.alt_auth_methods = std::move(alt);
  }
  if (marker_next(reader, nfa_marker::kAltAuthFlags, pad)) {
    pad = nullptr;
    NfaAltAuthFlags flags;
    ADBLOB_READ(flags.zero1, reader.u32_le("Zero1"));
    for (std::size_t i = 0; i < blob.auth_methods.size(); ++i) {
      std::uint32_t value = 0;
      ADBLOB_READ(value, reader.u32_le("Alt-Auth-Method-Flags"));
      flags.flags.push_back(value);
    }
    blob.alt_auth_flags = std::move(flags);
  }
  if (marker_next(reader, nfa_marker::kIpv6Tunnel, pad)) {
    std::array<std::uint8_t, 16> address{};
    ADBLOB_READ(address, read_array<16>(reader, "IPv6-Tunnel-Mode-Address"));
    blob.ipv6_tunnel_address = address;
  }
  return {};
}

}  // namespace

Expected<NfaBlob, ParseError> decode_nfa_blob(std::span<const std::byte> data, std::size_t base_offset) noexcept {
  ByteReader reader(data, "ipsecNFA blob", base_offset);
  NfaBlob blob;
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, read_blob_header(reader, blob_type::kNfa));
  const std::size_t length_at = reader.offset() - base_offset - 4;
  std::uint32_t count = 0;
  ADBLOB_READ(count, read_count(reader, "Auth-Method-Count"));
  ADBLOB_READ(blob.auth_methods, read_methods(reader, count, "Auth-Type", "Auth-Length", "Auth-Method-Data"));
  ADBLOB_READ(blob.interface_type, reader.u32_le("Interface-Type"));
  ADBLOB_READ(blob.interface_name, read_counted_utf16(reader, "Interface-Name-Length", "Interface-Name"));
  ADBLOB_READ(blob.tunnel_address, read_array<4>(reader, "Tunnel-Address"));
  ADBLOB_READ(blob.is_tunnel, reader.u32_le("Is-Tunnel-Specifier"));
  ADBLOB_READ(blob.is_active, reader.u32_le("Is-Active-Specifier"));
  ADBLOB_READ(blob.tunnel_end_point_name,
              read_counted_utf16(reader, "Tunnel-End-Point-Name-Length", "Tunnel-End-Point-Name"));
  blob.data_length_as_found =
      keep_if_unusual(data_length, canonical_length(length_at, reader.offset() - base_offset));
  auto tail = read_tail(reader, blob);
  if (!tail) return unexpected(tail.error());
  blob.trailer = copy_bytes(reader.rest());
  return blob;
}

std::vector<std::byte> encode_nfa_blob(const NfaBlob& blob) {
  ByteWriter writer;
  const std::size_t length_at = begin_blob(writer, blob_type::kNfa);
  writer.u32_le(static_cast<std::uint32_t>(blob.auth_methods.size()));
  write_methods(writer, blob.auth_methods);
  writer.u32_le(blob.interface_type);
  write_counted_utf16(writer, blob.interface_name);
  write_array(writer, blob.tunnel_address);
  writer.u32_le(blob.is_tunnel);
  writer.u32_le(blob.is_active);
  write_counted_utf16(writer, blob.tunnel_end_point_name);
  finish_data_length(writer, length_at, blob.data_length_as_found);
  if (blob.pad_before_tail) writer.u8(*blob.pad_before_tail);
  if (blob.alt_auth_methods) {
    write_guid(writer, nfa_marker::kAltAuthMethods);
    writer.u32_le(static_cast<std::uint32_t>(blob.alt_auth_methods->size()));
    write_methods(writer, *blob.alt_auth_methods);
  }
  if (blob.alt_auth_flags) {
    write_guid(writer, nfa_marker::kAltAuthFlags);
    writer.u32_le(blob.alt_auth_flags->zero1);
    for (const auto value : blob.alt_auth_flags->flags) writer.u32_le(value);
  }
  if (blob.ipv6_tunnel_address) {
    write_guid(writer, nfa_marker::kIpv6Tunnel);
    write_array(writer, *blob.ipv6_tunnel_address);
  }
  writer.bytes(blob.trailer);
  return std::move(writer).take();
}

}  // namespace ward::adblob
