// Whole messages: header checks, the Next Payload walk, rule tables per exchange, the encoder,
// real captured IKEv1 messages, and the committed fuzz seed corpus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ike/message/message.h"
#include "ike/message/sample_messages.h"
#include "ike/payload/test_bytes.h"
#include "ike/payload/vendor_ids.h"

namespace ward::ike {
namespace {

using test::bytes;
using test::hex;

// ---- captured bytes -------------------------------------------------------------------------------
// Recorded IKEv1 exchanges between a test initiator and a strongSwan responder (which answers
// with the XAuth and DPD vendor IDs), published as test data in RUB-NDS/IPsec-StateMachineExtractor,
// src/test/java/de/rub/nds/ipsec/statemachineextractor/ike/IKEv1HandshakeIT.java
// (commit 28f41506830fdde4b5aa8c4bd1ce0eea7051750e), "Main PSK" and "Aggressive PSK" pairs.

constexpr std::string_view kCapturedMainMode1 =
    "59cedc5dcea558fe00000000000000000110020000000000000000540000003800000001000000010000002c0001000100"
    "0000240001000080010007800e0080800200028004000280030001800b0001800c7080";
constexpr std::string_view kCapturedMainMode2 =
    "59cedc5dcea558fe9e169842364452570110020000000000000000740d00003800000001000000010000002c0001000100"
    "0000240101000080010007800e0080800200028004000280030001800b0001800c70800d00000c09002689dfd6b7120000"
    "0014afcad71368a1f1c96b8696fc77570100";
constexpr std::string_view kCapturedMainMode3 =
    "59cedc5dcea558fe9e169842364452570410020000000000000000ac0a000084b5fcea14e2593ee937054b98886ca43b00"
    "472167db154ff074e158e8b7fcae77ac35cef073698bfe63c99c6dd64ae25a95d55800a845a5db0640d1c3ea5bb8596cb0"
    "ffa5d4db0fd01e1875941b14ad4ac492fb5f6381db934664ad8493fe95aab7f1ff8976f329b5ea0f9ede244e906fb41935"
    "3e878f2fa92ccd533ba33d79ee0000000c32ae9db36e7418a7";
constexpr std::string_view kCapturedMainMode4 =
    "59cedc5dcea558fe9e169842364452570410020000000000000000c40a00008424bb23e799283854458c53d6d735ee8c09"
    "9008c743c89900b312264d3d372e4ff3986d5890d43e5aa7f2c6adb910b302cddcdf773b74921f8ce0376a338a28d7569f"
    "b8d4dab85a799cc753bd7d2fd9a65d4e4b016ea9742349c0d8cb6271061e21f5d6af924fddf05fa3a0c83ce7a22074e779"
    "c4fee154a728a4c0d6488adbb300000024ce2b9ff5f8519260b6c8f153529bc5a43121e3aa57a3de7d0d63baba86679e57";
constexpr std::string_view kCapturedMainMode5 =
    "59cedc5dcea558fe9e1698423644525705100201000000000000004cfabd2d66f56237c7810b25e185b0186559632459fd"
    "e4ebb654970a62e83cdd47c9201aad89e40e9500d264aeaa968647";
constexpr std::string_view kCapturedQuickMode3 =
    "59cedc5dcea558fe9e1698423644525708102001259cf1330000003cf0fa3ae90bfec0179ffa8592af60cf2febe9f682f6"
    "29e83e497b8644ae726c1c";
constexpr std::string_view kCapturedAggressive1 =
    "75cc633d664fd55600000000000000000110040000000000000000f00400003800000001000000010000002c0001000100"
    "0000240001000080010007800e0080800200028004000280030001800b0001800c70800a000084375427d76a58cf3db4ab"
    "3cf2da9dd44dfef6233affc1d34d75c3aec9d93353a29fc3d6ec1fc4c343e49439302cacca1a52d19877a0fa72a1ee023d"
    "67015ffc690361606ec24115655228b50d328636f4fce68253d7fbd1eae905cfc6dc93194e147184279556d86ceeeb33a7"
    "8b612aabdd6590ca4e609cc88906457787f13ff70500000ca3a34f453de42c670000000c010000000a000301";
constexpr std::string_view kCapturedAggressive2 =
    "75cc633d664fd5560534fc1813e089e10110040000000000000001400400003800000001000000010000002c0001000100"
    "0000240101000080010007800e0080800200028004000280030001800b0001800c70800a0000843af9e9bbff0c40ca81e5"
    "38ccaca7dab906ae2f48f68b3f03e8c81f361b5cf514ef20d46d46b2c513a342dd3ca210dd069ff995c53f363b4e05c5c4"
    "534fe566441343333b615d87efa9d55400c44d5b5a02e41872790749df8aff964cf937fc3e349ec31f3b1cab032202389f"
    "87784f44ec4878adec2b974bc17156238937133f050000240f03492d4761a688f493d24424e9a7d19f1a64c4cd697dc900"
    "862aa1163f06450d00000c010000000a00030a0d00000c09002689dfd6b71208000014afcad71368a1f1c96b8696fc7757"
    "01000000001891b7a7f96ea7a07c12ae03af0bc32e9f347685bb";

std::vector<PayloadType> types_of(const ParsedMessage& message) {
  std::vector<PayloadType> out;
  for (const auto& p : message.payloads) out.push_back(payload_type(p));
  return out;
}

TEST(CapturedMessages, MainMode1And2) {
  auto m1 = parse_message(hex(kCapturedMainMode1), MessageKind::MainModeMessage1);
  ASSERT_TRUE(m1) << m1.error().to_string();
  EXPECT_EQ(m1->header.initiator_cookie[0], std::byte{0x59});
  EXPECT_EQ(m1->header.responder_cookie, Cookie{});
  EXPECT_EQ(m1->header.length, 84u);
  const auto* sa = m1->find<SecurityAssociation>();
  ASSERT_NE(sa, nullptr);
  const Transform& t = sa->proposals.at(0).transforms.at(0);
  EXPECT_EQ(t.find(static_cast<std::uint16_t>(IkeAttribute::EncryptionAlgorithm))->integer(), 7u);   // AES-CBC
  EXPECT_EQ(t.find(static_cast<std::uint16_t>(IkeAttribute::KeyLength))->integer(), 128u);
  EXPECT_EQ(t.find(static_cast<std::uint16_t>(IkeAttribute::LifeDuration))->integer(), 28800u);
  // Re-encoding the parsed message reproduces the captured bytes exactly.
  EXPECT_EQ(encode_message(m1->header, m1->payloads).value(), hex(kCapturedMainMode1));

  auto m2 = parse_message(hex(kCapturedMainMode2), MessageKind::MainModeMessage2);
  ASSERT_TRUE(m2) << m2.error().to_string();
  EXPECT_EQ(types_of(*m2), (std::vector{PayloadType::SecurityAssociation, PayloadType::VendorId, PayloadType::VendorId}));
  EXPECT_TRUE(vendor_id::matches(m2->all<VendorId>().at(1)->data, vendor_id::kDpd));
  EXPECT_EQ(encode_message(m2->header, m2->payloads).value(), hex(kCapturedMainMode2));
  // Message 2 is not message 1 (wrong direction has no bearing on layout, but the table for
  // message 3 refuses an SA).
  EXPECT_FALSE(parse_message(hex(kCapturedMainMode2), MessageKind::MainModeMessage3));
}

TEST(CapturedMessages, MainMode3And4) {
  auto m3 = parse_message(hex(kCapturedMainMode3), MessageKind::MainModeMessage3);
  ASSERT_TRUE(m3) << m3.error().to_string();
  EXPECT_EQ(m3->find<KeyExchange>()->data.size(), 128u);   // MODP 1024
  EXPECT_EQ(m3->find<Nonce>()->data, hex("32ae9db36e7418a7"));
  auto m4 = parse_message(hex(kCapturedMainMode4), MessageKind::MainModeMessage4);
  ASSERT_TRUE(m4) << m4.error().to_string();
  EXPECT_EQ(m4->find<Nonce>()->data,
            hex("ce2b9ff5f8519260b6c8f153529bc5a43121e3aa57a3de7d0d63baba86679e57"));
  EXPECT_EQ(encode_message(m4->header, m4->payloads).value(), hex(kCapturedMainMode4));
}

TEST(CapturedMessages, EncryptedMessagesSplitForTheStateMachine) {
  const auto m5_bytes = hex(kCapturedMainMode5);   // split_datagram returns views into it
  auto m5 = split_datagram(m5_bytes);
  ASSERT_TRUE(m5) << m5.error().to_string();
  EXPECT_TRUE(m5->header.has(HeaderFlag::Encryption));
  EXPECT_EQ(m5->header.next_payload, PayloadType::Identification);
  EXPECT_EQ(m5->body.size(), 48u);   // three AES blocks of ciphertext
  // parse_message refuses it: the body must be decrypted first.
  auto refused = parse_message(hex(kCapturedMainMode5), MessageKind::MainModeMessage5);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().notify, NotifyMessageType::InvalidFlags);

