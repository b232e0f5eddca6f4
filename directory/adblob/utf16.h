// UTF-16LE text as the ipsecData blobs store it, and conversion to and from UTF-8 for the model.
// Blob structs keep the code units exactly as found (including a terminating NUL), so that
// re-encoding gives the same bytes; conversion happens only when mapping to the model.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "common/expected.h"

namespace ward::adblob {

// `byte_length` bytes of UTF-16LE; an odd length is an error naming `field`.
Expected<std::u16string, ParseError> read_utf16(ByteReader& reader, std::size_t byte_length, std::string_view field);
// A u32 LE byte length, then that many bytes of UTF-16LE.
Expected<std::u16string, ParseError> read_counted_utf16(ByteReader& reader, std::string_view length_field,
                                                        std::string_view text_field);
void write_utf16(ByteWriter& writer, std::u16string_view text);
void write_counted_utf16(ByteWriter& writer, std::u16string_view text);

// UTF-8 -> UTF-16 plus one terminating NUL, as Windows writes names and keys. nullopt: bad UTF-8.
std::optional<std::u16string> to_windows_text(std::string_view utf8);
// UTF-16 -> UTF-8 without the terminating NUL(s). nullopt: unpaired surrogate or embedded NUL.
std::optional<std::string> from_windows_text(std::u16string_view utf16);

}  // namespace ward::adblob
