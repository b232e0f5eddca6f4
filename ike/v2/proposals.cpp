#include "ike/v2/proposals.h"

#include <algorithm>

#include "ike/crypto/dh.h"
#include "ike/v2/keys.h"

namespace ward::ike::v2 {
namespace {

using driver::crypto::Cipher;
using driver::crypto::Integrity;

struct EncryptionTransform {
  EncryptionId id;
  unsigned bits;
};

std::optional<EncryptionTransform> encryption_of(Cipher cipher) {
  switch (cipher) {
    case Cipher::AesCbc128: return EncryptionTransform{EncryptionId::AesCbc, 128};
    case Cipher::AesCbc256: return EncryptionTransform{EncryptionId::AesCbc, 256};
    case Cipher::AesGcm128: return EncryptionTransform{EncryptionId::AesGcm16, 128};
    case Cipher::AesGcm256: return EncryptionTransform{EncryptionId::AesGcm16, 256};
    case Cipher::Null:
    case Cipher::TripleDesCbc: break;
  }
  return std::nullopt;
}

std::optional<IntegrityId> integrity_of(Integrity integrity) {
  switch (integrity) {
    case Integrity::None: return IntegrityId::None;
    case Integrity::HmacSha1_96: return IntegrityId::HmacSha1_96;
    case Integrity::HmacSha256_128: return IntegrityId::HmacSha2_256_128;
    case Integrity::HmacMd5_96: break;
  }
  return std::nullopt;
}

std::uint16_t id(auto value) { return static_cast<std::uint16_t>(value); }

bool offers(const Proposal& p, TransformType type, std::uint16_t transform_id, std::optional<std::uint16_t> key_bits = {}) {
  return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) {
    return t.type == type && t.id == transform_id && (!key_bits || t.key_length == key_bits);
  });
}

bool has_type(const Proposal& p, TransformType type) {
  return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) { return t.type == type; });
}

// Integrity: none offered (or NONE) with an AEAD, the named one otherwise.
bool integrity_matches(const Proposal& p, bool aead, IntegrityId integrity) {
  if (aead) return !has_type(p, TransformType::Integrity) || offers(p, TransformType::Integrity, id(IntegrityId::None));
  return offers(p, TransformType::Integrity, id(integrity));
}

}  // namespace

std::string IkeProposal::describe() const {
  return suite().name() + "/PRF " + std::to_string(id(prf)) + "/group " + std::to_string(id(group));
}

std::vector<Proposal> ike_proposals(const std::vector<IkeProposal>& ours) {
  std::vector<Proposal> out;
  for (const auto& o : ours) {
    Proposal p;
    p.number = static_cast<std::uint8_t>(out.size() + 1);
    p.protocol = ProtocolId::Ike;
    p.transforms.push_back({TransformType::Encryption, id(o.encryption), static_cast<std::uint16_t>(o.key_bits)});
    p.transforms.push_back({TransformType::Prf, id(o.prf), std::nullopt});
    if (o.encryption != EncryptionId::AesGcm16) p.transforms.push_back({TransformType::Integrity, id(o.integrity), std::nullopt});
    p.transforms.push_back({TransformType::DiffieHellman, id(o.group), std::nullopt});
    out.push_back(std::move(p));
  }
  return out;
}

Expected<std::vector<Proposal>, std::string> child_proposals(const std::vector<ChildProposal>& ours, std::uint32_t spi,
                                                             std::optional<IkeGroupDescription> pfs) {
  std::vector<Proposal> out;
  for (const auto& o : ours) {
    const auto e = encryption_of(o.cipher);
    const auto i = integrity_of(o.integrity);
    if (!e || !i) {
      return unexpected("ESP " + std::string(driver::crypto::name_of(o.cipher)) + "/" +
                        std::string(driver::crypto::name_of(o.integrity)) + " has no IKEv2 transform Ward offers");
    }
    Proposal p;
    p.number = static_cast<std::uint8_t>(out.size() + 1);
    p.protocol = ProtocolId::Esp;
    p.spi = child_spi_bytes(spi);
    p.transforms.push_back({TransformType::Encryption, id(e->id), static_cast<std::uint16_t>(e->bits)});
    if (e->id != EncryptionId::AesGcm16) p.transforms.push_back({TransformType::Integrity, id(*i), std::nullopt});
    if (pfs) p.transforms.push_back({TransformType::DiffieHellman, id(*pfs), std::nullopt});
    p.transforms.push_back({TransformType::Esn, id(EsnId::NoEsn), std::nullopt});
    out.push_back(std::move(p));
  }
  return out;
}