  const auto qm3_bytes = hex(kCapturedQuickMode3);
  auto qm3 = split_datagram(qm3_bytes);
  ASSERT_TRUE(qm3);
  EXPECT_EQ(qm3->header.exchange_type, ExchangeType::QuickMode);
  EXPECT_EQ(qm3->header.message_id, 0x259cf133u);
  EXPECT_EQ(qm3->header.next_payload, PayloadType::Hash);
  EXPECT_EQ(qm3->body.size(), 32u);
}

TEST(CapturedMessages, AggressiveModeChainsParse) {
  // Ward has no aggressive mode rules, but the chain walk and every codec handle these.
  const auto a1_bytes = hex(kCapturedAggressive1);   // split_datagram returns views into it
  auto a1 = split_datagram(a1_bytes);
  ASSERT_TRUE(a1);
  auto c1 = parse_payload_chain(a1->header, a1->body, BodyKind::Plain);
  ASSERT_TRUE(c1) << c1.error().to_string();
  EXPECT_EQ(types_of(*c1), (std::vector{PayloadType::SecurityAssociation, PayloadType::KeyExchange,
                                        PayloadType::Nonce, PayloadType::Identification}));
  const auto* id = c1->find<Identification>();
  EXPECT_EQ(id->type, IdType::Ipv4Addr);
  EXPECT_EQ(id->data, bytes({10, 0, 3, 1}));

  const auto a2_bytes = hex(kCapturedAggressive2);
  auto a2 = split_datagram(a2_bytes);
  ASSERT_TRUE(a2);
  auto c2 = parse_payload_chain(a2->header, a2->body, BodyKind::Plain);
  ASSERT_TRUE(c2) << c2.error().to_string();
  EXPECT_EQ(types_of(*c2),
            (std::vector{PayloadType::SecurityAssociation, PayloadType::KeyExchange, PayloadType::Nonce,
                         PayloadType::Identification, PayloadType::VendorId, PayloadType::VendorId,
                         PayloadType::Hash}));
  EXPECT_EQ(c2->find<Hash>()->data.size(), 20u);   // HMAC-SHA1
}

// ---- header (RFC 2408 3.1) -----------------------------------------------------------------------

std::vector<std::byte> valid_main_mode_1() { return hex(kCapturedMainMode1); }

MessageError split_error(const std::vector<std::byte>& datagram) {
  auto out = split_datagram(datagram);
  EXPECT_FALSE(out);
  return out ? MessageError{} : out.error();
}

TEST(IsakmpHeader, ChecksEveryField) {
  auto short_input = valid_main_mode_1();
  short_input.resize(27);
  EXPECT_EQ(split_error(short_input).detail.message, "needs 28 bytes, only 27 present");

  auto major = valid_main_mode_1();
  major[17] = std::byte{0x20};
  EXPECT_EQ(split_error(major).notify, NotifyMessageType::InvalidMajorVersion);
  auto minor = valid_main_mode_1();
  minor[17] = std::byte{0x11};
  EXPECT_EQ(split_error(minor).notify, NotifyMessageType::InvalidMinorVersion);
  auto ikev2 = valid_main_mode_1();
  ikev2[17] = std::byte{0x20};
  ikev2[18] = std::byte{34};   // IKE_SA_INIT
  EXPECT_EQ(split_error(ikev2).notify, NotifyMessageType::InvalidMajorVersion);
  auto exchange = valid_main_mode_1();
  exchange[18] = std::byte{6};
  EXPECT_EQ(split_error(exchange).notify, NotifyMessageType::InvalidExchangeType);
  auto flags = valid_main_mode_1();
  flags[19] = std::byte{0x08};
  const auto flag_error = split_error(flags);
  EXPECT_EQ(flag_error.notify, NotifyMessageType::InvalidFlags);
  EXPECT_EQ(flag_error.detail.offset, 19u);
  auto cookie = valid_main_mode_1();
  std::fill(cookie.begin(), cookie.begin() + 8, std::byte{0});
  EXPECT_EQ(split_error(cookie).notify, NotifyMessageType::InvalidCookie);
  auto next = valid_main_mode_1();
  next[16] = std::byte{14};
  EXPECT_EQ(split_error(next).notify, NotifyMessageType::InvalidPayloadType);
  auto length = valid_main_mode_1();
  length[27] = std::byte{27};
  EXPECT_EQ(split_error(length).detail.message, "Length 27 < 28 (header)");
}

TEST(IsakmpHeader, LengthMustMatchTheDatagram) {
  auto longer = valid_main_mode_1();
  longer.push_back(std::byte{0});
  const auto e = split_error(longer);
  EXPECT_EQ(e.notify, NotifyMessageType::UnequalPayloadLengths);
  EXPECT_EQ(e.detail.message, "Length 84 declared, datagram is 85 bytes");
  auto shorter = valid_main_mode_1();
  shorter.pop_back();
  EXPECT_EQ(split_error(shorter).detail.message, "Length 84 declared, datagram is 83 bytes");
}

TEST(IsakmpHeader, RoundTrips) {
  IsakmpHeader h;
  h.initiator_cookie.fill(std::byte{1});
  h.responder_cookie.fill(std::byte{2});
  h.next_payload = PayloadType::Hash;
  h.exchange_type = ExchangeType::QuickMode;
  h.set(HeaderFlag::Encryption, true);
  h.set(HeaderFlag::Commit, true);
  h.message_id = 0xdeadbeef;
  h.length = 28;
  ByteWriter writer;
  h.encode(writer);
  ASSERT_EQ(writer.size(), kIsakmpHeaderSize);
  ByteReader reader(writer.data(), "test");
  auto back = IsakmpHeader::parse(reader);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);
  EXPECT_TRUE(back->has(HeaderFlag::Commit));
  EXPECT_FALSE(back->has(HeaderFlag::AuthenticationOnly));
}

