#include "directory/adblob/version_blob.h"

#include "directory/adblob/blob_framing.h"
#include "directory/adblob/utf16.h"

namespace ward::adblob {

Expected<VersionBlob, ParseError> decode_version_blob(std::span<const std::byte> data) noexcept {
  ByteReader reader(data, "version information blob");
  VersionBlob blob;
  ADBLOB_READ(blob.id, read_guid(reader, "object GUID"));
  std::uint32_t data_length = 0;
  ADBLOB_READ(data_length, reader.u32_le("Data-Length"));
  ByteReader inner = reader;
  ADBLOB_READ(inner, reader.sub_reader(data_length, "version data"));
  ADBLOB_READ(blob.version, inner.u32_le("version"));
  ADBLOB_READ(blob.timestamp, inner.u32_le("timestamp"));
  ADBLOB_READ(blob.product, read_counted_utf16(inner, "product length", "product"));
  ADBLOB_READ(blob.author, read_counted_utf16(inner, "author length", "author"));
  ADBLOB_READ(blob.comment, read_counted_utf16(inner, "comment length", "comment"));
  blob.unparsed = copy_bytes(inner.rest());
  if (!reader.empty()) {
    const std::size_t at = reader.offset();
    NfaBlob nfa;
    ADBLOB_READ(nfa, decode_nfa_blob(reader.rest(), at));
    blob.nfa = std::move(nfa);
  }
  return blob;
}

std::vector<std::byte> encode_version_blob(const VersionBlob& blob) {
  ByteWriter writer;
  write_guid(writer, blob.id);
  const std::size_t length_at = writer.reserve_u32();
  writer.u32_le(blob.version);
  writer.u32_le(blob.timestamp);
  write_counted_utf16(writer, blob.product);
  write_counted_utf16(writer, blob.author);
  write_counted_utf16(writer, blob.comment);
  writer.bytes(blob.unparsed);
  writer.patch_u32_le(length_at, canonical_length(length_at, writer.size()));
  if (blob.nfa) writer.bytes(encode_nfa_blob(*blob.nfa));
  return std::move(writer).take();
}

}  // namespace ward::adblob
