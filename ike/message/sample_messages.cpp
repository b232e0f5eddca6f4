#include "ike/message/sample_messages.h"

#include <utility>

#include "ike/payload/vendor_ids.h"

namespace ward::ike::samples {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
  std::vector<std::byte> out;
  for (unsigned v : values) out.push_back(std::byte{static_cast<std::uint8_t>(v)});
  return out;
}

std::vector<std::byte> filled(std::size_t size, unsigned value) {
  return std::vector<std::byte>(size, std::byte{static_cast<std::uint8_t>(value)});
}

namespace {

template <std::size_t N>
VendorId vid(const std::array<std::byte, N>& known) {
  return VendorId{std::vector<std::byte>(known.begin(), known.end())};
}

Transform phase1_transform(std::uint8_t number, IkeEncryptionAlgorithm cipher, std::uint16_t key_bits,
                           IkeHashAlgorithm hash, IkeAuthenticationMethod auth, IkeGroupDescription group) {
  Transform t;
  t.number = number;
  t.id = static_cast<std::uint8_t>(IsakmpTransformId::KeyIke);
  auto a = [](IkeAttribute type, std::uint64_t value) {
    return DataAttribute::integer_value(static_cast<std::uint16_t>(type), value);
  };
  t.attributes = {a(IkeAttribute::EncryptionAlgorithm, static_cast<std::uint16_t>(cipher)),
                  a(IkeAttribute::KeyLength, key_bits),
                  a(IkeAttribute::HashAlgorithm, static_cast<std::uint16_t>(hash)),
                  a(IkeAttribute::AuthenticationMethod, static_cast<std::uint16_t>(auth)),
                  a(IkeAttribute::GroupDescription, static_cast<std::uint16_t>(group)),
                  a(IkeAttribute::LifeType, static_cast<std::uint16_t>(LifeType::Seconds)),
                  // 28800 fits in 16 bits; Windows' 8 hours in seconds does too, 86400 does not.
                  a(IkeAttribute::LifeDuration, 86400)};
  return t;
}

IsakmpHeader header(ExchangeType exchange, std::uint32_t message_id, bool responder_known) {
  IsakmpHeader h;
  for (std::size_t i = 0; i < kCookieSize; ++i) {
    h.initiator_cookie[i] = std::byte{static_cast<std::uint8_t>(0xa0 + i)};
    if (responder_known) h.responder_cookie[i] = std::byte{static_cast<std::uint8_t>(0xb0 + i)};
  }
  h.exchange_type = exchange;
  h.message_id = message_id;
  return h;
}

Identification id_ipv4(std::initializer_list<unsigned> address, std::uint8_t protocol, std::uint16_t port) {
  return Identification{IdType::Ipv4Addr, protocol, port, bytes_of(address)};
}

}  // namespace

SecurityAssociation phase1_sa() {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::Isakmp;
  p.transforms = {phase1_transform(1, IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256,
                                   IkeAuthenticationMethod::PreSharedKey, IkeGroupDescription::Ecp256),
                  phase1_transform(2, IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha,
                                   IkeAuthenticationMethod::RsaSignatures, IkeGroupDescription::Modp2048)};
  return SecurityAssociation{Doi::Ipsec, kSitIdentityOnly, {p}};
}