// ---- the Next Payload walk -----------------------------------------------------------------------

IsakmpHeader main_mode_header() {
  IsakmpHeader h;
  h.initiator_cookie.fill(std::byte{0x11});
  h.exchange_type = ExchangeType::IdentityProtection;
  return h;
}

std::vector<std::byte> encode_plain(const IsakmpHeader& header, const std::vector<Payload>& payloads) {
  return encode_message(header, payloads).value();
}

TEST(PayloadChain, UnknownPayloadTypeIsRefused) {
  // SA, then a VID whose Next Payload names type 14 (unassigned in IKEv1): IKEv1 has no critical
  // bit, so an unknown payload ends processing (RFC 2408 5.2), even with the IKEv2 critical bit set.
  auto datagram = encode_plain(main_mode_header(), {samples::phase1_sa(), VendorId{bytes({1, 2, 3, 4})}});
  const std::size_t vid_at = datagram.size() - 8;
  datagram[vid_at] = std::byte{14};
  const auto tail = hex("00 80 0008 01020304");
  datagram.insert(datagram.end(), tail.begin(), tail.end());
  datagram[27] = std::byte{static_cast<std::uint8_t>(datagram.size())};
  auto out = parse_message(datagram, MessageKind::MainModeMessage1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().notify, NotifyMessageType::InvalidPayloadType);
  EXPECT_EQ(out.error().detail.offset, vid_at);
  EXPECT_EQ(out.error().detail.message, "Next Payload 14 is not a message-level payload type");

  // Private-use types (the NAT-T drafts' 130) are refused the same way.
  datagram[vid_at] = std::byte{130};
  EXPECT_EQ(parse_message(datagram, MessageKind::MainModeMessage1).error().notify, NotifyMessageType::InvalidPayloadType);
  // So are Proposal and Transform outside an SA.
  datagram[vid_at] = std::byte{2};
  EXPECT_EQ(parse_message(datagram, MessageKind::MainModeMessage1).error().notify, NotifyMessageType::InvalidPayloadType);
}

