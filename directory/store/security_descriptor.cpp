#include "directory/store/security_descriptor.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "common/byte_reader.h"
#include "common/byte_writer.h"

namespace ward::store {

namespace {

constexpr std::size_t kHeaderSize = 20;    // revision, sbz1, control, four offsets
constexpr std::size_t kAclHeaderSize = 8;  // revision, sbz1, size, count, sbz2
constexpr std::size_t kAceHeaderSize = 4;  // type, flags, size
constexpr std::uint8_t kSdRevision = 1;
constexpr std::uint16_t kSelfRelative = 0x8000;
constexpr std::uint16_t kDaclPresent = 0x0004;
constexpr std::size_t kMaxSubAuthorities = 15;

#define SD_READ(target, expr)                                              \
  do {                                                                     \
    auto sd_result_ = (expr);                                              \
    if (!sd_result_) return ::ward::unexpected(std::move(sd_result_).error()); \
    (target) = std::move(sd_result_).value();                              \
  } while (0)

Expected<Sid, ParseError> read_sid(ByteReader& reader) {
  Sid sid;
  std::uint8_t count = 0;
  SD_READ(sid.revision, reader.u8("SID revision"));
  SD_READ(count, reader.u8("SID sub-authority count"));
  if (count > kMaxSubAuthorities) {
    return unexpected(reader.error("SID sub-authority count", std::to_string(count) + " > 15"));
  }
  std::span<const std::byte> authority;
  SD_READ(authority, reader.bytes(6, "SID identifier authority"));
  for (const auto b : authority) sid.authority = (sid.authority << 8) | std::to_integer<std::uint64_t>(b);
  for (std::uint8_t i = 0; i < count; ++i) {
    std::uint32_t sub = 0;
    SD_READ(sub, reader.u32_le("SID sub-authority"));
    sid.sub_authorities.push_back(sub);
  }
  return sid;
}

// The bytes at [offset, end of input) for an owner/group/SACL part; its length is found by parsing.
Expected<std::vector<std::byte>, ParseError> raw_sid_at(std::span<const std::byte> bytes, std::uint32_t offset) {
  if (offset == 0) return std::vector<std::byte>{};
  if (offset < kHeaderSize || offset >= bytes.size()) {
    ByteReader reader(bytes, "security descriptor");
    return unexpected(reader.error("SID offset", std::to_string(offset) + " outside 20.." + std::to_string(bytes.size())));
  }
  ByteReader reader(bytes.subspan(offset), "SID", offset);
  const auto start = reader.remaining();
  Sid ignored;
  SD_READ(ignored, read_sid(reader));
  const auto length = start - reader.remaining();
  return std::vector<std::byte>(bytes.begin() + offset, bytes.begin() + offset + static_cast<std::ptrdiff_t>(length));
}

Expected<std::span<const std::byte>, ParseError> acl_at(std::span<const std::byte> bytes, std::uint32_t offset,
                                                        std::string_view which) {
  if (offset < kHeaderSize || offset + kAclHeaderSize > bytes.size()) {
    ByteReader reader(bytes, "security descriptor");
    return unexpected(reader.error(which, "offset " + std::to_string(offset) + " outside the descriptor"));
  }
  ByteReader reader(bytes.subspan(offset), "ACL", offset);
  std::uint16_t size = 0;
  SD_READ(std::ignore, reader.u16_le("ACL revision"));
  SD_READ(size, reader.u16_le("ACL size"));
  if (size < kAclHeaderSize || offset + size > bytes.size()) {
    return unexpected(reader.error("ACL size", std::to_string(size) + " does not fit at " + std::to_string(offset)));
  }
  return bytes.subspan(offset, size);
}

Expected<Dacl, ParseError> read_acl(std::span<const std::byte> acl, std::size_t base) {
  ByteReader reader(acl, "ACL", base);
  Dacl out;
  std::uint16_t count = 0;
  SD_READ(out.revision, reader.u8("ACL revision"));
  SD_READ(std::ignore, reader.u8("ACL sbz1"));
  SD_READ(std::ignore, reader.u16_le("ACL size"));
  SD_READ(count, reader.u16_le("ACE count"));
  SD_READ(std::ignore, reader.u16_le("ACL sbz2"));
  for (std::uint16_t i = 0; i < count; ++i) {
    Ace entry;
    std::uint16_t size = 0;
    SD_READ(entry.type, reader.u8("ACE type"));
    SD_READ(entry.flags, reader.u8("ACE flags"));
    SD_READ(size, reader.u16_le("ACE size"));
    if (size < kAceHeaderSize) return unexpected(reader.error("ACE size", std::to_string(size) + " < 4"));
    std::span<const std::byte> body;
    SD_READ(body, reader.bytes(size - kAceHeaderSize, "ACE body"));
    entry.body.assign(body.begin(), body.end());
    out.aces.push_back(std::move(entry));
  }
  return out;
}

void write_acl(ByteWriter& writer, const Dacl& dacl) {
  std::size_t size = kAclHeaderSize;
  for (const auto& entry : dacl.aces) size += kAceHeaderSize + entry.body.size();
  writer.u8(dacl.revision);
  writer.u8(0);
  writer.u16_le(static_cast<std::uint16_t>(size));
  writer.u16_le(static_cast<std::uint16_t>(dacl.aces.size()));
  writer.u16_le(0);
  for (const auto& entry : dacl.aces) {
    writer.u8(entry.type);
    writer.u8(entry.flags);
    writer.u16_le(static_cast<std::uint16_t>(kAceHeaderSize + entry.body.size()));
    writer.bytes(entry.body);
  }
}

}  // namespace

std::string sd_flags_dacl_only() { return std::string("\x30\x03\x02\x01\x04", 5); }

std::optional<Sid> Sid::parse(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'S' && text[0] != 's') || text[1] != '-') return std::nullopt;
  std::vector<std::uint64_t> numbers;
  std::size_t at = 2;
  while (at <= text.size()) {
    std::size_t end = text.find('-', at);
    if (end == std::string_view::npos) end = text.size();
    std::uint64_t value = 0;
    const auto [stop, ec] = std::from_chars(text.data() + at, text.data() + end, value);
    if (ec != std::errc() || stop != text.data() + end) return std::nullopt;
    numbers.push_back(value);
    at = end + 1;
  }
  if (numbers.size() < 2 || numbers[0] > 0xFF || numbers[1] > 0xFFFFFFFFFFFFULL || numbers.size() - 2 > kMaxSubAuthorities) {
    return std::nullopt;
  }
  Sid sid;
  sid.revision = static_cast<std::uint8_t>(numbers[0]);
  sid.authority = numbers[1];
  for (std::size_t i = 2; i < numbers.size(); ++i) {
    if (numbers[i] > 0xFFFFFFFFULL) return std::nullopt;
    sid.sub_authorities.push_back(static_cast<std::uint32_t>(numbers[i]));
  }
  return sid;
}

