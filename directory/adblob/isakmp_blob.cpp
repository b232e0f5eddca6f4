#include "directory/adblob/isakmp_blob.h"

#include "directory/adblob/blob_framing.h"

namespace ward::adblob {

namespace {

Expected<IsakmpSecurityMethod, ParseError> read_method(ByteReader& reader) {
  IsakmpSecurityMethod m;
  ADBLOB_READ(m.major_version, reader.u8("Major-Version"));
  ADBLOB_READ(m.minor_version, reader.u8("Minor-Version"));
  ADBLOB_READ(m.zero3, reader.u16_le("Zero3"));
  ADBLOB_READ(m.encryption_algorithm, reader.u32_le("Encryption-Algorithm-ID"));
  ADBLOB_READ(m.encryption_algorithm_high, reader.u32_le("Encryption-Algorithm-ID (high half)"));
  ADBLOB_READ(m.zero4, reader.u32_le("Zero4"));
  ADBLOB_READ(m.hash_algorithm, reader.u32_le("Hash-Algorithm-ID"));
  ADBLOB_READ(m.hash_algorithm_high, reader.u32_le("Hash-Algorithm-ID (high half)"));
  ADBLOB_READ(m.zero5, reader.u32_le("Zero5"));
  ADBLOB_READ(m.zero6, reader.u64_le("Zero6"));
  ADBLOB_READ(m.random_function, reader.u8("Random-Function"));
  ADBLOB_READ(m.zero7, read_array<7>(reader, "Zero7"));
  ADBLOB_READ(m.oakley_group, reader.u32_le("Oakley-Group"));
  ADBLOB_READ(m.quick_mode_limit, reader.u32_le("QM-Limit"));
  ADBLOB_READ(m.lifetime_kilobytes, reader.u32_le("Oakley-Lifetime-KB"));
  ADBLOB_READ(m.lifetime_seconds, reader.u32_le("Oakley-Lifetime-Secs"));
  ADBLOB_READ(m.pfs_identity_required, reader.u32_le("PFS-Identity-Required"));
  return m;
}

void write_method(ByteWriter& writer, const IsakmpSecurityMethod& m) {
  writer.u8(m.major_version);
  writer.u8(m.minor_version);
  writer.u16_le(m.zero3);
  writer.u32_le(m.encryption_algorithm);
  writer.u32_le(m.encryption_algorithm_high);
  writer.u32_le(m.zero4);
  writer.u32_le(m.hash_algorithm);
  writer.u32_le(m.hash_algorithm_high);
  writer.u32_le(m.zero5);
  writer.u64_le(m.zero6);
  writer.u8(m.random_function);
  write_array(writer, m.zero7);
  writer.u32_le(m.oakley_group);
  writer.u32_le(m.quick_mode_limit);
  writer.u32_le(m.lifetime_kilobytes);
  writer.u32_le(m.lifetime_seconds);
  writer.u32_le(m.pfs_identity_required);
}

}  // namespace

Expected<IsakmpBlob, ParseError> decode_isakmp_blob(std::span<const std::byte> data) noexcept {
  ByteReader reader(data, "ipsecISAKMPPolicy blob");
  IsakmpBlob blob;
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, read_blob_header(reader, blob_type::kIsakmp));
  const std::size_t length_at = reader.offset() - 4;
  ADBLOB_READ(blob.instance, read_guid(reader, "ISAKMP-Policy-Instance"));
  ADBLOB_READ(blob.zero1, reader.u32_le("Zero1"));
  ADBLOB_READ(blob.master_pfs_required, reader.u32_le("Master-PFS-Required"));
  ADBLOB_READ(blob.isakmp_options, reader.u32_le("ISAKMP-Options"));
  ADBLOB_READ(blob.new_dh, read_array<4>(reader, "New-DH-1..4"));
  ADBLOB_READ(blob.quick_mode_limit, reader.u32_le("QM-Limit"));
  ADBLOB_READ(blob.main_mode_lifetime_seconds, reader.u32_le("MM-Lifetime"));
  ADBLOB_READ(blob.zero2, read_array<20>(reader, "Zero2"));
  std::uint32_t count = 0;
  ADBLOB_READ(count, reader.u32_le("Security-Method-Count"));
  if (count > reader.remaining() / IsakmpSecurityMethod::kSize) {
    return unexpected(reader.error("Security-Method-Count", std::to_string(count) + " methods need " +
                                                                std::to_string(std::uint64_t{count} * IsakmpSecurityMethod::kSize) +
                                                                " bytes, only " + std::to_string(reader.remaining()) + " left"));
  }
  blob.methods.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    IsakmpSecurityMethod method;
    ADBLOB_READ(method, read_method(reader));
    blob.methods.push_back(method);
  }
  blob.data_length_as_found = keep_if_unusual(data_length, canonical_length(length_at, reader.offset()));
  blob.trailer = copy_bytes(reader.rest());
  return blob;
}

std::vector<std::byte> encode_isakmp_blob(const IsakmpBlob& blob) {
  ByteWriter writer;
  const std::size_t length_at = begin_blob(writer, blob_type::kIsakmp);
  write_guid(writer, blob.instance);
  writer.u32_le(blob.zero1);
  writer.u32_le(blob.master_pfs_required);
  writer.u32_le(blob.isakmp_options);
  write_array(writer, blob.new_dh);
  writer.u32_le(blob.quick_mode_limit);
  writer.u32_le(blob.main_mode_lifetime_seconds);
  write_array(writer, blob.zero2);
  writer.u32_le(static_cast<std::uint32_t>(blob.methods.size()));
  for (const auto& method : blob.methods) write_method(writer, method);
  finish_data_length(writer, length_at, blob.data_length_as_found);
  writer.bytes(blob.trailer);
  return std::move(writer).take();
}

}  // namespace ward::adblob
