// ipsecData of the "Version Information Object", an ipsecNFA object Windows creates in the IP
// Security container (not part of the spec). Found in the Windows default objects: a header whose
// GUID is the object's own ipsecID, 80 bytes of version data, then an ordinary NFA blob.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/parse_error.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/model/guid.h"

namespace ward::adblob {

struct VersionBlob {
  model::Guid id;                    // equals the object's ipsecID
  std::uint32_t version = 0;         // 0x00010000 in the Windows defaults
  std::uint32_t timestamp = 0;       // seconds since 1970 (0x36A666A6 = January 1999)
  std::u16string product;            // "Windows 2000"
  std::u16string author;             // "Administrator"
  std::u16string comment;            // "\r\n"
  std::vector<std::byte> unparsed;   // inside Data-Length, after the strings
  std::optional<NfaBlob> nfa;        // the ordinary NFA blob after the version data

  friend bool operator==(const VersionBlob&, const VersionBlob&) = default;
};

Expected<VersionBlob, ParseError> decode_version_blob(std::span<const std::byte> data) noexcept;
std::vector<std::byte> encode_version_blob(const VersionBlob& blob);

}  // namespace ward::adblob