Expected<IkeChoice, std::string> choose_ike(const std::vector<IkeProposal>& ours, const SaPayload& theirs) {
  for (const auto& p : theirs.proposals) {
    if (p.protocol != ProtocolId::Ike) continue;
    for (const auto& o : ours) {
      const bool aead = o.encryption == EncryptionId::AesGcm16;
      if (!offers(p, TransformType::Encryption, id(o.encryption), static_cast<std::uint16_t>(o.key_bits)) ||
          !offers(p, TransformType::Prf, id(o.prf)) || !integrity_matches(p, aead, o.integrity) ||
          !offers(p, TransformType::DiffieHellman, id(o.group))) {
        continue;
      }
      IkeChoice c;
      c.proposal = o;
      c.reply = ike_proposals({o}).front();
      c.reply.number = p.number;
      c.reply.spi = p.spi;
      return c;
    }
  }
  return unexpected("none of the peer's " + std::to_string(theirs.proposals.size()) +
                    " IKE proposals contains one of Ward's " + std::to_string(ours.size()));
}

// Whether proposal `p` can be taken for its D-H transforms, and the group it gets (none: no KE).
static bool child_group(const Proposal& p, ChildDh dh, std::optional<IkeGroupDescription> pfs, std::optional<IkeGroupDescription>& group) {
  group.reset();
  const bool any = has_type(p, TransformType::DiffieHellman);
  const bool none = !any || offers(p, TransformType::DiffieHellman, 0);
  if (dh == ChildDh::InIkeAuth) return none;   // no PFS in IKE_AUTH
  if (pfs) {
    if (!offers(p, TransformType::DiffieHellman, id(*pfs))) return false;
    group = *pfs;
    return true;
  }
  if (none) return true;
  for (const auto& t : p.transforms) {
    const auto candidate = static_cast<IkeGroupDescription>(t.id);
    if (t.type == TransformType::DiffieHellman && crypto::is_supported_group(candidate) && !crypto::is_legacy_group(candidate)) {
      group = candidate;
      return true;
    }
  }
  return false;
}

Expected<ChildChoice, std::string> choose_child(const std::vector<ChildProposal>& ours, const SaPayload& theirs, ChildDh dh,
                                                std::optional<IkeGroupDescription> pfs) {
  for (const auto& p : theirs.proposals) {
    if (p.protocol != ProtocolId::Esp || p.spi.size() != 4) continue;
    if (has_type(p, TransformType::Esn) && !offers(p, TransformType::Esn, id(EsnId::NoEsn))) continue;
    std::optional<IkeGroupDescription> group;
    if (!child_group(p, dh, pfs, group)) continue;
    for (const auto& o : ours) {
      const auto e = encryption_of(o.cipher);
      const auto i = integrity_of(o.integrity);
      if (!e || !i) continue;
      if (!offers(p, TransformType::Encryption, id(e->id), static_cast<std::uint16_t>(e->bits)) ||
          !integrity_matches(p, e->id == EncryptionId::AesGcm16, *i)) {
        continue;
      }
      ChildChoice c;
      c.proposal = o;
      c.pfs = group;
      c.peer_spi = child_spi_value(p.spi);
      c.reply = child_proposals({o}, c.peer_spi, c.pfs)->front();
      c.reply.number = p.number;
      return c;
    }
  }
  return unexpected("none of the peer's " + std::to_string(theirs.proposals.size()) +
                    " ESP proposals contains one of Ward's " + std::to_string(ours.size()));
}

}  // namespace ward::ike::v2
