#include "directory/security/security_descriptor.h"

#include <charconv>
#include <cstdio>

#include "common/byte_reader.h"

namespace ward::security {
namespace {

constexpr std::size_t kMaxSubAuthorities = 15;  // SID_MAX_SUB_AUTHORITIES
constexpr std::size_t kSecurityDescriptorHeader = 20;
constexpr std::size_t kAclHeader = 8;
constexpr std::size_t kAceHeader = 4;
constexpr std::uint32_t kObjectTypePresent = 0x1;
constexpr std::uint32_t kInheritedObjectTypePresent = 0x2;

Expected<Sid, ParseError> read_sid(ByteReader& in) {
  Sid sid;
  auto revision = in.u8("SID revision");
  if (!revision) return unexpected(revision.error());
  if (*revision != 1) return unexpected(in.error("SID revision", "revision " + std::to_string(*revision) + ", expected 1"));
  sid.revision = *revision;
  auto count = in.u8("SID sub-authority count");
  if (!count) return unexpected(count.error());
  if (*count > kMaxSubAuthorities) {
    return unexpected(in.error("SID sub-authority count", std::to_string(*count) + " sub-authorities, at most 15"));
  }
  auto authority = in.bytes(6, "SID identifier authority");
  if (!authority) return unexpected(authority.error());
  for (std::byte b : *authority) sid.authority = (sid.authority << 8) | std::to_integer<std::uint64_t>(b);
  for (std::uint8_t i = 0; i < *count; ++i) {
    auto sub = in.u32_le("SID sub-authority");
    if (!sub) return unexpected(sub.error());
    sid.sub_authorities.push_back(*sub);
  }
  return sid;
}

Expected<Guid, ParseError> read_guid(ByteReader& in, std::string_view field) {
  auto raw = in.bytes(16, field);
  if (!raw) return unexpected(raw.error());
  Guid guid;
  for (std::size_t i = 0; i < 16; ++i) guid.bytes[i] = std::to_integer<std::uint8_t>((*raw)[i]);
  return guid;
}

// One ACE; `in` covers exactly its AceSize bytes.
Expected<Ace, ParseError> read_ace(ByteReader& in, std::uint8_t type, std::uint8_t flags) {
  Ace ace;
  ace.type = type;
  ace.flags = flags;
  switch (type) {
    case ace_type::kAccessAllowed:
    case ace_type::kAccessDenied:
    case ace_type::kAccessAllowedCallback:
    case ace_type::kAccessDeniedCallback: {
      auto mask = in.u32_le("ACE access mask");
      if (!mask) return unexpected(mask.error());
      ace.mask = *mask;
      auto sid = read_sid(in);
      if (!sid) return unexpected(sid.error());
      ace.sid = std::move(*sid);
      return ace;  // callback ACEs: application data follows and is not read
    }
    case ace_type::kAccessAllowedObject:
    case ace_type::kAccessDeniedObject:
    case ace_type::kAccessAllowedCallbackObject:
    case ace_type::kAccessDeniedCallbackObject: {
      auto mask = in.u32_le("ACE access mask");
      if (!mask) return unexpected(mask.error());
      ace.mask = *mask;
      auto object_flags = in.u32_le("object ACE flags");
      if (!object_flags) return unexpected(object_flags.error());
      if ((*object_flags & kObjectTypePresent) != 0) {
        auto guid = read_guid(in, "object ACE object type");
        if (!guid) return unexpected(guid.error());
        ace.object_type = *guid;
      }
      if ((*object_flags & kInheritedObjectTypePresent) != 0) {
        auto guid = read_guid(in, "object ACE inherited object type");
        if (!guid) return unexpected(guid.error());
        ace.inherited_object_type = *guid;
      }
      auto sid = read_sid(in);
      if (!sid) return unexpected(sid.error());
      ace.sid = std::move(*sid);
      return ace;
    }
    default:
      ace.understood = false;
      return ace;
  }
}

Expected<std::vector<Ace>, ParseError> read_acl(std::span<const std::byte> all, std::uint32_t offset) {
  if (offset > all.size()) {
    ByteReader whole(all, "security descriptor");
    return unexpected(whole.error("DACL offset", "offset " + std::to_string(offset) + " is past the end (" +
                                                     std::to_string(all.size()) + " bytes)"));
  }
  ByteReader in(all.subspan(offset), "security descriptor", offset);
  auto revision = in.u8("ACL revision");
  if (!revision) return unexpected(revision.error());
  if (*revision != 2 && *revision != 4) {
    return unexpected(in.error("ACL revision", "revision " + std::to_string(*revision) + ", expected 2 or 4"));
  }
  if (auto pad = in.skip(1, "ACL Sbz1"); !pad) return unexpected(pad.error());
  auto size = in.u16_le("ACL size");
  if (!size) return unexpected(size.error());
  auto count = in.u16_le("ACE count");
  if (!count) return unexpected(count.error());
  if (auto pad = in.skip(2, "ACL Sbz2"); !pad) return unexpected(pad.error());
  if (*size < kAclHeader) return unexpected(in.error("ACL size", "size " + std::to_string(*size) + " < 8"));
  auto body = in.sub_reader(*size - kAclHeader, "ACL body");
  if (!body) return unexpected(body.error());
  std::vector<Ace> aces;
  aces.reserve(std::min<std::size_t>(*count, body->remaining() / kAceHeader));
  for (std::uint16_t i = 0; i < *count; ++i) {
    auto type = body->u8("ACE type");
    if (!type) return unexpected(type.error());
    auto flags = body->u8("ACE flags");
    if (!flags) return unexpected(flags.error());
    auto ace_size = body->u16_le("ACE size");
    if (!ace_size) return unexpected(ace_size.error());
    if (*ace_size < kAceHeader) return unexpected(body->error("ACE size", "size " + std::to_string(*ace_size) + " < 4"));
    auto ace_body = body->sub_reader(*ace_size - kAceHeader, "ACE body");
    if (!ace_body) return unexpected(ace_body.error());
    auto ace = read_ace(*ace_body, *type, *flags);
    if (!ace) return unexpected(ace.error());
    aces.push_back(std::move(*ace));
  }
  return aces;
}

Expected<std::optional<Sid>, ParseError> sid_at(std::span<const std::byte> all, std::uint32_t offset, std::string_view what) {
  if (offset == 0) return std::optional<Sid>{};
  if (offset > all.size()) {
    ByteReader whole(all, "security descriptor");
    return unexpected(whole.error(what, "offset " + std::to_string(offset) + " is past the end (" +
                                            std::to_string(all.size()) + " bytes)"));
  }
  ByteReader in(all.subspan(offset), "security descriptor", offset);
  auto sid = read_sid(in);
  if (!sid) return unexpected(sid.error());
  return std::optional<Sid>(std::move(*sid));
}

}  // namespace

std::string Sid::to_string() const {
  std::string out = "S-" + std::to_string(revision) + "-";
  if (authority < (1ull << 32)) {
    out += std::to_string(authority);
  } else {
    char hex[20];
    std::snprintf(hex, sizeof hex, "0x%012llx", static_cast<unsigned long long>(authority));
    out += hex;
  }
  for (auto sub : sub_authorities) out += "-" + std::to_string(sub);
  return out;
}

std::optional<Sid> Sid::from_string(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'S' && text[0] != 's') || text[1] != '-') return std::nullopt;
  text.remove_prefix(2);
  std::vector<std::uint64_t> numbers;
  while (true) {
    const auto dash = text.find('-');
    const auto part = text.substr(0, dash);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || end != part.data() + part.size() || part.empty()) return std::nullopt;
    numbers.push_back(value);
    if (dash == std::string_view::npos) break;
    text.remove_prefix(dash + 1);
  }
  if (numbers.size() < 2 || numbers.size() > 2 + kMaxSubAuthorities || numbers[0] != 1 || numbers[1] >= (1ull << 48)) {
    return std::nullopt;
  }
  Sid sid;
  sid.revision = 1;
  sid.authority = numbers[1];
  for (std::size_t i = 2; i < numbers.size(); ++i) {
    if (numbers[i] > 0xffffffffull) return std::nullopt;
    sid.sub_authorities.push_back(static_cast<std::uint32_t>(numbers[i]));
  }
  return sid;
}