SecurityAssociation phase2_sa() {
  auto a = [](IpsecAttribute type, std::uint64_t value) {
    return DataAttribute::integer_value(static_cast<std::uint16_t>(type), value);
  };
  Transform aes;
  aes.number = 1;
  aes.id = static_cast<std::uint8_t>(EspTransformId::Aes);
  aes.attributes = {a(IpsecAttribute::SaLifeType, static_cast<std::uint16_t>(LifeType::Seconds)),
                    a(IpsecAttribute::SaLifeDuration, 3600),
                    a(IpsecAttribute::SaLifeType, static_cast<std::uint16_t>(LifeType::Kilobytes)),
                    a(IpsecAttribute::SaLifeDuration, 100000),   // > 16 bits: a 4-byte TLV
                    a(IpsecAttribute::EncapsulationMode, static_cast<std::uint16_t>(EncapsulationMode::Transport)),
                    a(IpsecAttribute::AuthenticationAlgorithm,
                      static_cast<std::uint16_t>(IpsecAuthenticationAlgorithm::HmacSha2_256)),
                    a(IpsecAttribute::KeyLength, 256),
                    a(IpsecAttribute::GroupDescription, static_cast<std::uint16_t>(IkeGroupDescription::Ecp256))};
  Transform gcm;
  gcm.number = 2;
  gcm.id = static_cast<std::uint8_t>(EspTransformId::AesGcm16);
  gcm.attributes = {a(IpsecAttribute::EncapsulationMode,
                      static_cast<std::uint16_t>(EncapsulationMode::UdpEncapsulatedTransport)),
                    a(IpsecAttribute::KeyLength, 128)};
  Proposal esp;
  esp.number = 1;
  esp.protocol = ProtocolId::IpsecEsp;
  esp.spi = bytes_of({0x12, 0x34, 0x56, 0x78});
  esp.transforms = {aes, gcm};
  Proposal ah;   // proposal 1 again: ESP AND AH (RFC 2408 3.5)
  ah.number = 1;
  ah.protocol = ProtocolId::IpsecAh;
  ah.spi = bytes_of({0x9a, 0xbc, 0xde, 0xf0});
  Transform sha;
  sha.number = 1;
  sha.id = static_cast<std::uint8_t>(AhTransformId::Sha2_256);
  sha.attributes = {a(IpsecAttribute::AuthenticationAlgorithm,
                      static_cast<std::uint16_t>(IpsecAuthenticationAlgorithm::HmacSha2_256))};
  ah.transforms = {sha};
  return SecurityAssociation{Doi::Ipsec, kSitIdentityOnly, {esp, ah}};
}