TEST(PayloadChain, PayloadLengthPastEndIsRefused) {
  auto datagram = encode_plain(main_mode_header(), {samples::phase1_sa(), VendorId{bytes({1, 2, 3, 4})}});
  const std::size_t vid_at = datagram.size() - 8;
  datagram[vid_at + 3] = std::byte{0x0c};   // VID claims 12 bytes, 8 left
  auto out = parse_message(datagram, MessageKind::MainModeMessage1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().notify, NotifyMessageType::PayloadMalformed);
  EXPECT_EQ(out.error().detail.structure, "ISAKMP VID payload");
  EXPECT_EQ(out.error().detail.offset, vid_at);
  EXPECT_EQ(out.error().detail.message, "payload length 12 declared, only 8 bytes left");
}

TEST(PayloadChain, ZeroLengthPayloadIsRefused) {
  auto datagram = encode_plain(main_mode_header(), {samples::phase1_sa(), VendorId{bytes({1, 2, 3, 4})}});
  datagram[datagram.size() - 5] = std::byte{0};
  auto out = parse_message(datagram, MessageKind::MainModeMessage1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().detail.message, "payload length 0 < 4 (generic header)");
}

TEST(PayloadChain, TrailingBytesAreRefusedInTheClear) {
  auto datagram = encode_plain(main_mode_header(), {samples::phase1_sa()});
  datagram.insert(datagram.end(), 4, std::byte{0});
  datagram[27] = std::byte{static_cast<std::uint8_t>(datagram.size())};
  auto out = parse_message(datagram, MessageKind::MainModeMessage1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().notify, NotifyMessageType::UnequalPayloadLengths);
  EXPECT_EQ(out.error().detail.message, "4 bytes after the last payload");
}

