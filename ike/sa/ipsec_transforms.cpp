#include "ike/sa/ipsec_transforms.h"

#include "common/byte_reader.h"
#include "common/byte_writer.h"
#include "ike/sa/nat_traversal.h"

namespace ward::ike::sa {

namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;

constexpr unsigned kTripleDesKeyBits = 192;

std::optional<IpsecAuthenticationAlgorithm> authentication_algorithm(Integrity integrity) {
  switch (integrity) {
    case Integrity::HmacSha1_96: return IpsecAuthenticationAlgorithm::HmacSha;
    case Integrity::HmacSha256_128: return IpsecAuthenticationAlgorithm::HmacSha2_256;
    case Integrity::HmacMd5_96: return IpsecAuthenticationAlgorithm::HmacMd5;
    case Integrity::None: break;
  }
  return std::nullopt;
}

std::optional<Integrity> integrity_of(std::uint16_t algorithm) {
  switch (static_cast<IpsecAuthenticationAlgorithm>(algorithm)) {
    case IpsecAuthenticationAlgorithm::HmacSha: return Integrity::HmacSha1_96;
    case IpsecAuthenticationAlgorithm::HmacSha2_256: return Integrity::HmacSha256_128;
    case IpsecAuthenticationAlgorithm::HmacMd5: return Integrity::HmacMd5_96;
    default: return std::nullopt;
  }
}

void add_attributes(Transform& t, const TransformAttributes& a) {
  auto attr = [&](IpsecAttribute type, std::uint16_t value) {
    t.attributes.push_back(DataAttribute::basic(static_cast<std::uint16_t>(type), value));
  };
  if (a.lifetime) {
    attr(IpsecAttribute::SaLifeType, static_cast<std::uint16_t>(LifeType::Seconds));
    t.attributes.push_back(DataAttribute::integer_value(static_cast<std::uint16_t>(IpsecAttribute::SaLifeDuration),
                                                        static_cast<std::uint64_t>(a.lifetime->count())));
  }
  if (a.kilobytes) {
    attr(IpsecAttribute::SaLifeType, static_cast<std::uint16_t>(LifeType::Kilobytes));
    t.attributes.push_back(DataAttribute::integer_value(static_cast<std::uint16_t>(IpsecAttribute::SaLifeDuration), *a.kilobytes));
  }
  if (a.group) attr(IpsecAttribute::GroupDescription, static_cast<std::uint16_t>(*a.group));
  attr(IpsecAttribute::EncapsulationMode, static_cast<std::uint16_t>(a.mode));
}

void add_authentication(Transform& t, Integrity integrity) {
  if (const auto algorithm = authentication_algorithm(integrity)) {
    t.attributes.push_back(DataAttribute::basic(static_cast<std::uint16_t>(IpsecAttribute::AuthenticationAlgorithm),
                                                static_cast<std::uint16_t>(*algorithm)));
  }
}

// The attributes both kinds share, plus the authentication algorithm and key length they carry.
struct ReadAttributes {
  TransformAttributes common;
  std::optional<std::uint16_t> authentication;
  unsigned key_bits = 0;
};

Expected<ReadAttributes, std::string> read_attributes(const Transform& t, const std::string& where) {
  ReadAttributes out;
  std::optional<std::uint64_t> life_type;
  for (const auto& a : t.attributes) {
    const auto value = a.integer();
    if (!value) return unexpected(where + ": attribute " + std::to_string(a.type) + " is not a number");
    switch (static_cast<IpsecAttribute>(a.type)) {
      case IpsecAttribute::SaLifeType: life_type = *value; break;
      case IpsecAttribute::SaLifeDuration:
        if (life_type == static_cast<std::uint64_t>(LifeType::Seconds)) out.common.lifetime = std::chrono::seconds(*value);
        else if (life_type == static_cast<std::uint64_t>(LifeType::Kilobytes)) out.common.kilobytes = *value;
        else return unexpected(where + ": SA Life Duration without a Life Type");
        break;
      case IpsecAttribute::GroupDescription: out.common.group = static_cast<IkeGroupDescription>(*value); break;
      case IpsecAttribute::EncapsulationMode: {
        const auto mode = static_cast<EncapsulationMode>(*value);
        if (*value > 0xFFFF || (!is_tunnel(mode) && !is_udp_encapsulated(mode) && mode != EncapsulationMode::Transport)) {
          return unexpected(where + ": encapsulation mode " + std::to_string(*value) + " is unknown");
        }
        out.common.mode = mode;
        break;
      }
      case IpsecAttribute::AuthenticationAlgorithm: out.authentication = static_cast<std::uint16_t>(*value); break;
      case IpsecAttribute::KeyLength: out.key_bits = static_cast<unsigned>(*value); break;
      default: return unexpected(where + ": attribute " + std::to_string(a.type) + " is not supported");
    }
  }
  return out;
}

}  // namespace

std::uint32_t spi_value(std::span<const std::byte> four_bytes) {
  ByteReader reader(four_bytes.first(kIpsecSpiSize), "SPI");
  return reader.u32_be("SPI").value_or(0);
}

std::vector<std::byte> spi_bytes(std::uint32_t spi) {
  ByteWriter writer;
  writer.u32_be(spi);
  return std::move(writer).take();
}