Expected<Sid, ParseError> parse_sid(std::span<const std::byte> bytes) {
  ByteReader in(bytes, "SID");
  auto sid = read_sid(in);
  if (!sid) return unexpected(sid.error());
  if (!in.empty()) return unexpected(in.error("SID", std::to_string(in.remaining()) + " bytes after the SID"));
  return sid;
}

std::string Guid::to_string() const {
  const auto& b = bytes;
  char text[40];
  std::snprintf(text, sizeof text, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
                b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

std::optional<Guid> Guid::from_string(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') return std::nullopt;
  std::array<std::uint8_t, 16> in_order{};  // as written
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    if (text[i] == '-') --i;
    else {
      std::uint8_t value = 0;
      const auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
      if (ec != std::errc{} || end != text.data() + i + 2 || n >= 16) return std::nullopt;
      in_order[n++] = value;
    }
  }
  if (n != 16) return std::nullopt;
  Guid guid;
  const std::array<std::size_t, 16> layout{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (std::size_t i = 0; i < 16; ++i) guid.bytes[i] = in_order[layout[i]];
  return guid;
}

bool Ace::is_deny() const noexcept {
  return type == ace_type::kAccessDenied || type == ace_type::kAccessDeniedObject ||
         type == ace_type::kAccessDeniedCallback || type == ace_type::kAccessDeniedCallbackObject;
}

bool Ace::is_object() const noexcept {
  return type == ace_type::kAccessAllowedObject || type == ace_type::kAccessDeniedObject ||
         type == ace_type::kAccessAllowedCallbackObject || type == ace_type::kAccessDeniedCallbackObject;
}

Expected<SecurityDescriptor, ParseError> parse_security_descriptor(std::span<const std::byte> bytes) {
  ByteReader in(bytes, "security descriptor");
  auto revision = in.u8("revision");
  if (!revision) return unexpected(revision.error());
  if (*revision != 1) return unexpected(in.error("revision", "revision " + std::to_string(*revision) + ", expected 1"));
  if (auto pad = in.skip(1, "Sbz1"); !pad) return unexpected(pad.error());
  auto control = in.u16_le("control");
  if (!control) return unexpected(control.error());
  if ((*control & kControlSelfRelative) == 0) {
    return unexpected(in.error("control", "not a self-relative security descriptor (SE_SELF_RELATIVE clear)"));
  }
  std::array<std::uint32_t, 4> offsets{};  // owner, group, SACL, DACL
  constexpr std::array<std::string_view, 4> kOffsetNames{"owner offset", "group offset", "SACL offset", "DACL offset"};
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    auto offset = in.u32_le(kOffsetNames[i]);
    if (!offset) return unexpected(offset.error());
    offsets[i] = *offset;
  }
  static_assert(kSecurityDescriptorHeader == 20);
  const auto* owner_offset = &offsets[0];
  const auto* group_offset = &offsets[1];
  const auto* dacl_offset = &offsets[3];

  SecurityDescriptor sd;
  sd.control = *control;
  auto owner = sid_at(bytes, *owner_offset, "owner offset");
  if (!owner) return unexpected(owner.error());
  sd.owner = std::move(*owner);
  auto group = sid_at(bytes, *group_offset, "group offset");
  if (!group) return unexpected(group.error());
  sd.group = std::move(*group);
  sd.dacl_present = (*control & kControlDaclPresent) != 0 && *dacl_offset != 0;
  if (sd.dacl_present) {
    auto dacl = read_acl(bytes, *dacl_offset);
    if (!dacl) return unexpected(dacl.error());
    sd.dacl = std::move(*dacl);
  }
  return sd;
}

}  // namespace ward::security