TEST(PayloadChain, SaErrorsNameBadProposalSyntax) {
  auto datagram = encode_plain(main_mode_header(), {samples::phase1_sa()});
  datagram[28 + 4 + 3] = std::byte{9};   // DOI 9
  auto out = parse_message(datagram, MessageKind::MainModeMessage1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().notify, NotifyMessageType::BadProposalSyntax);
  EXPECT_EQ(out.error().detail.offset, 32u);
}

TEST(PayloadChain, TooManyPayloadsAreRefused) {
  std::vector<Payload> many(kMaxPayloadsPerMessage + 1, VendorId{bytes({1})});
  auto body = encode_payload_chain(many).value();
  auto out = parse_payload_chain(main_mode_header(), body.bytes, BodyKind::Plain);
  EXPECT_FALSE(out);
  IsakmpHeader h = main_mode_header();
  h.next_payload = body.first;
  out = parse_payload_chain(h, body.bytes, BodyKind::Plain);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().detail.message, "more than 32 payloads");
  many.pop_back();
  auto exactly = encode_payload_chain(many).value();
  EXPECT_TRUE(parse_payload_chain(h, exactly.bytes, BodyKind::Plain));
}

TEST(PayloadChain, DecryptedBodyMayCarryPadding) {
  IsakmpHeader h = main_mode_header();
  h.exchange_type = ExchangeType::QuickMode;
  h.message_id = 7;
  h.set(HeaderFlag::Encryption, true);
  auto body = encode_payload_chain(std::vector<Payload>{Hash{std::vector<std::byte>(20, std::byte{1})}}).value();
  h.next_payload = body.first;
  auto padded = body.bytes;
  padded.insert(padded.end(), 8, std::byte{0});   // 24 + 8 = two AES blocks
  auto out = parse_decrypted_message(h, padded, MessageKind::QuickModeMessage3);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(out->padding, 8u);
  padded.insert(padded.end(), kMaxEncryptionPadding, std::byte{0});
  auto too_much = parse_decrypted_message(h, padded, MessageKind::QuickModeMessage3);
  ASSERT_FALSE(too_much);
  EXPECT_EQ(too_much.error().detail.message, "263 bytes after the last payload, at most 255 of padding accepted");
}

// ---- rule tables ----------------------------------------------------------------------------------

std::string rule_error(const IsakmpHeader& header, const std::vector<Payload>& payloads, MessageKind kind) {
  ParsedMessage m{header, payloads, 0};
  m.header.next_payload = payloads.empty() ? PayloadType::None : payload_type(payloads.front());
  auto out = check_rules(m, kind);
  return out ? "accepted" : out.error().to_string();
}

