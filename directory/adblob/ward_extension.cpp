#include "directory/adblob/ward_extension.h"

#include <array>
#include <utility>

#include "directory/adblob/blob_framing.h"

namespace ward::adblob {

const model::Guid kWardExtensionId = known_guid("{FE2D3F0B-5A5E-4313-BCF0-233084122B0A}");

namespace {

namespace tag {
constexpr std::uint16_t kKeyExchangeMethod = 1;
constexpr std::uint16_t kSecurityMethod = 2;
constexpr std::uint16_t kQuickModePfs = 3;
constexpr std::uint16_t kAllowLegacy = 4;
}  // namespace tag

constexpr std::uint8_t kHasAh = 0x01;
constexpr std::uint8_t kHasEsp = 0x02;
constexpr std::uint16_t kKeyExchangeMethodSize = 4;
constexpr std::uint16_t kSecurityMethodSize = 12;

// Ward's stable numbers for the model's algorithms (the model's enum values may be reordered).
constexpr std::array<std::pair<model::Cipher, std::uint8_t>, 8> kCipherCodes{{
    {model::Cipher::None, 0}, {model::Cipher::Des, 1}, {model::Cipher::TripleDes, 3},
    {model::Cipher::Aes128Cbc, 12}, {model::Cipher::Aes192Cbc, 13}, {model::Cipher::Aes256Cbc, 14},
    {model::Cipher::Aes128Gcm, 20}, {model::Cipher::Aes256Gcm, 21},
}};
constexpr std::array<std::pair<model::Integrity, std::uint8_t>, 5> kIntegrityCodes{{
    {model::Integrity::None, 0}, {model::Integrity::Md5, 1}, {model::Integrity::Sha1, 2},
    {model::Integrity::Sha256, 12}, {model::Integrity::Sha384, 13},
}};
constexpr std::array<model::DhGroup, 5> kGroups{model::DhGroup::Modp768, model::DhGroup::Modp1024,
                                                model::DhGroup::Modp2048, model::DhGroup::Ecp256,
                                                model::DhGroup::Ecp384};

template <class E, std::size_t N>
std::uint8_t code_of(const std::array<std::pair<E, std::uint8_t>, N>& table, E value) {
  for (const auto& [candidate, code] : table) {
    if (candidate == value) return code;
  }
  return 0xFF;
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::uint8_t>, N>& table, std::uint8_t code) {
  for (const auto& [candidate, candidate_code] : table) {
    if (candidate_code == code) return candidate;
  }
  return std::nullopt;
}

std::optional<model::DhGroup> group_of(std::uint16_t number) {
  for (const auto group : kGroups) {
    if (static_cast<std::uint16_t>(group) == number) return group;
  }
  return std::nullopt;
}

void record(ByteWriter& writer, std::uint16_t tag, std::uint16_t length) {
  writer.u16_le(tag);
  writer.u16_le(length);
}

ParseError unknown(const ByteReader& reader, std::string_view field, unsigned code) {
  return reader.error(field, "unknown code " + std::to_string(code));
}

Expected<void, ParseError> read_record(ByteReader& value, std::uint16_t tag, WardExtension& out) {
  switch (tag) {
    case tag::kKeyExchangeMethod: {
      std::uint8_t cipher = 0, integrity = 0;
      std::uint16_t group = 0;
      ADBLOB_READ(cipher, value.u8("key exchange cipher"));
      ADBLOB_READ(integrity, value.u8("key exchange integrity"));
      ADBLOB_READ(group, value.u16_le("key exchange DH group"));
      const auto c = value_of(kCipherCodes, cipher);
      const auto i = value_of(kIntegrityCodes, integrity);
      const auto g = group_of(group);
      if (!c) return unexpected(unknown(value, "key exchange cipher", cipher));
      if (!i) return unexpected(unknown(value, "key exchange integrity", integrity));
      if (!g) return unexpected(unknown(value, "key exchange DH group", group));
      out.key_exchange_methods.push_back({*c, *i, *g});
      return {};
    }
    case tag::kSecurityMethod: {
      std::uint8_t parts = 0, ah = 0, cipher = 0, integrity = 0;
      model::SecurityMethod method;
      ADBLOB_READ(parts, value.u8("security method parts"));
      ADBLOB_READ(ah, value.u8("AH integrity"));
      ADBLOB_READ(cipher, value.u8("ESP cipher"));
      ADBLOB_READ(integrity, value.u8("ESP integrity"));
      ADBLOB_READ(method.lifetime_kilobytes, value.u32_le("lifetime kilobytes"));
      ADBLOB_READ(method.lifetime_seconds, value.u32_le("lifetime seconds"));
      if (parts & kHasAh) {
        const auto a = value_of(kIntegrityCodes, ah);
        if (!a) return unexpected(unknown(value, "AH integrity", ah));
        method.ah = model::AhTransform{*a};
      }
      if (parts & kHasEsp) {
        const auto c = value_of(kCipherCodes, cipher);
        const auto i = value_of(kIntegrityCodes, integrity);
        if (!c) return unexpected(unknown(value, "ESP cipher", cipher));
        if (!i) return unexpected(unknown(value, "ESP integrity", integrity));
        method.esp = model::EspTransform{*c, *i};
      }
      out.security_methods.push_back(method);
      return {};
    }
    case tag::kQuickModePfs:
    case tag::kAllowLegacy: {
      std::uint8_t flag = 0;
      ADBLOB_READ(flag, value.u8("flag"));
      (tag == tag::kQuickModePfs ? out.quick_mode_pfs : out.allow_legacy_algorithms) = flag != 0;
      return {};
    }
    default:
      return {};  // a later version's record: skipped
  }
}

}  // namespace

std::vector<std::byte> encode_ward_trailer(const WardExtension& extension) {
  ByteWriter writer;
  writer.u8(0);  // the blob's usual pad byte
  write_guid(writer, kWardExtensionId);
  const std::size_t length_at = writer.reserve_u32();
  writer.u32_le(kWardExtensionVersion);
  for (const auto& m : extension.key_exchange_methods) {
    record(writer, tag::kKeyExchangeMethod, kKeyExchangeMethodSize);
    writer.u8(code_of(kCipherCodes, m.cipher));
    writer.u8(code_of(kIntegrityCodes, m.integrity));
    writer.u16_le(static_cast<std::uint16_t>(m.dh_group));
  }
  for (const auto& m : extension.security_methods) {
    record(writer, tag::kSecurityMethod, kSecurityMethodSize);
    writer.u8(static_cast<std::uint8_t>((m.ah ? kHasAh : 0) | (m.esp ? kHasEsp : 0)));
    writer.u8(m.ah ? code_of(kIntegrityCodes, m.ah->integrity) : 0);
    writer.u8(m.esp ? code_of(kCipherCodes, m.esp->cipher) : 0);
    writer.u8(m.esp ? code_of(kIntegrityCodes, m.esp->integrity) : 0);
    writer.u32_le(m.lifetime_kilobytes);
    writer.u32_le(m.lifetime_seconds);
  }
  if (extension.quick_mode_pfs) {
    record(writer, tag::kQuickModePfs, 1);
    writer.u8(*extension.quick_mode_pfs ? 1 : 0);
  }
  if (extension.allow_legacy_algorithms) {
    record(writer, tag::kAllowLegacy, 1);
    writer.u8(*extension.allow_legacy_algorithms ? 1 : 0);
  }
  writer.patch_u32_le(length_at, canonical_length(length_at, writer.size()));
  return std::move(writer).take();
}

Expected<std::optional<WardExtension>, ParseError> decode_ward_trailer(std::span<const std::byte> trailer,
                                                                        std::size_t base_offset) {
  const auto at = find_marker(trailer, kWardExtensionId);
  if (!at) return std::optional<WardExtension>{};
  ByteReader reader(trailer.subspan(*at + kGuidSize), "Ward extension", base_offset + *at + kGuidSize);
  std::uint32_t length = 0;
  ADBLOB_READ(length, reader.u32_le("extension length"));
  ByteReader body = reader;
  ADBLOB_READ(body, reader.sub_reader(length, "extension body"));
  std::uint32_t version = 0;
  ADBLOB_READ(version, body.u32_le("extension version"));
  if (version != kWardExtensionVersion) {
    return unexpected(body.error("extension version", "is " + std::to_string(version) + ", this Ward reads 1"));
  }
  WardExtension out;
  while (!body.empty()) {
    std::uint16_t tag = 0, size = 0;
    ADBLOB_READ(tag, body.u16_le("record tag"));
    ADBLOB_READ(size, body.u16_le("record length"));
    ByteReader value = body;
    ADBLOB_READ(value, body.sub_reader(size, "record value"));
    auto done = read_record(value, tag, out);
    if (!done) return unexpected(done.error());
  }
  return std::optional<WardExtension>(std::move(out));
}

}  // namespace ward::adblob
