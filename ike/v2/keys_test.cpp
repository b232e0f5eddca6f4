// The key schedule against published values: the NIST SP 800-135 IKEv2 KDF (CAVS) vector for
// HMAC-SHA-1 with 8-byte nonces, as libreswan's programs/cavp carries it (SKEYSEED, DKM =
// prf+(SKEYSEED, Ni|Nr|SPIi|SPIr) of 132 bytes, DKM(Child SA) = prf+(SK_d, Ni|Nr),
// DKM(Child SA D-H) = prf+(SK_d, g^ir(new)|Ni|Nr), SKEYSEED(Rekey)); and HMAC-SHA-256 from
// RFC 4231 test case 2 as the PRF; and charon's SHA2-256 schedule from an interop run
// (charon_vector.h), which also checks the PSK AUTH computation and NAT-D.
#include <gtest/gtest.h>

#include "ike/tests/hex.h"
#include "ike/v2/charon_vector.h"
#include "ike/v2/ike_sa_init.h"
#include "ike/v2/keys.h"

namespace ward::ike::v2 {
namespace {

using ike::testing::from_hex;
using ike::testing::to_hex;
using Bytes = std::vector<std::byte>;

std::string hex(const SecureBytes& s) { return to_hex(s.reveal()); }

struct CavsVector {
  Bytes g_ir = from_hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52");
  Bytes g_ir_new = from_hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330");
  Bytes ni = from_hex("32b50d5f4a3763f3");
  Bytes nr = from_hex("9206a04b26564cb1");
  Bytes spi_i = from_hex("34c9e7c188868785");
  Bytes spi_r = from_hex("3ff77d760d2b2199");
  std::size_t dkm_size = 132;
};

constexpr const char* kDkm =
    "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f1"
    "0d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05eb"
    "adca855e4249520a441a81157435a7a56cc4";

TEST(Ikev2Keys, CavsSkeyseedAndDkm) {
  const CavsVector v;
  const auto seed = skeyseed(PrfId::HmacSha1, v.ni, v.nr, v.g_ir);
  EXPECT_EQ(hex(seed), "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7");
  Bytes s = v.ni;
  s.insert(s.end(), v.nr.begin(), v.nr.end());
  s.insert(s.end(), v.spi_i.begin(), v.spi_i.end());
  s.insert(s.end(), v.spi_r.begin(), v.spi_r.end());
  auto dkm = prf_plus(PrfId::HmacSha1, seed.reveal(), s, v.dkm_size);
  ASSERT_TRUE(dkm);
  EXPECT_EQ(hex(*dkm), kDkm);
}

// derive_ike_sa_keys cuts the same stream: SK_d is its first 20 bytes, and the rest follow in
// RFC 7296's order (here integrity 20, encryption 16: 3*20 + 2*20 + 2*16 = 132).
TEST(Ikev2Keys, CavsIkeSaKeysAreSlicesOfDkm) {
  const CavsVector v;
  const auto seed = skeyseed(PrfId::HmacSha1, v.ni, v.nr, v.g_ir);
  auto keys = derive_ike_sa_keys(PrfId::HmacSha1, seed, v.ni, v.nr, v.spi_i, v.spi_r, 20, 16);
  ASSERT_TRUE(keys);
  const std::string dkm = kDkm;
  EXPECT_EQ(hex(keys->sk_d), dkm.substr(0, 40));
  EXPECT_EQ(hex(keys->sk_ai), dkm.substr(40, 40));
  EXPECT_EQ(hex(keys->sk_ar), dkm.substr(80, 40));
  EXPECT_EQ(hex(keys->sk_ei), dkm.substr(120, 32));
  EXPECT_EQ(hex(keys->sk_er), dkm.substr(152, 32));
  EXPECT_EQ(hex(keys->sk_pi), dkm.substr(184, 40));
  EXPECT_EQ(hex(keys->sk_pr), dkm.substr(224, 40));
}

TEST(Ikev2Keys, CavsChildSaKeymatAndRekey) {
  const CavsVector v;
  const SecureBytes sk_d(std::span<const std::byte>(from_hex(std::string(kDkm).substr(0, 40))));
  auto child = child_keymat(PrfId::HmacSha1, sk_d, {}, v.ni, v.nr, v.dkm_size);
  ASSERT_TRUE(child);
  EXPECT_EQ(hex(*child),
            "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0d"
            "c9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d"
            "319d41d4b50b3f510b1c0a22f3e664994d234cb4");
  auto child_dh = child_keymat(PrfId::HmacSha1, sk_d, v.g_ir_new, v.ni, v.nr, v.dkm_size);
  ASSERT_TRUE(child_dh);
  EXPECT_EQ(hex(*child_dh),
            "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a"
            "10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc"
            "863ab49fa901227cffc06e27899c7054d56fd74c");
  EXPECT_EQ(hex(skeyseed_rekey(PrfId::HmacSha1, sk_d.reveal(), v.g_ir_new, v.ni, v.nr)),
            "63e81194946ebd05df7df5ebf5d8750056bf1f1d");
}

// charon's SHA2-256 schedule (charon_vector.h): SKEYSEED, the seven SK_* keys, the child SA's
// KEYMAT in RFC 7296 2.17's order, both AUTH values with their MACed IDs, and NAT-D.
namespace cv = charon_vector;

TEST(Ikev2Keys, CharonSha256IkeSaKeys) {
  const auto seed = skeyseed(PrfId::HmacSha2_256, from_hex(cv::kNi), from_hex(cv::kNr), from_hex(cv::kGir));
  EXPECT_EQ(hex(seed), cv::kSkeyseed);
  auto keys = derive_ike_sa_keys(PrfId::HmacSha2_256, seed, from_hex(cv::kNi), from_hex(cv::kNr), from_hex(cv::kSpiI),
                                 from_hex(cv::kSpiR), 32, 16);
  ASSERT_TRUE(keys);
  EXPECT_EQ(hex(keys->sk_d), cv::kSkD);
  EXPECT_EQ(hex(keys->sk_ai), cv::kSkAi);
  EXPECT_EQ(hex(keys->sk_ar), cv::kSkAr);
  EXPECT_EQ(hex(keys->sk_ei), cv::kSkEi);
  EXPECT_EQ(hex(keys->sk_er), cv::kSkEr);
  EXPECT_EQ(hex(keys->sk_pi), cv::kSkPi);
  EXPECT_EQ(hex(keys->sk_pr), cv::kSkPr);
}

TEST(Ikev2Keys, CharonSha256ChildSaKeymat) {
  const SecureBytes sk_d(std::span<const std::byte>(from_hex(cv::kSkD)));
  auto keymat = child_keymat(PrfId::HmacSha2_256, sk_d, {}, from_hex(cv::kNi), from_hex(cv::kNr), 2 * (16 + 32));
  ASSERT_TRUE(keymat);
  EXPECT_EQ(hex(*keymat), std::string(cv::kEspEncryptionI) + cv::kEspIntegrityI + cv::kEspEncryptionR + cv::kEspIntegrityR);
}

// AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, ID')): the octets
// charon signed are split back into the message, the peer's nonce and the MACed ID.
void expect_auth(const char* octets_hex, const char* sk_p_hex, const char* id_body_hex, const char* auth_hex) {
  const auto octets = from_hex(octets_hex);
  const std::span<const std::byte> all(octets);
  const auto message = all.first(all.size() - 64);
  const auto nonce = all.subspan(all.size() - 64, 32);
  const SecureBytes sk_p(std::span<const std::byte>(from_hex(sk_p_hex)));
  EXPECT_EQ(hex(prf(PrfId::HmacSha2_256, sk_p.reveal(), {from_hex(id_body_hex)})), to_hex(all.last(32)));
  const std::string key = cv::kPresharedKey;
  EXPECT_EQ(hex(psk_auth(PrfId::HmacSha2_256, std::as_bytes(std::span(key.data(), key.size())), message, nonce, sk_p,
                         from_hex(id_body_hex))),
            auth_hex);
}

TEST(Ikev2Keys, CharonSha256PresharedKeyAuth) {
  expect_auth(cv::kInitiatorOctets, cv::kSkPi, cv::kIdiBody, cv::kInitiatorAuth);
  expect_auth(cv::kResponderOctets, cv::kSkPr, cv::kIdrBody, cv::kResponderAuth);
  // The nonces in the octets are the peers' (Nr for the initiator, Ni for the responder).
  EXPECT_NE(std::string(cv::kInitiatorOctets).find(cv::kNr), std::string::npos);
  EXPECT_NE(std::string(cv::kResponderOctets).find(cv::kNi), std::string::npos);
}

TEST(Ikev2Keys, CharonNatDetectionHash) {
  Spi spi_i{};
  const auto raw = from_hex(cv::kSpiI);
  std::copy(raw.begin(), raw.end(), spi_i.begin());
  EXPECT_EQ(to_hex(nat_detection_hash(spi_i, Spi{}, Endpoint{*IpAddress::parse("10.77.0.1"), 500})), cv::kNatdRequestSource);
}

// RFC 4231 4.3 (test case 2): HMAC-SHA-256 with key "Jefe" as PRF_HMAC_SHA2_256.
TEST(Ikev2Keys, PrfHmacSha256MatchesRfc4231) {
  const std::string key = "Jefe", data = "what do ya want for nothing?";
  const auto out = prf(PrfId::HmacSha2_256, std::as_bytes(std::span(key.data(), key.size())),
                       {std::as_bytes(std::span(data.data(), data.size()))});
  EXPECT_EQ(hex(out), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Ikev2Keys, PrfPlusRefusesMoreThan255Blocks) {
  const Bytes key(20, std::byte{1});
  EXPECT_TRUE(prf_plus(PrfId::HmacSha1, key, key, 255 * 20));
  EXPECT_FALSE(prf_plus(PrfId::HmacSha1, key, key, 255 * 20 + 1));
}

}  // namespace
}  // namespace ward::ike::v2
