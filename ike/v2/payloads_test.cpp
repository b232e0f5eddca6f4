// The IKEv2 codec: every payload type round-trips through encode and parse, bytes laid out as
// RFC 7296 3 draws them, and malformed input is refused with the payload, field and offset.
#include <gtest/gtest.h>

#include "ike/tests/hex.h"
#include "ike/v2/payloads.h"

namespace ward::ike::v2 {
namespace {

using ike::testing::from_hex;
using ike::testing::to_hex;

Bytes filled(std::size_t n, std::uint8_t v) { return Bytes(n, std::byte{v}); }

Header init_header() {
  Header h;
  h.initiator_spi = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
  h.exchange = ExchangeType::IkeSaInit;
  h.set(HeaderFlag::Initiator);
  return h;
}

SaPayload ike_proposals() {
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::Ike;
  p.transforms = {{TransformType::Encryption, 12, 128}, {TransformType::Prf, 5, std::nullopt},
                  {TransformType::Integrity, 12, std::nullopt}, {TransformType::DiffieHellman, 14, std::nullopt}};
  Proposal q = p;
  q.number = 2;
  q.transforms = {{TransformType::Encryption, 20, 256}, {TransformType::Prf, 5, std::nullopt},
                  {TransformType::DiffieHellman, 19, std::nullopt}};
  return SaPayload{{p, q}};
}

TEST(Ikev2Payloads, EveryPayloadRoundTrips) {
  std::vector<Payload> payloads;
  payloads.emplace_back(ike_proposals());
  payloads.emplace_back(KePayload{14, filled(256, 0xab)});
  payloads.emplace_back(NoncePayload{filled(32, 0x11)});
  payloads.emplace_back(IdPayload{true, IdType::Ipv4Address, from_hex("0a000001")});
  payloads.emplace_back(IdPayload{false, IdType::Fqdn, from_hex("6578616d706c65")});
  payloads.emplace_back(AuthPayload{AuthMethod::SharedKeyMic, filled(32, 0x22)});
  payloads.emplace_back(CertPayload{false, 4, filled(40, 0x33)});
  payloads.emplace_back(CertPayload{true, 4, filled(20, 0x44)});
  payloads.emplace_back(NotifyPayload{3, from_hex("01020304"), static_cast<std::uint16_t>(NotifyType::RekeySa), {}});
  payloads.emplace_back(NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::Cookie), filled(16, 0x55)});
  payloads.emplace_back(DeletePayload{ProtocolId::Esp, 4, {from_hex("aabbccdd"), from_hex("01020304")}});
  payloads.emplace_back(DeletePayload{ProtocolId::Ike, 0, {}});
  payloads.emplace_back(VendorIdPayload{from_hex("882fe56d6fd20dbc2251613b2ebe5beb")});
  TsPayload tsi{true, {TrafficSelector::of(*IpPrefix::parse("10.0.0.0/24"), 6, PortRange::single(80))}};
  tsi.selectors.push_back(TrafficSelector::of(*IpPrefix::parse("2001:db8::/32")));
  payloads.emplace_back(tsi);
  payloads.emplace_back(TsPayload{false, {TrafficSelector::of(*IpPrefix::parse("10.0.1.1"))}});
  payloads.emplace_back(UnknownPayload{47, filled(8, 0x66)});

  auto encoded = encode_message(init_header(), payloads);
  ASSERT_TRUE(encoded) << encoded.error();
  auto parsed = parse_message(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->header.next_payload, PayloadType::SecurityAssociation);
  EXPECT_EQ(parsed->header.length, encoded->size());
  EXPECT_EQ(parsed->payloads, payloads);
  EXPECT_EQ(parsed->find_ts(true)->selectors[0].end, *IpAddress::parse("10.0.0.255"));
  EXPECT_EQ(parsed->find_ts(true)->selectors[1].end, *IpAddress::parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
}

// The bytes of a header and an SA payload as RFC 7296 3.1 / 3.3 lay them out, written by hand.
TEST(Ikev2Payloads, LayoutMatchesTheRfc) {
  Proposal p;
  p.transforms = {{TransformType::Encryption, 12, 128}, {TransformType::DiffieHellman, 14, std::nullopt}};
  std::vector<Payload> payloads{SaPayload{{p}}};
  auto encoded = encode_message(init_header(), payloads);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(to_hex(*encoded),
            "0102030405060708" "0000000000000000" "21" "20" "22" "08" "00000000" "0000003c"   // header, length 60
            "0000" "0020"                                                               // SA: length 32
            "0000" "001c" "01" "01" "00" "02"                                           // proposal 1, IKE, no SPI, 2 transforms
            "0300" "000c" "01" "00" "000c" "800e0080"                                   // ENCR AES-CBC, Key Length 128
            "0000" "0008" "04" "00" "000e");                                            // D-H 14
}

Bytes sample() {
  std::vector<Payload> payloads{ike_proposals(), KePayload{14, filled(64, 1)}, NoncePayload{filled(32, 2)}};
  return *encode_message(init_header(), payloads);
}

TEST(Ikev2Payloads, RefusesTruncationWithTheOffset) {
  auto bytes = sample();
  bytes.resize(bytes.size() - 5);
  bytes[27] = static_cast<std::byte>(bytes.size());   // Length agrees with the datagram
  bytes[26] = static_cast<std::byte>(bytes.size() >> 8);
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().detail.structure, "IKEv2 Nonce payload");
  EXPECT_EQ(parsed.error().detail.field, "Payload Length");
  EXPECT_EQ(parsed.error().notify, NotifyType::InvalidSyntax);
  // Header 28, SA 4 + 44 + 36, KE 4 + 4 + 64: the nonce's generic header at 184, its length at 186.
  EXPECT_EQ(parsed.error().detail.offset, 186u) << parsed.error().to_string();
}

