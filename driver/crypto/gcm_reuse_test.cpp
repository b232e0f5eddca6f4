// An SA's GCM contexts are keyed once and reused for every packet (through OpenSSL's built-in
// method, builtin_gcm.h). These tests hold the reused contexts to a fresh provider context per
// packet (OpenSSL's default GCM, keyed and given the nonce from scratch), to the paper's known
// answers after many packets, and check that a new key is the only key in use after a rekey.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "driver/crypto/builtin_gcm.h"
#include "driver/crypto/test_packets.h"
#include "driver/crypto/transforms.h"

namespace ward::driver::crypto {
namespace {

using testing::from_hex;
using testing::pattern_bytes;
using Bytes = std::vector<std::byte>;

const unsigned char* in_u8(std::span<const std::byte> bytes) { return reinterpret_cast<const unsigned char*>(bytes.data()); }
unsigned char* out_u8(std::span<std::byte> bytes) { return reinterpret_cast<unsigned char*>(bytes.data()); }

struct Sealed {
  Bytes iv;
  Bytes aad;
  Bytes plaintext;
  Bytes ciphertext;
  Bytes tag;
};

// The reference: a fresh context of the provider's GCM per packet, nonce = salt || explicit IV.
// Returns the ciphertext and tag of `plaintext`, or nothing if OpenSSL refuses.
bool reference_seal(Cipher cipher, std::span<const std::byte> key_material, std::span<const std::byte> iv,
                    std::span<const std::byte> aad, std::span<const std::byte> plaintext, Bytes& ciphertext, Bytes& tag) {
  const std::size_t key_length = key_material.size() - kGcmSaltLength;
  std::unique_ptr<EVP_CIPHER, EvpCipherDeleter> gcm(
      EVP_CIPHER_fetch(nullptr, cipher == Cipher::AesGcm128 ? "AES-128-GCM" : "AES-256-GCM", nullptr));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes nonce(key_material.begin() + static_cast<std::ptrdiff_t>(key_length), key_material.end());
  nonce.insert(nonce.end(), iv.begin(), iv.end());
  ciphertext.assign(plaintext.size(), std::byte{0});
  tag.assign(kGcmIcvLength, std::byte{0});
  int length = 0;
  return gcm && ctx && EVP_EncryptInit_ex2(ctx.get(), gcm.get(), in_u8(key_material), in_u8(nonce), nullptr) == 1 &&
         EVP_EncryptUpdate(ctx.get(), nullptr, &length, in_u8(aad), static_cast<int>(aad.size())) == 1 &&
         (plaintext.empty() ||
          EVP_EncryptUpdate(ctx.get(), out_u8(ciphertext), &length, in_u8(plaintext), static_cast<int>(plaintext.size())) == 1) &&
         EVP_EncryptFinal_ex(ctx.get(), out_u8(ciphertext) + ciphertext.size(), &length) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kGcmIcvLength, out_u8(tag)) == 1;
}

Bytes key_material_for(Cipher cipher, std::uint8_t seed) {
  return pattern_bytes((cipher == Cipher::AesGcm128 ? kAes128KeyLength : kAes256KeyLength) + kGcmSaltLength, seed);
}

// Seals `count` packets of sizes 0..1500 (AAD of 8 and 12 bytes: ESP without and with ESN) with
// one reused context.
std::vector<Sealed> seal_many(CipherTransform& sealer, std::size_t count, std::uint8_t seed) {
  std::vector<Sealed> packets;
  for (std::size_t i = 0; i < count; ++i) {
    Sealed p;
    p.iv.assign(kGcmExplicitIvLength, std::byte{0});
    p.aad = pattern_bytes(i % 2 == 0 ? 8 : 12, static_cast<std::uint8_t>(seed + i));
    p.plaintext = pattern_bytes((i * 97) % 1501, static_cast<std::uint8_t>(seed ^ i));
    p.ciphertext.assign(p.plaintext.size(), std::byte{0});
    p.tag.assign(kGcmIcvLength, std::byte{0});
    if (!sealer.seal_next(p.iv, p.aad, p.plaintext, p.ciphertext, p.tag)) {
      ADD_FAILURE() << "seal_next failed at packet " << i;
      break;
    }
    packets.push_back(std::move(p));
  }
  return packets;
}

std::uint64_t as_counter(std::span<const std::byte> iv) {
  std::uint64_t value = 0;
  for (const auto b : iv) value = value << 8 | std::to_integer<std::uint64_t>(b);
  return value;
}

class GcmContextReuse : public ::testing::TestWithParam<Cipher> {};

TEST_P(GcmContextReuse, EveryPacketOfOneSaMatchesAFreshContextAndOpensWithOneReusedContext) {
  const Cipher cipher = GetParam();
  ASSERT_NE(builtin_gcm_cipher(cipher == Cipher::AesGcm128 ? kAes128KeyLength : kAes256KeyLength), nullptr);
  const Bytes key_material = key_material_for(cipher, 0x31);
  auto sealer = CipherTransform::create(cipher, key_material, CipherOperation::Encrypt);
  ASSERT_TRUE(sealer) << sealer.error();
  const auto packets = seal_many(*sealer, 300, 0x40);
  ASSERT_EQ(packets.size(), 300U);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const Sealed& p = packets[i];
    Bytes ciphertext, tag;
    ASSERT_TRUE(reference_seal(cipher, key_material, p.iv, p.aad, p.plaintext, ciphertext, tag)) << i;
    EXPECT_EQ(p.ciphertext, ciphertext) << "packet " << i;
    EXPECT_EQ(p.tag, tag) << "packet " << i;
    // RFC 5116 3.2: the explicit IV is a counter, one per packet.
    if (i > 0) {
      EXPECT_EQ(as_counter(p.iv), as_counter(packets[i - 1].iv) + 1) << "packet " << i;
    }
  }

