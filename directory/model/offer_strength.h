// How strong an offer (a key exchange method or a filter action's security method) is, and why a
// weak one is not used. Windows policies offer DES, DH group 1, 3DES, MD5 and group 2; Ward
// applies them as Windows does, skipping what it will not use with a warning instead of refusing
// the policy:
//
//   broken  DES (main mode and ESP) and DH group 1: never used, whatever the policy says;
//   legacy  3DES, HMAC-MD5 (main mode PRF, ESP and AH) and DH group 2: used only where legacy
//           algorithms are allowed (the policy's allow_legacy_algorithms, and the host's
//           `[ike] legacy_algorithms` in ward.conf, agent/config).
//
// The texts are shared by validation (warnings), the agent (what it leaves out, logged once per
// policy apply) and the tools, so an administrator reads the same sentence everywhere:
// "key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "directory/model/policy.h"

namespace ward::model {

enum class Strength : std::uint8_t { Acceptable, Legacy, Broken };

Strength strength_of(Cipher cipher) noexcept;
Strength strength_of(Integrity integrity) noexcept;
Strength strength_of(DhGroup group) noexcept;

// Display names: "3DES", "AES-128-CBC", "SHA-1", "MD5", "group 2", "ECP-256".
std::string display_name(Cipher cipher);
std::string display_name(Integrity integrity);
std::string display_name(DhGroup group);

// "DES/SHA-1/group 1"; "ESP 3DES/SHA-1", "AH MD5", "AH SHA-1 + ESP 3DES/SHA-1".
std::string describe(const KeyExchangeMethod& method);
std::string describe(const SecurityMethod& method);

// Why the offer is not used ("DES is broken", "3DES is legacy and legacy algorithms are not
// allowed"); nothing when it may be used. The first reason found: broken before legacy.
std::optional<std::string> weak_offer_reason(const KeyExchangeMethod& method, bool allow_legacy);
std::optional<std::string> weak_offer_reason(const SecurityMethod& method, bool allow_legacy);

// "key exchange method 3 (DES/SHA-1/group 1)", "security method 2 (ESP 3DES/MD5)" (1-based).
std::string offer_text(const KeyExchangeMethod& method, std::size_t index);
std::string offer_text(const SecurityMethod& method, std::size_t index);
// "<offer> skipped: <reason>".
std::string skipped_text(const std::string& offer, const std::string& reason);

}  // namespace ward::model