std::string Sid::to_string() const {
  std::string out = "S-" + std::to_string(revision) + "-" + std::to_string(authority);
  for (const auto sub : sub_authorities) out += "-" + std::to_string(sub);
  return out;
}

std::vector<std::byte> Sid::encode() const {
  ByteWriter writer;
  writer.u8(revision);
  writer.u8(static_cast<std::uint8_t>(sub_authorities.size()));
  for (int shift = 40; shift >= 0; shift -= 8) writer.u8(static_cast<std::uint8_t>((authority >> shift) & 0xFF));
  for (const auto sub : sub_authorities) writer.u32_le(sub);
  return std::move(writer).take();
}

Expected<Sid, ParseError> decode_sid(std::span<const std::byte> bytes) {
  ByteReader reader(bytes, "SID");
  Sid sid;
  SD_READ(sid, read_sid(reader));
  if (!reader.empty()) return unexpected(reader.error("SID", std::to_string(reader.remaining()) + " bytes after the SID"));
  return sid;
}

std::optional<std::uint32_t> Ace::allowed_mask() const {
  if (type != ace::kAccessAllowed || body.size() < 4) return std::nullopt;
  ByteReader reader(body, "ACE");
  auto mask = reader.u32_le("mask");
  if (!mask) return std::nullopt;
  return *mask;
}

std::optional<Sid> Ace::allowed_sid() const {
  if (type != ace::kAccessAllowed || body.size() < 4) return std::nullopt;
  auto sid = decode_sid(std::span<const std::byte>(body).subspan(4));
  if (!sid) return std::nullopt;
  return *sid;
}

