// SK payload protection: each suite seals and opens, and any changed byte of the message (header,
// IV, ciphertext or ICV) or a wrong key is refused with the ICV's offset, nothing decoded.
#include <gtest/gtest.h>

#include "ike/v2/sk.h"

namespace ward::ike::v2 {
namespace {

SecureBytes key_of(std::size_t n, std::uint8_t v) { return SecureBytes(Bytes(n, std::byte{v})); }

SkKeys keys_for(const SkSuite& s, std::uint8_t v) {
  return SkKeys{key_of(s.encryption_key_size(), v), key_of(s.integrity_key_size(), static_cast<std::uint8_t>(v + 1))};
}

Header auth_header() {
  Header h;
  h.initiator_spi[0] = std::byte{9};
  h.responder_spi[0] = std::byte{7};
  h.exchange = ExchangeType::IkeAuth;
  h.message_id = 1;
  h.set(HeaderFlag::Initiator);
  return h;
}

std::vector<Payload> inner() {
  return {IdPayload{true, IdType::Ipv4Address, Bytes{std::byte{10}, std::byte{0}, std::byte{0}, std::byte{1}}},
          AuthPayload{AuthMethod::SharedKeyMic, Bytes(32, std::byte{0x5a})},
          NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::UseTransportMode), {}}};
}

class SkSuites : public ::testing::TestWithParam<SkSuite> {};

TEST_P(SkSuites, SealsAndOpens) {
  const SkSuite suite = GetParam();
  const auto keys = keys_for(suite, 3);
  auto sealed = seal_message(suite, keys, auth_header(), inner());
  ASSERT_TRUE(sealed) << sealed.error();
  auto message = parse_message(*sealed);
  ASSERT_TRUE(message) << message.error().to_string();
  ASSERT_EQ(message->payloads.size(), 1u);
  const auto* sk = message->find<EncryptedPayload>();
  ASSERT_NE(sk, nullptr);
  EXPECT_EQ(sk->first_inner, PayloadType::IdInitiator);
  auto opened = open_message(suite, keys, *sealed, *sk);
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(*opened, inner());
  if (!suite.aead()) {
    EXPECT_EQ((sealed->size() - kHeaderSize - 4 - suite.iv_size() - suite.icv_size()) % 16, 0u);
  }
}

TEST_P(SkSuites, EveryFlippedByteIsRefused) {
  const SkSuite suite = GetParam();
  const auto keys = keys_for(suite, 3);
  const auto sealed = *seal_message(suite, keys, auth_header(), inner());
  // Flip each byte after the SPIs (changing those would only make it another SA's message).
  for (std::size_t i = 16; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= std::byte{0x01};
    auto message = parse_message(bad);
    if (!message) continue;   // the header or SK generic header no longer parses: refused anyway
    const auto* sk = message->find<EncryptedPayload>();
    if (sk == nullptr) continue;
    auto opened = open_message(suite, keys, bad, *sk);
    ASSERT_FALSE(opened) << "byte " << i << " flipped and still accepted";
    EXPECT_EQ(opened.error().detail.field, "Integrity Checksum Data");
    EXPECT_EQ(opened.error().detail.offset, sealed.size() - suite.icv_size());
  }
}

TEST_P(SkSuites, WrongKeyIsRefused) {
  const SkSuite suite = GetParam();
  const auto sealed = *seal_message(suite, keys_for(suite, 3), auth_header(), inner());
  auto message = parse_message(sealed);
  ASSERT_TRUE(message);
  EXPECT_FALSE(open_message(suite, keys_for(suite, 4), sealed, *message->find<EncryptedPayload>()));
}

INSTANTIATE_TEST_SUITE_P(Suites, SkSuites,
                         ::testing::Values(SkSuite{EncryptionId::AesCbc, 128, IntegrityId::HmacSha2_256_128},
                                           SkSuite{EncryptionId::AesCbc, 256, IntegrityId::HmacSha1_96},
                                           SkSuite{EncryptionId::AesCbc, 256, IntegrityId::HmacSha2_384_192},
                                           SkSuite{EncryptionId::AesGcm16, 128, IntegrityId::None},
                                           SkSuite{EncryptionId::AesGcm16, 256, IntegrityId::None}),
                         [](const ::testing::TestParamInfo<SkSuite>& suite_info) {
                           std::string n = suite_info.param.name();
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(SkSuite, RefusesCombinationsWardDoesNotSpeak) {
  EXPECT_FALSE(sk_suite(EncryptionId::AesCbc, 128, IntegrityId::None));
  EXPECT_FALSE(sk_suite(EncryptionId::AesGcm16, 128, IntegrityId::HmacSha2_256_128));
  EXPECT_FALSE(sk_suite(EncryptionId::AesCbc, 192, IntegrityId::HmacSha2_256_128));
  EXPECT_FALSE(sk_suite(static_cast<EncryptionId>(3), 128, IntegrityId::HmacSha2_256_128));
  EXPECT_TRUE(sk_suite(EncryptionId::AesGcm16, 256, IntegrityId::None));
}

}  // namespace
}  // namespace ward::ike::v2