TEST(Ikev2Payloads, RefusesALengthThatDisagreesWithTheDatagram) {
  auto bytes = sample();
  bytes.push_back(std::byte{0});
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().detail.field, "Length");
  EXPECT_EQ(parsed.error().detail.offset, 24u);
}

TEST(Ikev2Payloads, RefusesVersionOne) {
  auto bytes = sample();
  bytes[17] = std::byte{0x10};
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().notify, NotifyType::InvalidMajorVersion);
  EXPECT_EQ(parsed.error().detail.offset, 17u);
}

TEST(Ikev2Payloads, RefusesProposalsOutOfOrder) {
  auto bytes = sample();
  // The second proposal's number (its header at 28 + 4 + 44, number 4 bytes in).
  const std::size_t second = kHeaderSize + 4 + 44;
  ASSERT_EQ(bytes[second + 4], std::byte{2});
  bytes[second + 4] = std::byte{3};
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().detail.structure, "IKEv2 SA payload");
  EXPECT_EQ(parsed.error().detail.field, "Proposal Num");
  EXPECT_EQ(parsed.error().detail.offset, second + 4);
  EXPECT_NE(parsed.error().detail.message.find("expected 2"), std::string::npos);
}

// A response's one proposal keeps the number the request gave it; several must count from 1.
TEST(Ikev2Payloads, ProposalNumbersOfAResponseAndOfARequest) {
  SaPayload chosen = ike_proposals();
  chosen.proposals.erase(chosen.proposals.begin());
  std::vector<Payload> payloads{chosen};
  auto alone = parse_message(*encode_message(init_header(), payloads));
  ASSERT_TRUE(alone) << alone.error().to_string();
  EXPECT_EQ(std::get<SaPayload>(alone->payloads[0]).proposals[0].number, 2);
  chosen.proposals.push_back(chosen.proposals[0]);
  chosen.proposals[1].number = 3;
  payloads = {chosen};
  auto several = parse_message(*encode_message(init_header(), payloads));
  ASSERT_FALSE(several);
  EXPECT_EQ(several.error().detail.field, "Proposal Num");
  EXPECT_EQ(several.error().detail.offset, kHeaderSize + 4 + 4u);
}

TEST(Ikev2Payloads, RefusesAShortNonce) {
  std::vector<Payload> payloads{NoncePayload{filled(15, 2)}};
  auto bytes = *encode_message(init_header(), payloads);
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().detail.structure, "IKEv2 Nonce payload");
  EXPECT_NE(parsed.error().detail.message.find("15 bytes"), std::string::npos);
}

TEST(Ikev2Payloads, UnknownCriticalPayloadIsUnsupportedAndNonCriticalIsSkipped) {
  std::vector<Payload> payloads{UnknownPayload{200, filled(4, 9)}, NoncePayload{filled(16, 2)}};
  auto bytes = *encode_message(init_header(), payloads);
  auto parsed = parse_message(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->payloads.size(), 2u);
  bytes[kHeaderSize + 1] = std::byte{0x80};   // the critical bit
  auto refused = parse_message(bytes);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().notify, NotifyType::UnsupportedCriticalPayload);
  EXPECT_EQ(refused.error().detail.offset, kHeaderSize + 4);
}

TEST(Ikev2Payloads, RefusesATrafficSelectorOfTheWrongLength) {
  std::vector<Payload> payloads{TsPayload{true, {TrafficSelector::of(*IpPrefix::parse("10.0.0.1"))}}};
  auto bytes = *encode_message(init_header(), payloads);
  bytes[kHeaderSize + 4 + 4 + 3] = std::byte{17};   // Selector Length 16 -> 17
  auto parsed = parse_message(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().detail.structure, "IKEv2 TSi payload");
  EXPECT_EQ(parsed.error().detail.field, "Selector Length");
}