std::vector<SampleMessage> all() {
  using MK = MessageKind;
  const auto et = ExchangeType::IdentityProtection;
  const auto qm = ExchangeType::QuickMode;
  const std::vector<Payload> vids = {vid(vendor_id::kNatTRfc3947), vid(vendor_id::kDpd),
                                     vid(vendor_id::kFragmentation), vid(vendor_id::kMsNt5IsakmpOakley)};
  std::vector<SampleMessage> out;

  std::vector<Payload> mm1 = {phase1_sa()};
  mm1.insert(mm1.end(), vids.begin(), vids.end());
  out.push_back({"main_mode_1.bin", MK::MainModeMessage1, header(et, 0, false), mm1});

  SecurityAssociation chosen = phase1_sa();
  chosen.proposals[0].transforms.resize(1);
  out.push_back({"main_mode_2.bin", MK::MainModeMessage2, header(et, 0, true),
                 {chosen, vid(vendor_id::kNatTRfc3947), vid(vendor_id::kDpd)}});

  const NatDiscovery natd_remote{filled(32, 0x11)};
  const NatDiscovery natd_local{filled(32, 0x22)};
  out.push_back({"main_mode_3.bin", MK::MainModeMessage3, header(et, 0, true),
                 {KeyExchange{filled(64, 0x33)}, Nonce{filled(32, 0x44)}, natd_remote, natd_local}});
  out.push_back({"main_mode_4.bin", MK::MainModeMessage4, header(et, 0, true),
                 {KeyExchange{filled(64, 0x55)}, Nonce{filled(32, 0x66)},
                  CertificateRequest{CertificateEncoding::X509Signature, filled(40, 0x30)}, natd_remote,
                  natd_local}});

  // Kerberos main mode (draft-ietf-ipsec-isakmp-gss-auth-07): a GSS token (payload 129) after the
  // nonce, an AP-REQ-sized one in message 3 and an AP-REP-sized one in message 4.
  out.push_back({"main_mode_3_kerberos.bin", MK::MainModeMessage3, header(et, 0, true),
                 {KeyExchange{filled(64, 0x34)}, Nonce{filled(32, 0x45)}, GssToken{filled(600, 0x6e)}}});
  out.push_back({"main_mode_4_kerberos.bin", MK::MainModeMessage4, header(et, 0, true),
                 {KeyExchange{filled(64, 0x56)}, Nonce{filled(32, 0x67)}, GssToken{filled(120, 0x6f)}}});

  Notification initial_contact;
  initial_contact.doi = Doi::Ipsec;
  initial_contact.protocol = ProtocolId::Isakmp;
  initial_contact.message_type = static_cast<std::uint16_t>(NotifyMessageType::InitialContact);
  initial_contact.spi = filled(kIsakmpSpiSize, 0xa5);
  IsakmpHeader mm5 = header(et, 0, true);
  mm5.set(HeaderFlag::Encryption, true);
  out.push_back({"main_mode_5.bin", MK::MainModeMessage5, mm5,
                 {id_ipv4({192, 0, 2, 1}, 17, 500), Hash{filled(32, 0x77)}, initial_contact}});
  // Kerberos message 5: the HASH payload carries GSS_Wrap(HASH_I), longer than any PRF output.
  out.push_back({"main_mode_5_kerberos.bin", MK::MainModeMessage5, mm5,
                 {id_ipv4({192, 0, 2, 1}, 17, 500), Hash{filled(92, 0x05)}}});
  out.push_back({"main_mode_6.bin", MK::MainModeMessage6, mm5,
                 {Identification{IdType::DerAsn1Dn, 0, 0, filled(60, 0x31)},
                  Certificate{CertificateEncoding::X509Signature, filled(300, 0x30)},
                  Signature{filled(256, 0x88)}}});

  IsakmpHeader qm_header = header(qm, 0x01020304, true);
  qm_header.set(HeaderFlag::Encryption, true);
  const Identification idci{IdType::Ipv4AddrSubnet, 6, 0, bytes_of({10, 1, 0, 0, 255, 255, 0, 0})};
  const Identification idcr{IdType::Ipv6Addr, 17, 1701, filled(16, 0x20)};
  const NatOriginalAddress oa_i{IdType::Ipv4Addr, bytes_of({192, 168, 1, 10})};
  const NatOriginalAddress oa_r{IdType::Ipv6Addr, filled(16, 0xfe)};
  out.push_back({"quick_mode_1.bin", MK::QuickModeMessage1, qm_header,
                 {Hash{filled(32, 0x99)}, phase2_sa(), Nonce{filled(16, 0xaa)}, KeyExchange{filled(64, 0xbb)},
                  idci, idcr, oa_i, oa_r}});
  Notification lifetime;
  lifetime.protocol = ProtocolId::IpsecEsp;
  lifetime.message_type = static_cast<std::uint16_t>(NotifyMessageType::ResponderLifetime);
  lifetime.spi = bytes_of({0x12, 0x34, 0x56, 0x78});
  lifetime.data = bytes_of({0x80, 0x01, 0x00, 0x01, 0x80, 0x02, 0x0e, 0x10});   // TV life type, duration
  SecurityAssociation qm_chosen = phase2_sa();
  qm_chosen.proposals[0].transforms.resize(1);
  out.push_back({"quick_mode_2.bin", MK::QuickModeMessage2, qm_header,
                 {Hash{filled(32, 0x9b)}, qm_chosen, Nonce{filled(16, 0xab)}, idci, idcr, lifetime}});
  out.push_back({"quick_mode_3.bin", MK::QuickModeMessage3, qm_header, {Hash{filled(32, 0x9c)}}});

  IsakmpHeader info = header(ExchangeType::Informational, 0x0badcafe, true);
  info.set(HeaderFlag::Encryption, true);
  Notification r_u_there;
  r_u_there.protocol = ProtocolId::Isakmp;
  r_u_there.message_type = static_cast<std::uint16_t>(NotifyMessageType::RUThere);
  r_u_there.spi = filled(kIsakmpSpiSize, 0xc1);
  r_u_there.data = bytes_of({0x00, 0x00, 0x12, 0x34});
  out.push_back({"informational_dpd.bin", MK::InformationalProtected, info, {Hash{filled(20, 0xdd)}, r_u_there}});
  Delete del;
  del.protocol = ProtocolId::IpsecEsp;
  del.spi_size = kIpsecSpiSize;
  del.spis = {bytes_of({0x12, 0x34, 0x56, 0x78}), bytes_of({0x9a, 0xbc, 0xde, 0xf0})};
  out.push_back({"informational_delete.bin", MK::InformationalProtected, info, {Hash{filled(20, 0xde)}, del}});
  Notification no_proposal;
  no_proposal.protocol = ProtocolId::Isakmp;
  no_proposal.message_type = static_cast<std::uint16_t>(NotifyMessageType::NoProposalChosen);
  out.push_back({"informational_no_proposal.bin", MK::InformationalUnprotected,
                 header(ExchangeType::Informational, 0, true), {no_proposal}});
  return out;
}

std::vector<std::byte> encode(const SampleMessage& sample) {
  if (!sample.header.has(HeaderFlag::Encryption)) return encode_message(sample.header, sample.payloads).value();
  auto body = encode_payload_chain(sample.payloads).value();
  return encode_encrypted_message(sample.header, body.first, body.bytes).value();
}

}  // namespace ward::ike::samples