Ace Ace::allowed(std::uint32_t mask, const Sid& sid, std::uint8_t flags) {
  ByteWriter writer;
  writer.u32_le(mask);
  writer.bytes(sid.encode());
  return Ace{ace::kAccessAllowed, flags, std::move(writer).take()};
}

Expected<SecurityDescriptor, ParseError> decode_security_descriptor(std::span<const std::byte> bytes) noexcept {
  ByteReader reader(bytes, "security descriptor");
  SecurityDescriptor sd;
  std::uint8_t revision = 0;
  std::uint32_t owner = 0, group = 0, sacl = 0, dacl = 0;
  SD_READ(revision, reader.u8("revision"));
  if (revision != kSdRevision) return unexpected(reader.error("revision", std::to_string(revision) + ", expected 1"));
  SD_READ(std::ignore, reader.u8("sbz1"));
  SD_READ(sd.control, reader.u16_le("control"));
  if ((sd.control & kSelfRelative) == 0) return unexpected(reader.error("control", "not self-relative"));
  SD_READ(owner, reader.u32_le("owner offset"));
  SD_READ(group, reader.u32_le("group offset"));
  SD_READ(sacl, reader.u32_le("SACL offset"));
  SD_READ(dacl, reader.u32_le("DACL offset"));
  SD_READ(sd.owner, raw_sid_at(bytes, owner));
  SD_READ(sd.group, raw_sid_at(bytes, group));
  if (sacl != 0) {
    std::span<const std::byte> raw;
    SD_READ(raw, acl_at(bytes, sacl, "SACL offset"));
    sd.sacl.assign(raw.begin(), raw.end());
  }
  if (dacl != 0 && (sd.control & kDaclPresent) != 0) {
    std::span<const std::byte> raw;
    SD_READ(raw, acl_at(bytes, dacl, "DACL offset"));
    Dacl parsed;
    SD_READ(parsed, read_acl(raw, dacl));
    sd.dacl = std::move(parsed);
  }
  return sd;
}

std::vector<std::byte> encode_security_descriptor(const SecurityDescriptor& sd) {
  ByteWriter writer;
  writer.u8(kSdRevision);
  writer.u8(0);
  writer.u16_le(static_cast<std::uint16_t>(sd.control | kSelfRelative | (sd.dacl ? kDaclPresent : 0)));
  const std::size_t offsets = writer.size();
  writer.zeros(16);
  std::uint32_t owner = 0, group = 0, sacl = 0, dacl = 0;
  if (!sd.sacl.empty()) {
    sacl = static_cast<std::uint32_t>(writer.size());
    writer.bytes(sd.sacl);
  }
  if (sd.dacl) {
    dacl = static_cast<std::uint32_t>(writer.size());
    write_acl(writer, *sd.dacl);
  }
  if (!sd.owner.empty()) {
    owner = static_cast<std::uint32_t>(writer.size());
    writer.bytes(sd.owner);
  }
  if (!sd.group.empty()) {
    group = static_cast<std::uint32_t>(writer.size());
    writer.bytes(sd.group);
  }
  writer.patch_u32_le(offsets, owner);
  writer.patch_u32_le(offsets + 4, group);
  writer.patch_u32_le(offsets + 8, sacl);
  writer.patch_u32_le(offsets + 12, dacl);
  return std::move(writer).take();
}

bool grant(Dacl& dacl, std::uint32_t mask, const Sid& sid, std::uint8_t flags) {
  std::size_t first_inherited = dacl.aces.size();
  for (std::size_t i = 0; i < dacl.aces.size(); ++i) {
    const Ace& entry = dacl.aces[i];
    if ((entry.flags & ace::kInherited) != 0) {
      first_inherited = std::min(first_inherited, i);
      continue;
    }
    const auto granted = entry.allowed_mask();
    if (granted && (*granted & mask) == mask && entry.flags == flags && entry.allowed_sid() == sid) return false;
  }
  dacl.aces.insert(dacl.aces.begin() + static_cast<std::ptrdiff_t>(first_inherited), Ace::allowed(mask, sid, flags));
  return true;
}

}  // namespace ward::store