IsakmpHeader encrypted(ExchangeType exchange, std::uint32_t message_id) {
  IsakmpHeader h = main_mode_header();
  h.exchange_type = exchange;
  h.message_id = message_id;
  h.set(HeaderFlag::Encryption, true);
  return h;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(RuleTable, MainModeMessage1NeedsExactlyOneSa) {
  const auto h = main_mode_header();
  const auto sa = samples::phase1_sa();
  EXPECT_EQ(rule_error(h, {sa}, MessageKind::MainModeMessage1), "accepted");
  EXPECT_TRUE(contains(rule_error(h, {sa, sa}, MessageKind::MainModeMessage1),
                       "main mode message 1 (I->R: SA): 2 SA (1) payloads, 1..1 expected"));
  EXPECT_TRUE(contains(rule_error(h, {VendorId{bytes({1})}}, MessageKind::MainModeMessage1),
                       "0 SA (1) payloads, 1..1 expected"));
  EXPECT_TRUE(contains(rule_error(h, {sa, KeyExchange{bytes({1})}}, MessageKind::MainModeMessage1),
                       "KE (4) not allowed (1 present)"));
  std::vector<Payload> many_vids(kMaxVendorIdPayloads + 1, VendorId{bytes({1})});
  many_vids.insert(many_vids.begin(), sa);
  EXPECT_TRUE(contains(rule_error(h, many_vids, MessageKind::MainModeMessage1), "17 VID (13) payloads, 0..16 expected"));
}

TEST(RuleTable, MainModeHeaderRules) {
  auto h = main_mode_header();
  const auto sa = samples::phase1_sa();
  h.message_id = 5;
  EXPECT_TRUE(contains(rule_error(h, {sa}, MessageKind::MainModeMessage1), "Message ID 5, 0 expected"));
  h.message_id = 0;
  h.exchange_type = ExchangeType::Aggressive;
  EXPECT_TRUE(contains(rule_error(h, {sa}, MessageKind::MainModeMessage1), "Exchange Type 4, 2"));
  h.exchange_type = ExchangeType::IdentityProtection;
  h.set(HeaderFlag::Encryption, true);
  EXPECT_TRUE(contains(rule_error(h, {sa}, MessageKind::MainModeMessage1), "must be in the clear, E flag set"));
}

TEST(RuleTable, MainModeMessage5NeedsHashOrSignature) {
  const auto h = encrypted(ExchangeType::IdentityProtection, 0);
  const Identification id{IdType::Ipv4Addr, 17, 500, bytes({192, 0, 2, 1})};
  const Hash hash{std::vector<std::byte>(32, std::byte{1})};
  const Signature sig{std::vector<std::byte>(64, std::byte{2})};
  EXPECT_EQ(rule_error(h, {id, hash}, MessageKind::MainModeMessage5), "accepted");
  EXPECT_EQ(rule_error(h, {id, Certificate{CertificateEncoding::X509Signature, bytes({0x30})}, sig},
                       MessageKind::MainModeMessage6),
            "accepted");
  EXPECT_TRUE(contains(rule_error(h, {id}, MessageKind::MainModeMessage5), "0 HASH (8) + SIG (9) payloads, 1..1 expected"));
  EXPECT_TRUE(contains(rule_error(h, {id, hash, sig}, MessageKind::MainModeMessage5), "2 HASH (8) + SIG (9) payloads"));
  EXPECT_TRUE(contains(rule_error(h, {hash}, MessageKind::MainModeMessage5), "0 ID (5) payloads, 1..1 expected"));
  auto clear = h;
  clear.set(HeaderFlag::Encryption, false);
  EXPECT_TRUE(contains(rule_error(clear, {id, hash}, MessageKind::MainModeMessage5), "must be encrypted, E flag clear"));
}

TEST(RuleTable, QuickModeMustBeginWithHash) {
  const auto h = encrypted(ExchangeType::QuickMode, 0x01020304);
  const Hash hash{std::vector<std::byte>(32, std::byte{1})};
  const Nonce nonce{std::vector<std::byte>(16, std::byte{2})};
  const auto sa = samples::phase2_sa();
  EXPECT_EQ(rule_error(h, {hash, sa, nonce}, MessageKind::QuickModeMessage1), "accepted");
  EXPECT_TRUE(contains(rule_error(h, {sa, hash, nonce}, MessageKind::QuickModeMessage1),
                       "must begin with HASH (8), begins with SA (1)"));
  EXPECT_TRUE(contains(rule_error(h, {}, MessageKind::QuickModeMessage3), "begins with nothing"));
  EXPECT_TRUE(contains(rule_error(h, {hash, sa}, MessageKind::QuickModeMessage1), "0 NONCE (10) payloads, 1..1 expected"));
  const Identification id{IdType::Ipv4AddrSubnet, 0, 0, bytes({10, 0, 0, 0, 255, 0, 0, 0})};
  EXPECT_TRUE(contains(rule_error(h, {hash, sa, nonce, id, id, id}, MessageKind::QuickModeMessage1),
                       "3 ID (5) payloads, 0..2 expected"));
  EXPECT_TRUE(contains(rule_error(h, {hash, nonce}, MessageKind::QuickModeMessage3), "NONCE (10) not allowed"));
  auto zero_id = encrypted(ExchangeType::QuickMode, 0);
  EXPECT_TRUE(contains(rule_error(zero_id, {hash}, MessageKind::QuickModeMessage3), "Message ID 0, non-zero expected"));
}

TEST(RuleTable, InformationalNeedsNotificationOrDelete) {
  const auto h = encrypted(ExchangeType::Informational, 9);
  const Hash hash{std::vector<std::byte>(20, std::byte{1})};
  const Delete del{Doi::Ipsec, ProtocolId::IpsecEsp, 4, {bytes({1, 2, 3, 4})}};
  EXPECT_EQ(rule_error(h, {hash, del}, MessageKind::InformationalProtected), "accepted");
  EXPECT_TRUE(contains(rule_error(h, {hash}, MessageKind::InformationalProtected), "0 N (11) + D (12) payloads, 1..16"));
  EXPECT_TRUE(contains(rule_error(h, {del, hash}, MessageKind::InformationalProtected), "must begin with HASH"));
  IsakmpHeader clear = main_mode_header();
  clear.exchange_type = ExchangeType::Informational;
  const Notification n{Doi::Ipsec, ProtocolId::Isakmp, static_cast<std::uint16_t>(NotifyMessageType::NoProposalChosen), {}, {}};
  EXPECT_EQ(rule_error(clear, {n}, MessageKind::InformationalUnprotected), "accepted");
  EXPECT_TRUE(contains(rule_error(clear, {n, del}, MessageKind::InformationalUnprotected), "D (12) not allowed"));
}

TEST(RuleTable, EveryKindHasADescription) {
  for (std::size_t k = 0; k < kMessageKindCount; ++k) {
    const auto kind = static_cast<MessageKind>(k);
    EXPECT_EQ(rules_for(kind).kind, kind);
    EXPECT_FALSE(name(kind).empty());
  }
}

// ---- encoder and samples --------------------------------------------------------------------------

TEST(Encoder, SetsChainAndLengths) {
  IsakmpHeader h = main_mode_header();
  h.set(HeaderFlag::Encryption, true);   // encode_message clears it
  h.length = 999;                        // and computes this
  auto bytes_out = encode_message(h, std::vector<Payload>{Nonce{hex("0102030405060708")}, VendorId{hex("aabb")}}).value();
  EXPECT_EQ(bytes_out, hex("1111111111111111 0000000000000000 0a 10 02 00 00000000 0000002e"
                           "0d 00 000c 0102030405060708"
                           "00 00 0006 aabb"));
  auto empty = encode_message(main_mode_header(), {}).value();
  EXPECT_EQ(empty.size(), kIsakmpHeaderSize);
  EXPECT_EQ(empty[16], std::byte{0});
}

TEST(Encoder, EncryptedMessageCarriesTheFirstPayloadType) {
  auto out = encode_encrypted_message(main_mode_header(), PayloadType::Identification, hex("00112233445566778899aabbccddeeff")).value();
  auto split = split_datagram(out);
  ASSERT_TRUE(split);
  EXPECT_TRUE(split->header.has(HeaderFlag::Encryption));
  EXPECT_EQ(split->header.next_payload, PayloadType::Identification);
  EXPECT_EQ(split->header.length, 44u);
  EXPECT_EQ(split->body.size(), 16u);
}

TEST(Encoder, OversizedPayloadIsAnError) {
  std::vector<Payload> payloads = {VendorId{bytes({1})},
                                   Certificate{CertificateEncoding::X509Signature, std::vector<std::byte>(70000)}};
  auto out = encode_payload_chain(payloads);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().index, 1u);
  EXPECT_EQ(out.error().payload, PayloadType::Certificate);
}

