#include "directory/adblob/policy_blob.h"

#include "directory/adblob/blob_framing.h"

namespace ward::adblob {

Expected<PolicyBlob, ParseError> decode_policy_blob(std::span<const std::byte> data) noexcept {
  ByteReader reader(data, "ipsecPolicy blob");
  PolicyBlob blob;
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, read_blob_header(reader, blob_type::kPolicy));
  const std::size_t length_at = reader.offset() - 4;
  ADBLOB_READ(blob.polling_interval_seconds, reader.u32_le("Polling-Interval"));
  blob.data_length_as_found = keep_if_unusual(data_length, canonical_length(length_at, reader.offset()));
  blob.trailer = copy_bytes(reader.rest());
  return blob;
}

std::vector<std::byte> encode_policy_blob(const PolicyBlob& blob) {
  ByteWriter writer;
  const std::size_t length_at = begin_blob(writer, blob_type::kPolicy);
  writer.u32_le(blob.polling_interval_seconds);
  finish_data_length(writer, length_at, blob.data_length_as_found);
  writer.bytes(blob.trailer);
  return std::move(writer).take();
}

}  // namespace ward::adblob
