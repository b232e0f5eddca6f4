// ike/crypto: known answers where RFCs publish them (RFC 5903 ECP, RFC 2202 / RFC 4231 HMAC),
// independently computed ones for group 2 (RFC 2409 6.2), consistency checks elsewhere (MODP
// agreement, RFC 2409 appendix B expansion, KEYMAT).
#include <gtest/gtest.h>

#include "ike/crypto/cbc.h"
#include "ike/crypto/dh.h"
#include "ike/crypto/keys.h"
#include "ike/crypto/prf.h"
#include "ike/tests/hex.h"

namespace ward::ike::crypto {
namespace {

using testing::from_hex;
using testing::to_hex;

std::vector<std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), reinterpret_cast<const std::byte*>(text.data()) + text.size()};
}

struct EcpVector {
  IkeGroupDescription group;
  const char *i, *gi, *r, *gr, *shared;
};

// RFC 5903 8.1 (256-bit random ECP group) and 8.2 (384-bit): KE data is gx || gy, the shared
// secret is girx only.
const EcpVector kRfc5903[] = {
    {IkeGroupDescription::Ecp256, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {IkeGroupDescription::Ecp384,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA"
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571"
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746"},
};

constexpr const char* kRfc2409Group2Prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B"
    "302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE6"
    "49286651ECE65381FFFFFFFFFFFFFFFF";
constexpr const char* kGroup2X =
    "3e728e92a42d2e5b7ce88610c5a46871e9e8c72ebf98856cffbbfd8e8eb7e16b5db9db7af86ccb558c34f3c7d2dd58e8a748a69af9917b36f7241a235f203974";
constexpr const char* kGroup2Gx =
    "d1a556fe655c446d527c0abc926ccef7abc81dfa8b2863437ab56bcc957ce896268f3bf784c3ab54cad24808353d958f68bf8d71b2da9ebe783282a8efcfe037"
    "f3806238a79f3f3bd9c51682c6ebdf4deb65d18532d5c714f7bd99afe5ab1fdb472f2407ed408e19e747a763a736e21fe9c0ed5cbd64302b941d757cfa34d680";
constexpr const char* kGroup2Y =
    "4f2ba9a87409ac63d48ac5ad3ecebb780ec9da2b985f8435d3da724c9f1d9b58e376e19f80335c10575cbc4bb87e34d18734eec984b2889af1215f53fd10cd2f";
constexpr const char* kGroup2Gy =
    "885b07475cf5b72ca48e1da277b10a872af6c480a2daa215c2e701906d52b9d9a0b2cc0991b2788b59678d2ded756585578c189656d37890a5f109742e0c14ca"
    "4eda2dff9d501731606ac8de80fb7992dcaad29bb238c5bb5352fe54f2b0cab5b6ec9e31963d70b60f2d70bb2c7649bccd1fb856f241066dc0c0864335b0d512";
constexpr const char* kGroup2Shared =
    "b5ab79d00d1105935ccc865740fdcbc0ba4dd34913785d106260aa5244616007f45302352b81664bada57e38d9a90d5dc509505e522b2dfb2fba523baae0d4ce"
    "4fc621cf44ad7784e65f60d8d37075ec995a5396c874786000bbaea5712fe89e015b7e3c2c21c8716097c2d6d68690303493cecfe7c0e7771ab77df8b7c2ce62";
constexpr const char* kGroup2LeadingZero =
    "005df659ecc13bec4b386ae379771d929495e1d8c8e5a037b5707f1670675458fb6168aa1a4354732f0d0a83cca39ef362f701473f4e2f9c6a14c8280b87a8ab"
    "01f83a64395d5c65cf94b948a3b46844c8a27734def2d5c80fa28e484bb8c6e873f47283c10e8f20a731f33487d73bda90138b900b4c98e3b68ea41ebcfea28a";

TEST(IkeDiffieHellman, Rfc5903EcpVectorsGiveThePublishedSharedSecretFromBothSides) {
  for (const auto& v : kRfc5903) {
    auto initiator = DiffieHellman::from_private_for_test(v.group, from_hex(v.i), from_hex(v.gi));
    auto responder = DiffieHellman::from_private_for_test(v.group, from_hex(v.r), from_hex(v.gr));
    ASSERT_TRUE(initiator.has_value()) << initiator.error();
    ASSERT_TRUE(responder.has_value()) << responder.error();
    EXPECT_EQ(initiator->public_value(), from_hex(v.gi)) << "KE data is x||y, no 0x04";
    auto s1 = initiator->shared_secret(from_hex(v.gr));
    auto s2 = responder->shared_secret(from_hex(v.gi));
    ASSERT_TRUE(s1.has_value()) << s1.error();
    ASSERT_TRUE(s2.has_value()) << s2.error();
    EXPECT_EQ(to_hex(s1->reveal()), to_hex(from_hex(v.shared))) << "shared secret is x only";
    EXPECT_EQ(to_hex(s2->reveal()), to_hex(from_hex(v.shared)));
  }
}

// shared_secret keeps the peer's key object per thread and group: a refused value in between
// must leave no trace, and each derive must use the value it was given.
TEST(IkeDiffieHellman, EachDeriveUsesItsOwnPeerValueAlsoAfterARefusedOne) {
  for (const auto& v : kRfc5903) {
    auto initiator = DiffieHellman::from_private_for_test(v.group, from_hex(v.i), from_hex(v.gi));
    auto responder = DiffieHellman::from_private_for_test(v.group, from_hex(v.r), from_hex(v.gr));
    ASSERT_TRUE(initiator.has_value() && responder.has_value());
    auto other = DiffieHellman::generate(v.group);
    ASSERT_TRUE(other.has_value()) << other.error();
    auto off_curve = from_hex(v.gr);
    off_curve.back() ^= std::byte{0x01};
    for (int round = 0; round < 2; ++round) {
      auto s1 = initiator->shared_secret(from_hex(v.gr));
      ASSERT_TRUE(s1.has_value()) << s1.error();
      EXPECT_EQ(to_hex(s1->reveal()), to_hex(from_hex(v.shared)));
      EXPECT_FALSE(initiator->shared_secret(off_curve).has_value());
      auto s2 = initiator->shared_secret(other->public_value());
      auto s3 = other->shared_secret(initiator->public_value());
      ASSERT_TRUE(s2.has_value() && s3.has_value());
      EXPECT_TRUE(equal_constant_time(s2->reveal(), s3->reveal()));
      EXPECT_NE(to_hex(s2->reveal()), to_hex(from_hex(v.shared))) << "not the previous peer's value";
    }
  }
}

TEST(IkeDiffieHellman, GeneratedPairsAgreeForGroups2_14_19_20) {
  for (const auto group : {IkeGroupDescription::Modp1024, IkeGroupDescription::Modp2048, IkeGroupDescription::Ecp256,
                           IkeGroupDescription::Ecp384}) {
    auto a = DiffieHellman::generate(group);
    auto b = DiffieHellman::generate(group);
    ASSERT_TRUE(a.has_value()) << a.error();
    ASSERT_TRUE(b.has_value()) << b.error();
    EXPECT_EQ(a->public_value().size(), public_value_size(group));
    auto s1 = a->shared_secret(b->public_value());
    auto s2 = b->shared_secret(a->public_value());
    ASSERT_TRUE(s1.has_value()) << s1.error();
    ASSERT_TRUE(s2.has_value()) << s2.error();
    EXPECT_TRUE(equal_constant_time(s1->reveal(), s2->reveal()));
    const bool modp = group == IkeGroupDescription::Modp1024 || group == IkeGroupDescription::Modp2048;
    const std::size_t want = modp ? public_value_size(group) : public_value_size(group) / 2;
    EXPECT_EQ(s1->size(), want) << "g^xy padded to the prime / coordinate size";
  }
}

TEST(IkeDiffieHellman, BadPeerValuesAreRefused) {
  auto ecp = DiffieHellman::generate(IkeGroupDescription::Ecp256);
  ASSERT_TRUE(ecp.has_value());
  auto off_curve = ecp->public_value();
  off_curve.back() ^= std::byte{0x01};
  EXPECT_FALSE(ecp->shared_secret(off_curve).has_value());
  EXPECT_FALSE(ecp->shared_secret(std::vector<std::byte>(10)).has_value());

  auto modp = DiffieHellman::generate(IkeGroupDescription::Modp2048);
  ASSERT_TRUE(modp.has_value());
  std::vector<std::byte> one(256);
  one.back() = std::byte{1};
  EXPECT_FALSE(modp->shared_secret(one).has_value()) << "g^x = 1 is a degenerate value";
  EXPECT_FALSE(modp->shared_secret(std::vector<std::byte>(256)).has_value()) << "0";
  EXPECT_FALSE(modp->shared_secret(std::vector<std::byte>(256, std::byte{0xff})).has_value()) << "above p";
  std::vector<std::byte> x_above_field(64, std::byte{0xff});   // x, y >= the P-256 field prime
  EXPECT_FALSE(ecp->shared_secret(x_above_field).has_value());
  EXPECT_FALSE(ecp->shared_secret(std::vector<std::byte>(64)).has_value()) << "(0, 0) is not on the curve";
  EXPECT_FALSE(DiffieHellman::generate(IkeGroupDescription::Modp768).has_value()) << "group 1 is never implemented";

  auto group2 = DiffieHellman::generate(IkeGroupDescription::Modp1024);
  ASSERT_TRUE(group2.has_value()) << group2.error();
  std::vector<std::byte> one_1024(128);
  one_1024.back() = std::byte{1};
  EXPECT_FALSE(group2->shared_secret(one_1024).has_value()) << "g^x = 1 is a degenerate value";
  std::vector<std::byte> p_minus_1 = from_hex(kRfc2409Group2Prime);
  p_minus_1.back() = std::byte{0xfe};
  EXPECT_FALSE(group2->shared_secret(p_minus_1).has_value()) << "p - 1 has order 2";
  EXPECT_FALSE(group2->shared_secret(std::vector<std::byte>(256, std::byte{1})).has_value()) << "a group 14 sized value";
}

// Group 2 known answers, computed independently (Python's pow(2, x, p) over the prime printed in
// RFC 2409 6.2): the KE data and the shared secret from both sides, and the padding of a public
// value whose top byte is zero.
TEST(IkeDiffieHellman, Group2KnownAnswersFromBothSides) {
  const auto group = IkeGroupDescription::Modp1024;
  EXPECT_TRUE(is_supported_group(group));
  EXPECT_TRUE(is_legacy_group(group));
  EXPECT_EQ(public_value_size(group), 128u);
  auto initiator = DiffieHellman::from_private_for_test(group, from_hex(kGroup2X), from_hex(kGroup2Gx));
  auto responder = DiffieHellman::from_private_for_test(group, from_hex(kGroup2Y), from_hex(kGroup2Gy));
  ASSERT_TRUE(initiator.has_value()) << initiator.error();
  ASSERT_TRUE(responder.has_value()) << responder.error();
  EXPECT_EQ(to_hex(initiator->public_value()), to_hex(from_hex(kGroup2Gx)));
  auto s1 = initiator->shared_secret(from_hex(kGroup2Gy));
  auto s2 = responder->shared_secret(from_hex(kGroup2Gx));
  ASSERT_TRUE(s1.has_value()) << s1.error();
  ASSERT_TRUE(s2.has_value()) << s2.error();
  EXPECT_EQ(to_hex(s1->reveal()), to_hex(from_hex(kGroup2Shared)));
  EXPECT_EQ(to_hex(s2->reveal()), to_hex(from_hex(kGroup2Shared)));
  // A wrong public value for the exponent is refused (the test aid checks what it is given).
  EXPECT_FALSE(DiffieHellman::from_private_for_test(group, from_hex(kGroup2X), from_hex(kGroup2Gy)).has_value());
  // x = 146968: g^x has a zero top byte, and the KE data keeps it (128 bytes).
  auto small = DiffieHellman::from_private_for_test(group, from_hex("023e18"), from_hex(kGroup2LeadingZero));
  ASSERT_TRUE(small.has_value()) << small.error();
  EXPECT_EQ(small->public_value().size(), 128u);
  EXPECT_EQ(small->public_value().front(), std::byte{0});
  // The prime OpenSSL supplies is the RFC's: p - 1 (order 2) is refused above, and g^x of the
  // published prime matched.
}

TEST(IkePrf, HmacKnownAnswers) {
  // RFC 2202 test case 1 (SHA-1), RFC 4231 test cases 1 and 2 (SHA-256, SHA-384).
  const auto key = std::vector<std::byte>(20, std::byte{0x0b});
  const auto data = bytes_of("Hi There");
  EXPECT_EQ(to_hex(prf(IkeHashAlgorithm::Sha, key, {data}).reveal()), "b617318655057264e28bc0b6fb378c8ef146be00");
  // RFC 2104 / RFC 2202 test case 1 for HMAC-MD5 (16-byte key): the legacy phase 1 PRF.
  const auto md5_key = std::vector<std::byte>(16, std::byte{0x0b});
  EXPECT_EQ(to_hex(prf(IkeHashAlgorithm::Md5, md5_key, {data}).reveal()), "9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(hash_size(IkeHashAlgorithm::Md5), 16u);
  EXPECT_TRUE(is_legacy_hash(IkeHashAlgorithm::Md5));
  EXPECT_FALSE(is_legacy_hash(IkeHashAlgorithm::Sha));
  EXPECT_EQ(to_hex(prf(IkeHashAlgorithm::Sha2_256, key, {data}).reveal()),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(prf(IkeHashAlgorithm::Sha2_384, key, {data}).reveal()),
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6");
  const auto jefe = bytes_of("Jefe");
  const auto what = bytes_of("what do ya want ");
  const auto rest = bytes_of("for nothing?");
  EXPECT_EQ(to_hex(prf(IkeHashAlgorithm::Sha2_256, jefe, {what, rest}).reveal()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
      << "parts are concatenated";
}

TEST(IkeKeys, AppendixBExpansionChainsPrfBlocksWhenSkeyidEIsShort) {
  const SecureBytes skeyid_e(from_hex("00112233445566778899aabbccddeeff00112233"));  // 20 bytes (SHA-1)
  const auto key = expand_encryption_key(IkeHashAlgorithm::Sha, skeyid_e, 32);
  const std::byte zero{0};
  const auto k1 = prf(IkeHashAlgorithm::Sha, skeyid_e.reveal(), {Bytes(&zero, 1)});
  const auto k2 = prf(IkeHashAlgorithm::Sha, skeyid_e.reveal(), {k1.reveal()});
  std::vector<std::byte> want(k1.reveal().begin(), k1.reveal().end());
  want.insert(want.end(), k2.reveal().begin(), k2.reveal().begin() + 12);
  EXPECT_EQ(to_hex(key.reveal()), to_hex(want));
  // Long enough: the first bytes of SKEYID_e, unexpanded.
  const auto short_key = expand_encryption_key(IkeHashAlgorithm::Sha, skeyid_e, 16);
  EXPECT_EQ(to_hex(short_key.reveal()), to_hex(skeyid_e.reveal().first(16)));
}

TEST(IkeKeys, KeymatExpandsWithThePreviousBlockFirst) {
  const SecureBytes skeyid_d(from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"));
  const auto ni = from_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  const auto nr = from_hex("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  const auto km = keymat(IkeHashAlgorithm::Sha2_256, skeyid_d, {}, ProtocolId::IpsecEsp, 0x12345678, ni, nr, 64);
  const auto head = from_hex("0312345678");  // protocol | SPI
  const auto k1 = prf(IkeHashAlgorithm::Sha2_256, skeyid_d.reveal(), {head, ni, nr});
  const auto k2 = prf(IkeHashAlgorithm::Sha2_256, skeyid_d.reveal(), {k1.reveal(), head, ni, nr});
  ASSERT_EQ(km.size(), 64u);
  EXPECT_EQ(to_hex(km.reveal().first(32)), to_hex(k1.reveal()));
  EXPECT_EQ(to_hex(km.reveal().last(32)), to_hex(k2.reveal()));
  const auto other_spi = keymat(IkeHashAlgorithm::Sha2_256, skeyid_d, {}, ProtocolId::IpsecEsp, 0x12345679, ni, nr, 64);
  EXPECT_NE(to_hex(other_spi.reveal()), to_hex(km.reveal())) << "each SPI (direction) gets its own keys";
}

TEST(IkeCbc, RoundTripPadsToTheBlockAndChainsTheIv) {
  for (const unsigned bits : {128u, 256u}) {
    auto cipher = phase1_cipher(IkeEncryptionAlgorithm::AesCbc, bits, false);
    ASSERT_TRUE(cipher.has_value());
    const SecureBytes key(std::vector<std::byte>(cipher->key_size, std::byte{0x42}));
    std::vector<std::byte> iv(16, std::byte{7});
    const auto start_iv = iv;
    const auto plain = bytes_of("thirty-three bytes of plain text!");
    auto sealed = cbc_encrypt(*cipher, key, iv, plain);
    ASSERT_TRUE(sealed.has_value()) << sealed.error();
    EXPECT_EQ(sealed->size(), 48u);
    EXPECT_EQ(iv, last_block(*cipher, *sealed));
    auto opened = cbc_decrypt(*cipher, key, start_iv, *sealed);
    ASSERT_TRUE(opened.has_value());
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), opened->begin()));
    EXPECT_EQ(static_cast<unsigned>(opened->back()), 15u) << "last byte = pad length";
  }
  EXPECT_FALSE(phase1_cipher(IkeEncryptionAlgorithm::TripleDesCbc, 0, false).has_value());
  EXPECT_TRUE(phase1_cipher(IkeEncryptionAlgorithm::TripleDesCbc, 0, true).has_value());
  EXPECT_FALSE(phase1_cipher(IkeEncryptionAlgorithm::AesCbc, 192, false).has_value());
}

}  // namespace
}  // namespace ward::ike::crypto
