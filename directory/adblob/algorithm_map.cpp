#include "directory/adblob/algorithm_map.h"

namespace ward::adblob {

namespace {

using model::Cipher;
using model::DhGroup;
using model::Integrity;

std::optional<std::uint32_t> mm_cipher(Cipher c) {
  if (c == Cipher::Des) return isakmp_code::kCipherDes;
  if (c == Cipher::TripleDes) return isakmp_code::kCipher3Des;
  return std::nullopt;
}

std::optional<std::uint32_t> mm_hash(Integrity i) {
  if (i == Integrity::Md5) return isakmp_code::kHashMd5;
  if (i == Integrity::Sha1) return isakmp_code::kHashSha1;
  return std::nullopt;
}

std::optional<std::uint32_t> mm_group(DhGroup g) {
  if (g == DhGroup::Modp768) return isakmp_code::kGroup1;
  if (g == DhGroup::Modp1024) return isakmp_code::kGroup2;
  if (g == DhGroup::Modp2048) return isakmp_code::kGroup14;
  return std::nullopt;
}

std::optional<std::uint32_t> qm_integrity(Integrity i) {
  if (i == Integrity::None) return negotiation_code::kIntegrityNone;
  if (i == Integrity::Md5) return negotiation_code::kIntegrityMd5;
  if (i == Integrity::Sha1) return negotiation_code::kIntegritySha1;
  return std::nullopt;
}

std::optional<std::uint32_t> qm_cipher(Cipher c) {
  if (c == Cipher::None) return negotiation_code::kEspNull;
  if (c == Cipher::Des) return negotiation_code::kEspDes;
  if (c == Cipher::TripleDes) return negotiation_code::kEsp3Des;
  return std::nullopt;
}

Expected<Integrity, std::string> integrity_of(std::uint32_t code, const char* what) {
  switch (code) {
    case negotiation_code::kIntegrityNone: return Integrity::None;
    case negotiation_code::kIntegrityMd5: return Integrity::Md5;
    case negotiation_code::kIntegritySha1: return Integrity::Sha1;
    default: return unexpected(std::string(what) + " " + std::to_string(code) + " is not a known Windows value");
  }
}

NegotiationAlgorithm slot(std::uint32_t type, std::uint32_t algorithm, std::uint32_t integrity) {
  return {algorithm, integrity, type, negotiation_code::kWindowsZero1Low, negotiation_code::kWindowsZero1High};
}

}  // namespace

std::optional<IsakmpSecurityMethod> windows_main_mode_method(const model::KeyExchangeMethod& method,
                                                             const MainModeLimits& limits) {
  const auto cipher = mm_cipher(method.cipher);
  const auto hash = mm_hash(method.integrity);
  const auto group = mm_group(method.dh_group);
  if (!cipher || !hash || !group) return std::nullopt;
  IsakmpSecurityMethod out;
  out.encryption_algorithm = *cipher;
  out.encryption_algorithm_high = isakmp_code::kWindowsAlgorithmHigh;
  out.zero4 = isakmp_code::kWindowsCipherZero4;
  out.hash_algorithm = *hash;
  out.hash_algorithm_high = isakmp_code::kWindowsAlgorithmHigh;
  out.oakley_group = *group;
  out.quick_mode_limit = limits.quick_mode_limit;
  out.lifetime_seconds = limits.lifetime_seconds;
  return out;
}

Expected<model::KeyExchangeMethod, std::string> model_main_mode_method(const IsakmpSecurityMethod& method) {
  model::KeyExchangeMethod out;
  switch (method.encryption_algorithm) {
    case isakmp_code::kCipherDes: out.cipher = Cipher::Des; break;
    case isakmp_code::kCipher3DesAlt:
    case isakmp_code::kCipher3Des: out.cipher = Cipher::TripleDes; break;
    default: return unexpected("Encryption-Algorithm-ID " + std::to_string(method.encryption_algorithm) + " is not DES or 3DES");
  }
  switch (method.hash_algorithm) {
    case isakmp_code::kHashMd5: out.integrity = Integrity::Md5; break;
    case isakmp_code::kHashSha1: out.integrity = Integrity::Sha1; break;
    default: return unexpected("Hash-Algorithm-ID " + std::to_string(method.hash_algorithm) + " is not MD5 or SHA-1");
  }
  switch (method.oakley_group) {
    case isakmp_code::kGroup1: out.dh_group = DhGroup::Modp768; break;
    case isakmp_code::kGroup2: out.dh_group = DhGroup::Modp1024; break;
    case isakmp_code::kGroup14: out.dh_group = DhGroup::Modp2048; break;
    default: return unexpected("Oakley-Group " + std::to_string(method.oakley_group) + " is not 1, 2 or 0x10000001");
  }
  // Random-Function overrides cipher, hash and group (MS-GPIPSEC 2.2.1.2.1).
  if (method.random_function != 0) {
    auto overridden = new_dh_methods({method.random_function, 0, 0, 0});
    if (!overridden) return unexpected("Random-Function: " + overridden.error());
    return overridden->front();
  }
  return out;
}

Expected<std::vector<model::KeyExchangeMethod>, std::string> new_dh_methods(const std::array<std::uint8_t, 4>& new_dh) {
  std::vector<model::KeyExchangeMethod> out;
  for (const auto code : new_dh) {
    if (code == 0) break;
    if (code > 4) return unexpected("New-DH value " + std::to_string(code) + " is not 1..4");
    out.push_back({code <= 2 ? Cipher::Des : Cipher::TripleDes, code % 2 == 1 ? Integrity::Md5 : Integrity::Sha1,
                   DhGroup::Modp2048});
  }
  return out;
}

std::optional<NegotiationOffer> windows_offer(const model::SecurityMethod& method, bool quick_mode_pfs) {
  NegotiationOffer offer;
  offer.lifetime_seconds = method.lifetime_seconds;
  offer.lifetime_kilobytes = method.lifetime_kilobytes;
  offer.pfs_qm_required = quick_mode_pfs ? 1 : 0;
  if (method.ah) {
    const auto integrity = qm_integrity(method.ah->integrity);
    if (!integrity || *integrity == negotiation_code::kIntegrityNone) return std::nullopt;
    offer.algorithms[offer.algorithm_count++] = slot(negotiation_code::kOfferAh, *integrity, negotiation_code::kIntegrityNone);
  }
  if (method.esp) {
    const auto cipher = qm_cipher(method.esp->cipher);
    const auto integrity = qm_integrity(method.esp->integrity);
    if (!cipher || !integrity) return std::nullopt;
    offer.algorithms[offer.algorithm_count++] = slot(negotiation_code::kOfferEsp, *cipher, *integrity);
  }
  if (offer.algorithm_count == 0) return std::nullopt;
  return offer;
}

Expected<model::SecurityMethod, std::string> model_security_method(const NegotiationOffer& offer) {
  model::SecurityMethod out;
  if (offer.lifetime_seconds != 0) out.lifetime_seconds = offer.lifetime_seconds;      // 0: the default
  if (offer.lifetime_kilobytes != 0) out.lifetime_kilobytes = offer.lifetime_kilobytes;
  for (std::uint32_t i = 0; i < offer.algorithm_count && i < NegotiationOffer::kMaxAlgorithms; ++i) {
    const auto& a = offer.algorithms[i];
    if (a.offer_type == negotiation_code::kOfferAh) {
      auto integrity = integrity_of(a.algorithm, "AH Algorithm-Identifier");
      if (!integrity) return unexpected(integrity.error());
      out.ah = model::AhTransform{*integrity};
    } else if (a.offer_type == negotiation_code::kOfferEsp) {
      model::EspTransform esp;
      switch (a.algorithm) {
        case negotiation_code::kEspNull: esp.cipher = Cipher::None; break;
        case negotiation_code::kEspDes:
        case negotiation_code::kEspDesAlt: esp.cipher = Cipher::Des; break;
        case negotiation_code::kEsp3Des: esp.cipher = Cipher::TripleDes; break;
        default: return unexpected("ESP Algorithm-Identifier " + std::to_string(a.algorithm) + " is not a known Windows value");
      }
      auto integrity = integrity_of(a.integrity, "ESP-Integrity-Identifier");
      if (!integrity) return unexpected(integrity.error());
      esp.integrity = *integrity;
      out.esp = esp;
    } else {
      return unexpected("Offer-Type " + std::to_string(a.offer_type) + " is neither AH (1) nor ESP (2)");
    }
  }
  return out;
}

bool uses_legacy_algorithm(const model::KeyExchangeMethod& method) {
  return method.cipher == Cipher::Des || method.cipher == Cipher::TripleDes || method.integrity == Integrity::Md5 ||
         method.dh_group == DhGroup::Modp768 || method.dh_group == DhGroup::Modp1024;
}

bool uses_legacy_algorithm(const model::SecurityMethod& method) {
  const auto legacy_integrity = [](Integrity i) { return i == Integrity::Md5; };
  if (method.ah && legacy_integrity(method.ah->integrity)) return true;
  return method.esp && (method.esp->cipher == Cipher::Des || method.esp->cipher == Cipher::TripleDes ||
                        legacy_integrity(method.esp->integrity));
}

bool uses_legacy_algorithms(const model::Policy& policy) {
  for (const auto& m : policy.key_exchange.methods) {
    if (uses_legacy_algorithm(m)) return true;
  }
  for (const auto& action : policy.filter_actions) {
    for (const auto& m : action.security_methods) {
      if (uses_legacy_algorithm(m)) return true;
    }
  }
  return false;
}

}  // namespace ward::adblob
