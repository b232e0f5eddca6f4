// IKEv2 proposals (RFC 7296 3.3) from Ward's settings and the choice among a peer's offers.
// IKE SA: ENCR AES-CBC / AES-GCM-16, PRF HMAC-SHA1/SHA2, INTEG (none with GCM), D-H group.
// CHILD_SA (ESP): the driver's Cipher and Integrity, the vocabulary IKEv1 quick mode shares, so a
// filter action's security methods become IKEv2 proposals unchanged; ESN is never offered.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "driver/crypto/sa_params.h"
#include "ike/v2/payloads.h"
#include "ike/v2/sk.h"

namespace ward::ike::v2 {

struct IkeProposal {
  EncryptionId encryption = EncryptionId::AesCbc;
  unsigned key_bits = 128;
  IntegrityId integrity = IntegrityId::HmacSha2_256_128;
  PrfId prf = PrfId::HmacSha2_256;
  IkeGroupDescription group = IkeGroupDescription::Modp2048;

  SkSuite suite() const noexcept { return SkSuite{encryption, key_bits, integrity}; }
  std::string describe() const;   // "AES-CBC-128/HMAC-SHA2-256-128/PRF 5/group 14"
  friend bool operator==(const IkeProposal&, const IkeProposal&) = default;
};

struct ChildProposal {
  driver::crypto::Cipher cipher = driver::crypto::Cipher::AesGcm128;
  driver::crypto::Integrity integrity = driver::crypto::Integrity::None;
  friend bool operator==(const ChildProposal&, const ChildProposal&) = default;
};

// Proposal payloads numbered from 1; `spi` empty for IKE_SA_INIT, 4 bytes for ESP. A CHILD_SA
// with PFS (CREATE_CHILD_SA only, 1.3.1) carries the D-H group `pfs` in each proposal.
std::vector<Proposal> ike_proposals(const std::vector<IkeProposal>& ours);
Expected<std::vector<Proposal>, std::string> child_proposals(const std::vector<ChildProposal>& ours, std::uint32_t spi,
                                                             std::optional<IkeGroupDescription> pfs = std::nullopt);

struct IkeChoice {
  IkeProposal proposal;
  Proposal reply;   // the peer's proposal number, one transform of each type
};
struct ChildChoice {
  ChildProposal proposal;
  std::optional<IkeGroupDescription> pfs;   // the D-H group chosen (CREATE_CHILD_SA with KE)
  std::uint32_t peer_spi = 0;
  Proposal reply;   // with the peer's SPI; the responder replaces it with its own
};

// The first of the peer's proposals (in its order) that contains one of ours; the error says why
// none did (for NO_PROPOSAL_CHOSEN and the log).
Expected<IkeChoice, std::string> choose_ike(const std::vector<IkeProposal>& ours, const SaPayload& theirs);
// IKE_AUTH (`dh` = InIkeAuth) takes no D-H group (a proposal may say NONE); CREATE_CHILD_SA
// (`dh` = InCreateChildSa) takes `pfs` when set (a proposal without it is refused: the policy
// asks for PFS), else no group or, when the peer offers only groups, the first Ward supports
// (more secrecy than the policy asks for is no harm, and a charon with PFS configured offers
// nothing else).
enum class ChildDh : std::uint8_t { InIkeAuth, InCreateChildSa };
Expected<ChildChoice, std::string> choose_child(const std::vector<ChildProposal>& ours, const SaPayload& theirs,
                                                ChildDh dh = ChildDh::InIkeAuth,
                                                std::optional<IkeGroupDescription> pfs = std::nullopt);

}  // namespace ward::ike::v2
