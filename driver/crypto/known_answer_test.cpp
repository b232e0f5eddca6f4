// Known-answer tests from published vectors, typed in as hex with the source cited.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_writer.h"
#include "driver/crypto/esp.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/test_packets.h"
#include "driver/crypto/transforms.h"

namespace ward::driver::crypto {
namespace {

using testing::from_hex;
using Bytes = std::vector<std::byte>;

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += kDigits[std::to_integer<unsigned>(b) >> 4];
    out += kDigits[std::to_integer<unsigned>(b) & 0xf];
  }
  return out;
}

// ---- McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B test cases ----

struct GcmCase {
  const char* name;
  const char* key;
  const char* iv;  // 96 bits: the first 4 bytes play the RFC 4106 salt, the last 8 the explicit IV
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

const GcmCase kGcmCases[] = {
    {"TestCase1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"TestCase2", "00000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"TestCase3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"TestCase4", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"TestCase13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TestCase16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

class GcmKnownAnswer : public ::testing::TestWithParam<GcmCase> {};

TEST_P(GcmKnownAnswer, SealAndOpenMatchThePaper) {
  const GcmCase& c = GetParam();
  const Bytes key = from_hex(c.key);
  const Bytes iv = from_hex(c.iv);
  Bytes key_material = key;
  key_material.insert(key_material.end(), iv.begin(), iv.begin() + kGcmSaltLength);
  const Cipher cipher = key.size() == kAes128KeyLength ? Cipher::AesGcm128 : Cipher::AesGcm256;
  const std::span<const std::byte> explicit_iv = std::span<const std::byte>(iv).subspan(kGcmSaltLength);

  auto sealer = CipherTransform::create(cipher, key_material, CipherOperation::Encrypt);
  ASSERT_TRUE(sealer) << sealer.error();
  Bytes data = from_hex(c.plaintext);
  Bytes tag(kGcmIcvLength);
  ASSERT_TRUE(sealer->seal(explicit_iv, from_hex(c.aad), data, tag));
  EXPECT_EQ(hex(data), c.ciphertext);
  EXPECT_EQ(hex(tag), c.tag);

  auto opener = CipherTransform::create(cipher, key_material, CipherOperation::Decrypt);
  ASSERT_TRUE(opener) << opener.error();
  const Bytes ciphertext = from_hex(c.ciphertext);
  Bytes plaintext(ciphertext.size());
  ASSERT_TRUE(opener->open(explicit_iv, from_hex(c.aad), ciphertext, plaintext, from_hex(c.tag)));
  EXPECT_EQ(hex(plaintext), c.plaintext);
  // The same context, reused, rejects a wrong tag.
  Bytes bad_tag = from_hex(c.tag);
  bad_tag[0] ^= std::byte{1};
  EXPECT_FALSE(opener->open(explicit_iv, from_hex(c.aad), ciphertext, plaintext, bad_tag));
}

INSTANTIATE_TEST_SUITE_P(McGrewViega, GcmKnownAnswer, ::testing::ValuesIn(kGcmCases),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

// ---- HMAC: RFC 2202 (HMAC-MD5, HMAC-SHA-1) and RFC 4231 (HMAC-SHA-256) ----

struct HmacCase {
  const char* name;
  Integrity integrity;
  const char* key;
  const char* data;  // hex
  const char* mac;   // full, or as truncated in the RFC
};

const HmacCase kHmacCases[] = {
    // RFC 2202 section 3 (HMAC-SHA-1), test cases 1, 2, 3, 6.
    {"Rfc2202Sha1Case1", Integrity::HmacSha1_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"Rfc2202Sha1Case2", Integrity::HmacSha1_96, "4a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {"Rfc2202Sha1Case3", Integrity::HmacSha1_96, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     // 50 bytes of 0xdd
     "dddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddddddddddddddddd",
     "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
    // RFC 2202 section 2 (HMAC-MD5), test cases 1 and 2.
    {"Rfc2202Md5Case1", Integrity::HmacMd5_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "9294727a3638bb1c13f48ef8158bfc9d"},
    {"Rfc2202Md5Case2", Integrity::HmacMd5_96, "4a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "750c783e6ab0b503eaa86e310a5db738"},
    // RFC 4231 section 4.2 / 4.3 (HMAC-SHA-256), test cases 1 and 2.
    {"Rfc4231Case1", Integrity::HmacSha256_128, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"Rfc4231Case2", Integrity::HmacSha256_128, "4a656665",
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    // RFC 4231 section 4.6, test case 5: output truncated to 128 bits, as HMAC-SHA-256-128 does.
    {"Rfc4231Case5Truncated", Integrity::HmacSha256_128, "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
     "546573742057697468205472756e636174696f6e", "a3b6167473100ee06e0c796c2955552b"},
    // RFC 4868 section 2.7.2.1, Test Case AUTH256-1: a 32-byte key, the ESP key size.
    {"Rfc4868Auth256Case1", Integrity::HmacSha256_128,
     "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"},
};

class HmacKnownAnswer : public ::testing::TestWithParam<HmacCase> {};

TEST_P(HmacKnownAnswer, MatchesTheRfc) {
  const HmacCase& c = GetParam();
  auto mac = IntegrityTransform::create(c.integrity, from_hex(c.key));
  ASSERT_TRUE(mac) << mac.error();
  const Bytes data = from_hex(c.data);
  const Bytes expected = from_hex(c.mac);
  Bytes out(expected.size());
  const std::array<std::span<const std::byte>, 1> parts{data};
  ASSERT_TRUE(mac->compute(parts, out));
  EXPECT_EQ(hex(out), c.mac);
  // Twice through the same context (re-keyed without a key each packet) gives the same answer.
  ASSERT_TRUE(mac->compute(parts, out));
  EXPECT_EQ(hex(out), c.mac);
  // The ESP ICV is the truncation; verify() accepts it and rejects a flipped bit.
  Bytes icv(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(mac->icv_length()));
  EXPECT_TRUE(mac->verify(parts, icv));
  icv.back() ^= std::byte{0x80};
  EXPECT_FALSE(mac->verify(parts, icv));
}

INSTANTIATE_TEST_SUITE_P(Rfc, HmacKnownAnswer, ::testing::ValuesIn(kHmacCases),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

// ---- RFC 3602 section 4: AES-CBC ESP packets ----

SaParams cbc_esp(std::uint32_t spi, const char* key, Direction direction) {
  SaParams params;
  params.protocol = SecurityProtocol::Esp;
  params.spi = spi;
  params.direction = direction;
  params.mode = Mode::Transport;
  params.cipher = Cipher::AesCbc128;
  params.encryption_key = SecureBytes(from_hex(key));
  // RFC 3602's packets carry no ICV; we add HMAC-SHA1-96 (the RFC does not fix one) and compare
  // everything in front of it.
  params.integrity = Integrity::HmacSha1_96;
  params.integrity_key = SecureBytes(testing::pattern_bytes(kHmacSha1KeyLength));
  return params;
}

TEST(Rfc3602, Case5TransportModePacket) {
  // RFC 3602 section 4, Case #5: sample transport-mode ESP packet (ping 192.168.123.100).
  const Bytes original = from_hex(
      "45000054 08f20000 4001f9fe c0a87b03 c0a87b64"
      "08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617"
      "18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637");
  const Bytes iv = from_hex("e96e8c08 ab465763 fd098d45 dd3ff893");
  const Bytes published = from_hex(
      "4500007c 08f20000 4032f9a5 c0a87b03 c0a87b64"
      "00004321 00000001"
      "e96e8c08 ab465763 fd098d45 dd3ff893"
      "f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856"
      "a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a"
      "a269add0 47ad2d59 13ac19b7 cfbad4a6");

  auto sender = EspSa::create(cbc_esp(0x4321, "90d382b4 10eeba7a d938c46c ec1a82bf", Direction::Outbound));
  ASSERT_TRUE(sender) << sender.error();
  Bytes wire;
  ASSERT_TRUE(sender->encapsulate_test_vector(original, wire, FixedSequenceAndIv{1, iv}));
  ASSERT_EQ(wire.size(), published.size() + kHmacSha1IcvLength);
  // The IP header (total length grows by the ICV, so its checksum too) ...
  EXPECT_EQ(hex(std::span(wire).subspan(20, published.size() - 20)), hex(std::span(published).subspan(20)));
  // ... and the first 12 header bytes other than length and checksum match.
  EXPECT_EQ(hex(std::span(wire).subspan(4, 6)), hex(std::span(published).subspan(4, 6)));
  EXPECT_EQ(hex(std::span(wire).subspan(12, 8)), hex(std::span(published).subspan(12, 8)));

  auto receiver = EspSa::create(cbc_esp(0x4321, "90d382b4 10eeba7a d938c46c ec1a82bf", Direction::Inbound));
  ASSERT_TRUE(receiver) << receiver.error();
  Bytes decrypted;
  auto opened = receiver->decapsulate(wire, decrypted);
  ASSERT_TRUE(opened) << name_of(opened.error());
  EXPECT_EQ(opened->sequence, 1U);
  EXPECT_EQ(opened->next_header, 1);  // ICMP
  EXPECT_EQ(hex(decrypted), hex(original));  // header restored, checksum f9fe included
}

TEST(Rfc3602, Case5HeaderLengthAndChecksumWithoutIcv) {
  // The published outer header (4500007c ... 4032f9a5) is what our header rewrite gives for a
  // packet of the published length: check the rewrite with the ICV left off.
  const Bytes published_header = from_hex("4500007c 08f20000 4032f9a5 c0a87b03 c0a87b64");
  ByteWriter writer;
  writer.bytes(from_hex("45000054 08f20000 4001f9fe c0a87b03 c0a87b64"));
  writer.patch_u8(9, 50);
  writer.zeros(0x7c - 20);
  ASSERT_TRUE(finish_ip_header(writer, IpVersion::V4, 20));
  EXPECT_EQ(hex(writer.written().first(20)), hex(published_header));
}

TEST(Rfc3602, Case7TunnelModePacket) {
  // RFC 3602 section 4, Case #7: sample tunnel-mode ESP packet (ping 192.168.123.200), SPI 0x8765,
  // sequence number 2. Outer header: 4500008c 09050000 4032f91e c0a87b03 c0a87bc8.
  const Bytes inner = from_hex(
      "45000054 09040000 4001f988 c0a87b03 c0a87bc8 08009f76 a90a0100 b49c083d"
      "02a20400 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f 20212223"
      "24252627 28292a2b 2c2d2e2f 30313233 34353637");
  const Bytes iv = from_hex("f4e76524 4f6407ad f13dc138 0f673f37");
  const Bytes published_esp = from_hex(
      "00008765 00000002"
      "f4e76524 4f6407ad f13dc138 0f673f37"
      "773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8"
      "e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5"
      "c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d");
  SaParams params = cbc_esp(0x8765, "01234567 89abcdef 01234567 89abcdef", Direction::Outbound);
  params.mode = Mode::Tunnel;
  params.tunnel = TunnelEndpoints{IpAddress::v4(192, 168, 123, 3), IpAddress::v4(192, 168, 123, 200)};
  auto sender = EspSa::create(params);
  ASSERT_TRUE(sender) << sender.error();
  Bytes wire;
  ASSERT_TRUE(sender->encapsulate_test_vector(inner, wire, FixedSequenceAndIv{2, iv}));
  ASSERT_EQ(wire.size(), 20 + published_esp.size() + kHmacSha1IcvLength);
  EXPECT_EQ(hex(std::span(wire).subspan(20, published_esp.size())), hex(published_esp));
  EXPECT_EQ(std::to_integer<int>(wire[9]), 50);

  params.direction = Direction::Inbound;
  std::swap(params.tunnel->local, params.tunnel->remote);
  auto receiver = EspSa::create(params);
  ASSERT_TRUE(receiver) << receiver.error();
  Bytes decrypted;
  auto opened = receiver->decapsulate(wire, decrypted);
  ASSERT_TRUE(opened) << name_of(opened.error());
  EXPECT_EQ(opened->next_header, kProtoIpv4InIp);
  EXPECT_EQ(hex(decrypted), hex(inner));
}

// ---- draft-mcgrew-gcm-test-01 section 4: AES-GCM ESP packets (RFC 4106 usage) ----

struct GcmEspCase {
  const char* name;
  Cipher cipher;
  const char* key_and_salt;
  std::uint32_t spi;
  std::uint64_t sequence;
  const char* iv;
  const char* esp_packet;  // SPI .. ICV
  const char* payload;     // the decrypted payload without padding and trailer
  std::uint8_t next_header;
};

const GcmEspCase kGcmEspCases[] = {
    {"Aes128", Cipher::AesGcm128, "feffe992 8665731c 6d6a8f94 67308308 cafebabe", 0x0000a5f8, 0x0a,
     "facedbad decaf888",
     "0000a5f8 0000000a facedbad decaf888"
     "deb22cd9 b07c72c1 6e3a65be eb8df304 a5a5897d 33ae530f 1ba76d5d 114d2a5c"
     "3de81827 c10e9a4f 51330d0e ec416642 cfbb85a5 b47e48a4 ec3b9ba9 5d918bd1"
     "83b70d3a a8bc6ee4 c309e9d8 5a41ad4a",
     "4500003e 698f0000 80114dcc c0a80102 c0a80101 0a980035 002a2343 b2d00100"
     "00010000 00000000 03736970 09637962 65726369 74790264 6b000001 0001",
     0x01},
    {"Aes256", Cipher::AesGcm256,
     "abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab 11223344", 0x4a2cbfe3, 2,
     "01020304 05060708",
     "4a2cbfe3 00000002 01020304 05060708"
     "ff425c9b 724599df 7a3bcd51 0194e00d 6a78107f 1b0b1cbf 06efae9d 65a5d763"
     "748a6379 85771d34 7f054565 9f14e99d ef842d8e b335f4ee cfdbf831 824b4c49"
     "15956c96",
     "45000030 69a64000 80062690 c0a80102 9389155e 0a9e008b 2dc57ee0 00000000"
     "70024000 20bf0000 020405b4 01010402",
     0x01},
};

class GcmEspKnownAnswer : public ::testing::TestWithParam<GcmEspCase> {};

TEST_P(GcmEspKnownAnswer, SealAndOpenTheDraftPacket) {
  const GcmEspCase& c = GetParam();
  SaParams params;
  params.protocol = SecurityProtocol::Esp;
  params.spi = c.spi;
  params.cipher = c.cipher;
  params.encryption_key = SecureBytes(from_hex(c.key_and_salt));
  params.direction = Direction::Outbound;
  auto sender = EspSa::create(params);
  ASSERT_TRUE(sender) << sender.error();
  ByteWriter writer;
  const Bytes iv = from_hex(c.iv);
  const FixedSequenceAndIv fixed{c.sequence, iv};
  ASSERT_TRUE(sender->seal(writer, c.next_header, from_hex(c.payload), &fixed));
  EXPECT_EQ(hex(writer.written()), hex(from_hex(c.esp_packet)));

  params.direction = Direction::Inbound;
  auto receiver = EspSa::create(params);
  ASSERT_TRUE(receiver) << receiver.error();
  ByteWriter plain;
  auto opened = receiver->open(from_hex(c.esp_packet), plain);
  ASSERT_TRUE(opened) << name_of(opened.error());
  EXPECT_EQ(opened->sequence, c.sequence);
  EXPECT_EQ(opened->next_header, c.next_header);
  EXPECT_EQ(hex(plain.written()), hex(from_hex(c.payload)));
}

INSTANTIATE_TEST_SUITE_P(DraftMcgrewGcmTest, GcmEspKnownAnswer, ::testing::ValuesIn(kGcmEspCases),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace ward::driver::crypto
