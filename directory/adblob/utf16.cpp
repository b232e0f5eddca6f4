#include "directory/adblob/utf16.h"

namespace ward::adblob {

Expected<std::u16string, ParseError> read_utf16(ByteReader& reader, std::size_t byte_length, std::string_view field) {
  if (byte_length % 2 != 0) {
    return unexpected(reader.error(field, "UTF-16LE text has an odd byte length " + std::to_string(byte_length)));
  }
  auto raw = reader.bytes(byte_length, field);
  if (!raw) return unexpected(std::move(raw).error());
  std::u16string text;
  text.reserve(byte_length / 2);
  for (std::size_t i = 0; i < byte_length; i += 2) {
    text.push_back(static_cast<char16_t>(std::to_integer<unsigned>((*raw)[i]) |
                                         (std::to_integer<unsigned>((*raw)[i + 1]) << 8)));
  }
  return text;
}

Expected<std::u16string, ParseError> read_counted_utf16(ByteReader& reader, std::string_view length_field,
                                                        std::string_view text_field) {
  auto length = reader.u32_le(length_field);
  if (!length) return unexpected(std::move(length).error());
  return read_utf16(reader, *length, text_field);
}

void write_utf16(ByteWriter& writer, std::u16string_view text) {
  for (const char16_t unit : text) writer.u16_le(static_cast<std::uint16_t>(unit));
}

void write_counted_utf16(ByteWriter& writer, std::u16string_view text) {
  writer.u32_le(static_cast<std::uint32_t>(text.size() * 2));
  write_utf16(writer, text);
}

std::optional<std::u16string> to_windows_text(std::string_view utf8) {
  std::u16string out;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::size_t extra = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + extra >= utf8.size()) return std::nullopt;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      if ((next & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += extra + 1;
  }
  out.push_back(u'\0');
  return out;
}

std::optional<std::string> from_windows_text(std::u16string_view utf16) {
  while (!utf16.empty() && utf16.back() == u'\0') utf16.remove_suffix(1);
  std::string out;
  for (std::size_t i = 0; i < utf16.size(); ++i) {
    char32_t cp = utf16[i];
    if (cp == 0) return std::nullopt;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 1 >= utf16.size() || utf16[i + 1] < 0xDC00 || utf16[i + 1] > 0xDFFF) return std::nullopt;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (utf16[++i] - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return std::nullopt;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

}  // namespace ward::adblob
