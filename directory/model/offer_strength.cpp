#include "directory/model/offer_strength.h"

namespace ward::model {

Strength strength_of(Cipher cipher) noexcept {
  switch (cipher) {
    case Cipher::Des: return Strength::Broken;
    case Cipher::TripleDes: return Strength::Legacy;
    default: return Strength::Acceptable;
  }
}

Strength strength_of(Integrity integrity) noexcept {
  return integrity == Integrity::Md5 ? Strength::Legacy : Strength::Acceptable;
}

Strength strength_of(DhGroup group) noexcept {
  switch (group) {
    case DhGroup::Modp768: return Strength::Broken;
    case DhGroup::Modp1024: return Strength::Legacy;
    default: return Strength::Acceptable;
  }
}

std::string display_name(Cipher cipher) {
  switch (cipher) {
    case Cipher::None: return "NULL";
    case Cipher::Des: return "DES";
    case Cipher::TripleDes: return "3DES";
    case Cipher::Aes128Cbc: return "AES-128-CBC";
    case Cipher::Aes192Cbc: return "AES-192-CBC";
    case Cipher::Aes256Cbc: return "AES-256-CBC";
    case Cipher::Aes128Gcm: return "AES-128-GCM";
    case Cipher::Aes256Gcm: return "AES-256-GCM";
  }
  return "?";
}

std::string display_name(Integrity integrity) {
  switch (integrity) {
    case Integrity::None: return "none";
    case Integrity::Md5: return "MD5";
    case Integrity::Sha1: return "SHA-1";
    case Integrity::Sha256: return "SHA-256";
    case Integrity::Sha384: return "SHA-384";
  }
  return "?";
}

std::string display_name(DhGroup group) {
  switch (group) {
    case DhGroup::Modp768: return "group 1";
    case DhGroup::Modp1024: return "group 2";
    case DhGroup::Modp2048: return "group 14";
    case DhGroup::Ecp256: return "group 19";
    case DhGroup::Ecp384: return "group 20";
  }
  return "group " + std::to_string(static_cast<unsigned>(group));
}

std::string describe(const KeyExchangeMethod& method) {
  return display_name(method.cipher) + "/" + display_name(method.integrity) + "/" + display_name(method.dh_group);
}

std::string describe(const SecurityMethod& method) {
  std::string text;
  if (method.ah) text = "AH " + display_name(method.ah->integrity);
  if (method.esp) {
    if (!text.empty()) text += " + ";
    text += "ESP " + display_name(method.esp->cipher) + "/" + display_name(method.esp->integrity);
  }
  return text.empty() ? std::string("no protocol") : text;
}

namespace {

// Broken first, then legacy; `names` are the algorithms in the offer, in the order they are named.
template <class... Algorithms>
std::optional<std::string> reason_for(bool allow_legacy, Algorithms... algorithms) {
  std::optional<std::string> legacy;
  std::optional<std::string> broken;
  const auto check = [&](auto algorithm) {
    const auto strength = strength_of(algorithm);
    if (strength == Strength::Broken && !broken) broken = display_name(algorithm) + " is broken";
    if (strength == Strength::Legacy && !legacy && !allow_legacy) {
      legacy = display_name(algorithm) + " is legacy and legacy algorithms are not allowed";
    }
  };
  (check(algorithms), ...);
  return broken ? broken : legacy;
}

}  // namespace

std::optional<std::string> weak_offer_reason(const KeyExchangeMethod& method, bool allow_legacy) {
  return reason_for(allow_legacy, method.cipher, method.integrity, method.dh_group);
}

std::optional<std::string> weak_offer_reason(const SecurityMethod& method, bool allow_legacy) {
  std::optional<std::string> reason;
  if (method.esp) reason = reason_for(allow_legacy, method.esp->cipher, method.esp->integrity);
  if (method.ah) {
    auto ah = reason_for(allow_legacy, method.ah->integrity);
    // A broken ESP cipher outranks a legacy AH algorithm.
    if (!reason) reason = std::move(ah);
  }
  return reason;
}

std::string offer_text(const KeyExchangeMethod& method, std::size_t index) {
  return "key exchange method " + std::to_string(index + 1) + " (" + describe(method) + ")";
}

std::string offer_text(const SecurityMethod& method, std::size_t index) {
  return "security method " + std::to_string(index + 1) + " (" + describe(method) + ")";
}

std::string skipped_text(const std::string& offer, const std::string& reason) { return offer + " skipped: " + reason; }

}  // namespace ward::model