TEST(Rules, GssTokensTravelInMainMode3And4Only) {
  IsakmpHeader h;
  for (const auto& sample : samples::all()) {
    if (sample.file_name == "main_mode_3.bin") h = sample.header;
  }
  const std::vector<Payload> kerberos{KeyExchange{samples::filled(64, 1)}, Nonce{samples::filled(32, 2)},
                                      GssToken{samples::filled(1500, 3)}};
  const auto m3 = *encode_message(h, kerberos);
  auto parsed = parse_message(m3, MessageKind::MainModeMessage3);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_NE(parsed->find<GssToken>(), nullptr);
  EXPECT_EQ(parsed->find<GssToken>()->data.size(), 1500u);
  EXPECT_TRUE(parse_message(m3, MessageKind::MainModeMessage4));

  std::vector<Payload> five_tokens = kerberos;
  for (int i = 0; i < 4; ++i) five_tokens.push_back(GssToken{samples::filled(10, 4)});
  auto too_many = parse_message(*encode_message(h, five_tokens), MessageKind::MainModeMessage3);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().to_string().find("5 GSS (129) payloads, 0..4 expected"), std::string::npos)
      << too_many.error().to_string();

  const std::vector<Payload> in_sa_message{samples::phase1_sa(), GssToken{samples::filled(10, 5)}};
  auto refused = parse_message(*encode_message(h, in_sa_message), MessageKind::MainModeMessage1);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("GSS (129) not allowed"), std::string::npos) << refused.error().to_string();
}

