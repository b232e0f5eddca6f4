// Active Directory's nTSecurityDescriptor, as far as Ward edits it: the DACL of a self-relative
// SECURITY_DESCRIPTOR ([MS-DTYP] 2.4.6) read with the SD flags control asking for the DACL only
// (the owner, group and SACL are then absent and the server leaves them alone on write).
// Every ACE is kept byte for byte; only plain ACCESS_ALLOWED ACEs are interpreted, to tell
// whether a grant is already there.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"

namespace ward::store {

// LDAP_SERVER_SD_FLAGS_OID and its value asking for (and writing) the DACL only.
inline constexpr const char* kSdFlagsControlOid = "1.2.840.113556.1.4.801";
std::string sd_flags_dacl_only();  // BER: SEQUENCE { INTEGER 4 }

// A SID, e.g. S-1-5-11 (Authenticated Users).
struct Sid {
  std::uint8_t revision = 1;
  std::uint64_t authority = 0;              // 48 bits
  std::vector<std::uint32_t> sub_authorities;

  static std::optional<Sid> parse(std::string_view text);  // "S-1-5-11"
  std::string to_string() const;
  std::vector<std::byte> encode() const;
  friend bool operator==(const Sid&, const Sid&) = default;
};
Expected<Sid, ParseError> decode_sid(std::span<const std::byte> bytes);  // whole input is the SID

namespace ace {
inline constexpr std::uint8_t kAccessAllowed = 0x00;
inline constexpr std::uint8_t kContainerInherit = 0x02;
inline constexpr std::uint8_t kInherited = 0x10;
// Directory service rights: read property, list children, list object, read control.
inline constexpr std::uint32_t kReadProperty = 0x10;
inline constexpr std::uint32_t kListChildren = 0x04;
inline constexpr std::uint32_t kListObject = 0x80;
inline constexpr std::uint32_t kReadControl = 0x20000;
inline constexpr std::uint32_t kGenericReadDs = kReadProperty | kListChildren | kListObject | kReadControl;
}  // namespace ace

struct Ace {
  std::uint8_t type = ace::kAccessAllowed;
  std::uint8_t flags = 0;
  std::vector<std::byte> body;  // after the 4-byte header, as found

  // ACCESS_ALLOWED only: the mask and the trustee.
  std::optional<std::uint32_t> allowed_mask() const;
  std::optional<Sid> allowed_sid() const;
  static Ace allowed(std::uint32_t mask, const Sid& sid, std::uint8_t flags);
  friend bool operator==(const Ace&, const Ace&) = default;
};

struct Dacl {
  std::uint8_t revision = 2;
  std::vector<Ace> aces;
  friend bool operator==(const Dacl&, const Dacl&) = default;
};

struct SecurityDescriptor {
  std::uint16_t control = 0;  // SE_* flags as found
  std::optional<Dacl> dacl;   // absent: the descriptor carries no DACL
  // Owner, group and SACL bytes are not interpreted; a descriptor that has them is re-encoded
  // with them (kept raw).
  std::vector<std::byte> owner;
  std::vector<std::byte> group;
  std::vector<std::byte> sacl;
  friend bool operator==(const SecurityDescriptor&, const SecurityDescriptor&) = default;
};

Expected<SecurityDescriptor, ParseError> decode_security_descriptor(std::span<const std::byte> bytes) noexcept;
std::vector<std::byte> encode_security_descriptor(const SecurityDescriptor& sd);

// Adds an ACCESS_ALLOWED ACE (mask, sid, flags) after the explicit ACEs (canonical order: before
// the inherited ones). Returns false, changing nothing, when an explicit allow ACE for `sid`
// with those flags already grants at least `mask`.
bool grant(Dacl& dacl, std::uint32_t mask, const Sid& sid, std::uint8_t flags);

}  // namespace ward::store