Expected<EspTransformChoice, std::string> parse_esp_transform(const Transform& t) {
  const std::string where = "ESP transform " + std::to_string(t.number);
  auto read = read_attributes(t, where);
  if (!read) return unexpected(std::move(read).error());
  EspTransformChoice out;
  out.attributes = read->common;
  const auto& auth = read->authentication;
  if (auth) {
    const auto integrity = integrity_of(*auth);
    if (!integrity) return unexpected(where + ": authentication algorithm " + std::to_string(*auth) + " is not supported");
    out.proposal.integrity = *integrity;
  }
  const unsigned key_bits = read->key_bits;
  switch (static_cast<EspTransformId>(t.id)) {
    case EspTransformId::AesGcm16:
      if (auth) return unexpected(where + ": AES-GCM with a separate authentication algorithm");
      if (key_bits != 128 && key_bits != 256) return unexpected(where + ": AES-GCM key length " + std::to_string(key_bits));
      out.proposal.cipher = key_bits == 128 ? Cipher::AesGcm128 : Cipher::AesGcm256;
      break;
    case EspTransformId::Aes:
      if (key_bits != 128 && key_bits != 256) return unexpected(where + ": AES-CBC key length " + std::to_string(key_bits));
      out.proposal.cipher = key_bits == 128 ? Cipher::AesCbc128 : Cipher::AesCbc256;
      if (!auth) return unexpected(where + ": AES-CBC without an authentication algorithm");
      break;
    case EspTransformId::TripleDes:
      if (key_bits != 0 && key_bits != kTripleDesKeyBits) return unexpected(where + ": 3DES key length " + std::to_string(key_bits));
      out.proposal.cipher = Cipher::TripleDesCbc;
      if (!auth) return unexpected(where + ": 3DES without an authentication algorithm");
      break;
    case EspTransformId::Null:
      out.proposal.cipher = Cipher::Null;
      if (!auth) return unexpected(where + ": ESP_NULL without an authentication algorithm");
      break;
    case EspTransformId::Des:
    case EspTransformId::DesIv64: return unexpected(where + ": DES is broken and never accepted");
    default: return unexpected(where + ": transform ID " + std::to_string(t.id) + " is not supported");
  }
  return out;
}

Expected<AhTransformChoice, std::string> parse_ah_transform(const Transform& t) {
  const std::string where = "AH transform " + std::to_string(t.number);
  auto read = read_attributes(t, where);
  if (!read) return unexpected(std::move(read).error());
  if (read->key_bits != 0) return unexpected(where + ": AH takes no key length");
  AhTransformChoice out;
  out.attributes = read->common;
  switch (static_cast<AhTransformId>(t.id)) {
    case AhTransformId::Sha: out.proposal.integrity = Integrity::HmacSha1_96; break;
    case AhTransformId::Sha2_256: out.proposal.integrity = Integrity::HmacSha256_128; break;
    case AhTransformId::Md5: out.proposal.integrity = Integrity::HmacMd5_96; break;
    default: return unexpected(where + ": transform ID " + std::to_string(t.id) + " is not supported");
  }
  if (read->authentication && integrity_of(*read->authentication) != out.proposal.integrity) {
    return unexpected(where + ": authentication algorithm " + std::to_string(*read->authentication) +
                      " does not match transform ID " + std::to_string(t.id));
  }
  return out;
}

Transform encode_esp_transform(const EspProposal& p, const TransformAttributes& attributes) {
  Transform t;
  t.number = 1;
  add_attributes(t, attributes);
  add_authentication(t, p.integrity);
  auto key_length = [&](std::uint16_t bits) {
    t.attributes.push_back(DataAttribute::basic(static_cast<std::uint16_t>(IpsecAttribute::KeyLength), bits));
  };
  switch (p.cipher) {
    case Cipher::AesGcm128:
    case Cipher::AesGcm256:
      t.id = static_cast<std::uint8_t>(EspTransformId::AesGcm16);
      key_length(p.cipher == Cipher::AesGcm128 ? 128 : 256);
      break;
    case Cipher::AesCbc128:
    case Cipher::AesCbc256:
      t.id = static_cast<std::uint8_t>(EspTransformId::Aes);
      key_length(p.cipher == Cipher::AesCbc128 ? 128 : 256);
      break;
    case Cipher::Null: t.id = static_cast<std::uint8_t>(EspTransformId::Null); break;
    case Cipher::TripleDesCbc: t.id = static_cast<std::uint8_t>(EspTransformId::TripleDes); break;
  }
  return t;
}

Transform encode_ah_transform(const AhProposal& p, const TransformAttributes& attributes) {
  Transform t;
  t.number = 1;
  switch (p.integrity) {
    case Integrity::HmacSha1_96: t.id = static_cast<std::uint8_t>(AhTransformId::Sha); break;
    case Integrity::HmacSha256_128: t.id = static_cast<std::uint8_t>(AhTransformId::Sha2_256); break;
    case Integrity::HmacMd5_96: t.id = static_cast<std::uint8_t>(AhTransformId::Md5); break;
    case Integrity::None: break;
  }
  add_attributes(t, attributes);
  add_authentication(t, p.integrity);   // RFC 2407 4.5: MUST be present for AH
  return t;
}

bool ProtectionSuite::legacy() const noexcept {
  const bool esp_legacy = esp && (esp->cipher == Cipher::TripleDesCbc || esp->integrity == Integrity::HmacMd5_96);
  return esp_legacy || (ah && ah->integrity == Integrity::HmacMd5_96);
}

std::string describe(const ProtectionSuite& suite) {
  std::string text;
  if (suite.ah) text = "AH " + std::string(driver::crypto::name_of(suite.ah->integrity));
  if (suite.esp) {
    if (!text.empty()) text += " + ";
    text += "ESP " + std::string(driver::crypto::name_of(suite.esp->cipher)) + "/" +
            std::string(driver::crypto::name_of(suite.esp->integrity));
  }
  return text.empty() ? std::string("no protocol") : text;
}

}  // namespace ward::ike::sa