TEST(Samples, EveryKindParsesAndRoundTrips) {
  std::array<bool, kMessageKindCount> covered{};
  for (const auto& sample : samples::all()) {
    SCOPED_TRACE(sample.file_name);
    const auto datagram = samples::encode(sample);
    auto split = split_datagram(datagram);
    ASSERT_TRUE(split) << split.error().to_string();
    auto parsed = sample.header.has(HeaderFlag::Encryption)
                      ? parse_decrypted_message(split->header, split->body, sample.kind)
                      : parse_message(datagram, sample.kind);
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed->payloads, sample.payloads);
    EXPECT_EQ(samples::encode(samples::SampleMessage{sample.file_name, sample.kind, parsed->header, parsed->payloads}), datagram);
    covered[static_cast<std::size_t>(sample.kind)] = true;
  }
  for (std::size_t k = 0; k < kMessageKindCount; ++k) EXPECT_TRUE(covered[k]) << name(static_cast<MessageKind>(k));
}

TEST(Samples, CommittedCorpusMatchesTheEncoder) {
  const char* env = std::getenv("WARD_SOURCE_DIR");   // set by ctest; else run from the source root
  const char* root = env != nullptr ? env : ".";
  const std::filesystem::path dir = std::filesystem::path(root) / "ike/payload/fuzz_corpus";
  for (const auto& sample : samples::all()) {
    std::ifstream in(dir / sample.file_name, std::ios::binary);
    ASSERT_TRUE(in) << "missing " << sample.file_name << ": run isakmp_corpus_gen ike/payload/fuzz_corpus";
    std::vector<char> raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<std::byte> committed;
    for (char c : raw) committed.push_back(static_cast<std::byte>(c));
    EXPECT_EQ(committed, samples::encode(sample)) << sample.file_name << " is stale: rerun isakmp_corpus_gen";
  }
}

TEST(Samples, TruncationsAndBitFlipsNeverCrash) {
  std::size_t refused = 0;
  for (const auto& sample : samples::all()) {
    const auto datagram = samples::encode(sample);
    for (std::size_t size = 0; size < datagram.size(); ++size) {
      std::vector<std::byte> prefix(datagram.begin(), datagram.begin() + static_cast<std::ptrdiff_t>(size));
      refused += split_datagram(prefix) ? 0 : 1;
    }
    for (std::size_t i = kIsakmpHeaderSize; i < datagram.size(); ++i) {
      auto mutated = datagram;
      mutated[i] ^= std::byte{0x81};
      auto split = split_datagram(mutated);
      ASSERT_TRUE(split);
      static_cast<void>(parse_payload_chain(split->header, split->body, BodyKind::Decrypted));
    }
  }
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace ward::ike