  auto opener = CipherTransform::create(cipher, key_material, CipherOperation::Decrypt);
  ASSERT_TRUE(opener) << opener.error();
  // Out of order, with forged packets in between that must fail without disturbing the context.
  for (std::size_t n = 0; n < packets.size(); ++n) {
    const Sealed& p = packets[(n * 7) % packets.size()];
    if (n % 10 == 3) {
      Bytes forged_tag = p.tag;
      forged_tag[n % kGcmIcvLength] ^= std::byte{0x80};
      Bytes scratch(p.ciphertext.size());
      EXPECT_FALSE(opener->open(p.iv, p.aad, p.ciphertext, scratch, forged_tag)) << n;
    }
    Bytes plaintext(p.ciphertext.size());
    ASSERT_TRUE(opener->open(p.iv, p.aad, p.ciphertext, plaintext, p.tag)) << n;
    EXPECT_EQ(plaintext, p.plaintext) << n;
  }
}

// McGrew & Viega, Appendix B test cases 4 (AES-128) and 16 (AES-256): the same known answer from
// the context before and after hundreds of generated-IV packets and rejected forgeries.
TEST_P(GcmContextReuse, KnownAnswerStaysTheSameAfterManyPackets) {
  const Cipher cipher = GetParam();
  const bool aes128 = cipher == Cipher::AesGcm128;
  const Bytes key = from_hex(aes128 ? "feffe9928665731c6d6a8f9467308308"
                                    : "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes nonce = from_hex("cafebabefacedbaddecaf888");
  const Bytes plaintext = from_hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const Bytes aad = from_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes ciphertext = from_hex(aes128 ? "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                                             "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
                                           : "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                                             "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
  const Bytes tag = from_hex(aes128 ? "5bc94fbc3221a5db94fae95ae7121a47" : "76fc6ece0f4e1768cddf8853bb2d551b");
  Bytes key_material = key;
  key_material.insert(key_material.end(), nonce.begin(), nonce.begin() + kGcmSaltLength);
  const std::span<const std::byte> explicit_iv = std::span<const std::byte>(nonce).subspan(kGcmSaltLength);

  auto sealer = CipherTransform::create(cipher, key_material, CipherOperation::Encrypt);
  auto opener = CipherTransform::create(cipher, key_material, CipherOperation::Decrypt);
  ASSERT_TRUE(sealer && opener);
  for (int pass = 0; pass < 3; ++pass) {
    SCOPED_TRACE("pass " + std::to_string(pass));
    Bytes data = plaintext;
    Bytes sealed_tag(kGcmIcvLength);
    ASSERT_TRUE(sealer->seal(explicit_iv, aad, data, sealed_tag));
    EXPECT_EQ(data, ciphertext);
    EXPECT_EQ(sealed_tag, tag);
    Bytes opened(ciphertext.size());
    ASSERT_TRUE(opener->open(explicit_iv, aad, ciphertext, opened, tag));
    EXPECT_EQ(opened, plaintext);
    // Many packets through both contexts before the next pass.
    for (const Sealed& p : seal_many(*sealer, 150, static_cast<std::uint8_t>(pass))) {
      Bytes out(p.ciphertext.size());
      ASSERT_TRUE(opener->open(p.iv, p.aad, p.ciphertext, out, p.tag));
      Bytes forged = p.ciphertext;
      if (!forged.empty()) {
        forged[0] ^= std::byte{1};
        EXPECT_FALSE(opener->open(p.iv, p.aad, forged, out, p.tag));
      }
    }
  }
}

// A rekey replaces the SA's transforms (the engine installs a new EspSa; here the transform is
// move-assigned over the old one). Every packet after that is sealed under the new key only, and
// SAs of two keys used in turn (they share the one built-in method) never mix their keys.
TEST_P(GcmContextReuse, AfterAKeyChangeNoPacketUsesTheOldKey) {
  const Cipher cipher = GetParam();
  const Bytes old_key = key_material_for(cipher, 0x11);
  const Bytes new_key = key_material_for(cipher, 0x77);
  auto sealer = CipherTransform::create(cipher, old_key, CipherOperation::Encrypt);
  ASSERT_TRUE(sealer) << sealer.error();
  const auto before = seal_many(*sealer, 20, 0x01);
  auto rekeyed = CipherTransform::create(cipher, new_key, CipherOperation::Encrypt);
  ASSERT_TRUE(rekeyed) << rekeyed.error();
  *sealer = std::move(*rekeyed);
  auto other = CipherTransform::create(cipher, old_key, CipherOperation::Encrypt);  // another SA, the old key
  ASSERT_TRUE(other) << other.error();

  auto old_opener = CipherTransform::create(cipher, old_key, CipherOperation::Decrypt);
  auto new_opener = CipherTransform::create(cipher, new_key, CipherOperation::Decrypt);
  ASSERT_TRUE(old_opener && new_opener);
  for (std::size_t i = 0; i < 60; ++i) {
    const bool on_new = i % 3 != 1;
    CipherTransform& sa = on_new ? *sealer : *other;
    const auto sealed = seal_many(sa, 1, static_cast<std::uint8_t>(i));
    ASSERT_EQ(sealed.size(), 1U);
    const Sealed& p = sealed.front();
    Bytes ciphertext, tag;
    ASSERT_TRUE(reference_seal(cipher, on_new ? new_key : old_key, p.iv, p.aad, p.plaintext, ciphertext, tag));
    EXPECT_EQ(p.ciphertext, ciphertext) << i;
    EXPECT_EQ(p.tag, tag) << i;
    Bytes out(p.ciphertext.size());
    EXPECT_EQ(new_opener->open(p.iv, p.aad, p.ciphertext, out, p.tag), on_new) << i;
    EXPECT_EQ(old_opener->open(p.iv, p.aad, p.ciphertext, out, p.tag), !on_new) << i;
  }
  for (const Sealed& p : before) {
    Bytes out(p.ciphertext.size());
    EXPECT_FALSE(new_opener->open(p.iv, p.aad, p.ciphertext, out, p.tag));
    EXPECT_TRUE(old_opener->open(p.iv, p.aad, p.ciphertext, out, p.tag));
  }
}

INSTANTIATE_TEST_SUITE_P(Gcm, GcmContextReuse, ::testing::Values(Cipher::AesGcm128, Cipher::AesGcm256),
                         [](const auto& test_info) { return test_info.param == Cipher::AesGcm128 ? "Aes128" : "Aes256"; });

}  // namespace
}  // namespace ward::driver::crypto
