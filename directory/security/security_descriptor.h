// Windows security descriptors as Active Directory stores them (nTSecurityDescriptor, objectSid,
// tokenGroups): SIDs, GUIDs, ACEs and the self-relative security descriptor of [MS-DTYP] 2.4.
// Only the parts an access check needs are kept: the DACL with its allow and deny ACEs (plain,
// object and callback kinds); the SACL is not read.
//
// Why not a library: Debian's Samba ships an NDR parser for these (libndr-standard), but it needs
// talloc and Samba's private headers of one exact version, and the access check behind it
// (se_access_check) is in a private Samba library. The format is small; this parser reads it
// through ByteReader, names field and offset on every error, and has a fuzz target
// (security_descriptor_fuzz).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"

namespace ward::security {

// S-R-A-S1-S2-... ([MS-DTYP] 2.4.2).
struct Sid {
  std::uint8_t revision = 1;
  std::uint64_t authority = 0;  // 48 bits
  std::vector<std::uint32_t> sub_authorities;

  std::string to_string() const;                        // "S-1-5-21-1-2-3-1105"
  static std::optional<Sid> from_string(std::string_view text);
  friend auto operator<=>(const Sid&, const Sid&) = default;
};

// The binary form of one SID value (objectSid, a tokenGroups value, inside ACEs).
Expected<Sid, ParseError> parse_sid(std::span<const std::byte> bytes);

// A GUID in Windows' binary layout (Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, 8 bytes).
struct Guid {
  std::array<std::uint8_t, 16> bytes{};
  std::string to_string() const;  // "edacfd8f-ffb3-11d1-b41d-00a0c968f939", lower case
  static std::optional<Guid> from_string(std::string_view text);
  friend auto operator<=>(const Guid&, const Guid&) = default;
};

namespace ace_type {
inline constexpr std::uint8_t kAccessAllowed = 0x00;
inline constexpr std::uint8_t kAccessDenied = 0x01;
inline constexpr std::uint8_t kAccessAllowedObject = 0x05;
inline constexpr std::uint8_t kAccessDeniedObject = 0x06;
inline constexpr std::uint8_t kAccessAllowedCallback = 0x09;
inline constexpr std::uint8_t kAccessDeniedCallback = 0x0A;
inline constexpr std::uint8_t kAccessAllowedCallbackObject = 0x0B;
inline constexpr std::uint8_t kAccessDeniedCallbackObject = 0x0C;
}  // namespace ace_type

namespace ace_flag {
inline constexpr std::uint8_t kInheritOnly = 0x08;
inline constexpr std::uint8_t kInherited = 0x10;
}  // namespace ace_flag

struct Ace {
  std::uint8_t type = ace_type::kAccessAllowed;
  std::uint8_t flags = 0;
  std::uint32_t mask = 0;
  std::optional<Guid> object_type;            // object ACEs with ACE_OBJECT_TYPE_PRESENT
  std::optional<Guid> inherited_object_type;  // object ACEs with ACE_INHERITED_OBJECT_TYPE_PRESENT
  Sid sid;
  // Types an access check does not know (audit, alarm, mandatory label, ...): kept, never used.
  bool understood = true;

  bool is_deny() const noexcept;
  bool is_object() const noexcept;
  friend bool operator==(const Ace&, const Ace&) = default;
};

struct SecurityDescriptor {
  std::uint16_t control = 0;
  std::optional<Sid> owner;
  std::optional<Sid> group;
  // SE_DACL_PRESENT clear means "no DACL": everyone has every right ([MS-DTYP] 2.4.6).
  bool dacl_present = false;
  std::vector<Ace> dacl;
};

inline constexpr std::uint16_t kControlDaclPresent = 0x0004;
inline constexpr std::uint16_t kControlSelfRelative = 0x8000;

// The self-relative form AD returns for nTSecurityDescriptor. Errors name the field and offset.
Expected<SecurityDescriptor, ParseError> parse_security_descriptor(std::span<const std::byte> bytes);

}  // namespace ward::security