TEST(Ikev2Payloads, TrafficSelectorContainment) {
  const auto subnet = TrafficSelector::of(*IpPrefix::parse("10.0.0.0/24"));
  EXPECT_TRUE(subnet.contains(TrafficSelector::of(*IpPrefix::parse("10.0.0.7"), 17, PortRange::single(53))));
  EXPECT_FALSE(subnet.contains(TrafficSelector::of(*IpPrefix::parse("10.0.1.7"))));
  EXPECT_FALSE(TrafficSelector::of(*IpPrefix::parse("10.0.0.7"), 6).contains(TrafficSelector::of(*IpPrefix::parse("10.0.0.7"))));
}

// charon 5.9.8's IKE_SA_INIT request (aes128-sha256-modp2048), captured by strongswan_ikev2_test:
// SA, KE, Nonce, NAT_DETECTION_SOURCE_IP/DESTINATION_IP, IKEV2_FRAGMENTATION_SUPPORTED,
// SIGNATURE_HASH_ALGORITHMS and REDIRECT_SUPPORTED (16406, RFC 5685, a status type Ward does not name).
const char* const kCharonIkeSaInit =
    "10d5d7a28b9fd37b00000000000000002120220800000000000001d0220000300000002c010100040300000c0100000c800e008003000008"
    "0300000c0300000802000005000000080400000e28000108000e0000b28a41b0201dd5600dd3ef12a1306feba8d030bf58f31c1967f64e64"
    "33cd5d21fc6de821a96d2e883a23cc100fbd516c8177b74407f966d1321bf0b88c38009eea71db0b907e78ac5f47cbb1fa2813969fb2aec0"
    "b933bb093e07cc40473c7bbe7f73ae0741afbf860993e5665d4d43246d8c85dea7a8c7157bb41051e41bfc8ef02425132184bde4acfc3ac3"
    "62eb8b4cfe38c8a2e501045e5c12a74b1cc7dd6e7dd13396fd0d9e77f78d1a2da740a2a3dfffb635af06360fee8fba3dfc7c3d75b0f958e7"
    "57c559baf3629a9769a8b651a681256d065fe7e9b6fb18eb1b2a34411a9767604d30cd718894fc4dbc507b1c66934b120f2c91fec0331082"
    "23cfbc0229000024cb666a66dcee62ae2f91985522d0ada423948f574e4125c7d6deeca49ce328282900001c000040043698c023085fc4de"
    "864f38676a31d73fd87101af2900001c0000400573588980c360515e5171dc4b33ab514b6d2a500b290000080000402e290000100000402f"
    "00020003000400050000000800004016";

TEST(Ikev2Payloads, ParsesCharonsIkeSaInitRequest) {
  const auto bytes = from_hex(kCharonIkeSaInit);
  auto parsed = parse_message(bytes);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->header.exchange, ExchangeType::IkeSaInit);
  EXPECT_TRUE(parsed->header.has(HeaderFlag::Initiator));
  ASSERT_EQ(parsed->payloads.size(), 8u);
  const auto& sa = std::get<SaPayload>(parsed->payloads[0]);
  ASSERT_EQ(sa.proposals.size(), 1u);
  EXPECT_EQ(sa.proposals[0].transforms,
            (std::vector<Transform>{{TransformType::Encryption, 12, 128}, {TransformType::Integrity, 12, std::nullopt},
                                    {TransformType::Prf, 5, std::nullopt}, {TransformType::DiffieHellman, 14, std::nullopt}}));
  EXPECT_EQ(std::get<KePayload>(parsed->payloads[1]).group, 14);
  EXPECT_EQ(std::get<KePayload>(parsed->payloads[1]).data.size(), 256u);
  EXPECT_EQ(std::get<NoncePayload>(parsed->payloads[2]).data.size(), 32u);
  EXPECT_NE(parsed->find_notify(NotifyType::NatDetectionSourceIp), nullptr);
  EXPECT_NE(parsed->find_notify(NotifyType::Ikev2FragmentationSupported), nullptr);
  EXPECT_EQ(std::get<NotifyPayload>(parsed->payloads[7]).type, 16406);
  // Re-encoded, the same bytes.
  auto again = encode_message(parsed->header, parsed->payloads);
  ASSERT_TRUE(again);
  EXPECT_EQ(to_hex(*again), to_hex(bytes));
}

}  // namespace
}  // namespace ward::ike::v2
