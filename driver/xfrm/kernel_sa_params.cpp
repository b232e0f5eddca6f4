#include "driver/xfrm/kernel_sa_params.h"

#include <array>
#include <cstring>
#include <fstream>

namespace ward::driver::xfrm {

namespace {

std::vector<std::uint8_t> copy_key(const crypto::SecureBytes& key) {
  const auto revealed = key.reveal();
  std::vector<std::uint8_t> out(revealed.size());
  for (std::size_t i = 0; i < revealed.size(); ++i) out[i] = std::to_integer<std::uint8_t>(revealed[i]);
  return out;
}

Expected<void, std::string> fill_integrity(const crypto::SaParams& params, KernelSaKeys& keys) {
  using crypto::Integrity;
  switch (params.integrity) {
    case Integrity::HmacSha1_96: keys.integrity = "hmac(sha1)"; keys.icv_bits = 96; break;
    case Integrity::HmacSha256_128: keys.integrity = "hmac(sha256)"; keys.icv_bits = 128; break;
    case Integrity::HmacMd5_96: keys.integrity = "hmac(md5)"; keys.icv_bits = 96; break;
    case Integrity::None: return unexpected(crypto::describe_sa(params) + " needs an integrity algorithm");
  }
  keys.integrity_key = copy_key(params.integrity_key);
  return {};
}

// Whether /proc/crypto lists an algorithm (the kernel loads modules on demand, so absence is a
// hint, not proof).
bool crypto_api_lists(const std::string& name) {
  std::ifstream file("/proc/crypto");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("name", 0) == 0 && line.size() > name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Expected<void, std::string> fill_keys(const crypto::SaParams& params, KernelSaKeys& keys) {
  using crypto::Cipher;
  if (params.protocol == crypto::SecurityProtocol::Ah) return fill_integrity(params, keys);
  if (params.cipher == Cipher::AesGcm128 || params.cipher == Cipher::AesGcm256) {
    keys.aead = "rfc4106(gcm(aes))";
    keys.aead_key = copy_key(params.encryption_key);
    keys.icv_bits = 128;
    return {};
  }
  switch (params.cipher) {
    case Cipher::Null: keys.cipher = "ecb(cipher_null)"; break;
    case Cipher::AesCbc128:
    case Cipher::AesCbc256: keys.cipher = "cbc(aes)"; break;
    case Cipher::TripleDesCbc: keys.cipher = "cbc(des3_ede)"; break;
    default: return unexpected(crypto::describe_sa(params) + ": cipher " + std::string(crypto::name_of(params.cipher)) + " has no kernel name");
  }
  if (auto integrity = fill_integrity(params, keys); !integrity) return integrity;
  keys.cipher_key = copy_key(params.encryption_key);
  return {};
}

std::string missing_support_message(const crypto::SaParams& params, const KernelSaKeys& keys, int error) {
  const bool ah = params.protocol == crypto::SecurityProtocol::Ah;
  const std::string algorithm = ah ? keys.integrity : keys.aead.empty() ? keys.cipher + " + " + keys.integrity : keys.aead;
  std::string message = "xfrm: the kernel refused " + crypto::describe_sa(params) + " (" + std::strerror(error) + "): this kernel has no " +
                        (ah ? "AH" : "ESP") + " support for it (kernel SAs need " + (ah ? "ah4/ah6" : "esp4/esp6") + " and " +
                        algorithm + " in the kernel crypto API";
  const std::string& probe = ah ? keys.integrity : keys.aead.empty() ? keys.cipher : keys.aead;
  if (!crypto_api_lists(probe)) message += "; /proc/crypto does not list " + probe;
  return message + "); use the nfqueue backend, which does ESP and AH in userspace";
}

IpAddress from_crypto(const crypto::IpAddress& address) {
  const auto raw = address.view();
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < raw.size(); ++i) bytes[i] = std::to_integer<std::uint8_t>(raw[i]);
  if (address.version == crypto::IpVersion::V4) {
    return IpAddress::v4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) | bytes[3]);
  }
  return IpAddress::v6(bytes);
}

}  // namespace ward::driver::xfrm
