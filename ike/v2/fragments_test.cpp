// RFC 7383 fragments: a large IKE_AUTH-like message split by fragment_message and put together
// by Reassembler at the other end (in order, out of order, with duplicates), and the refusals:
// a fragment whose ICV fails, more fragments than the limit, a Total Fragments that shrinks, a
// message too large, malformed SKF headers (named by field and offset), a stale reassembly.
#include <gtest/gtest.h>

#include <algorithm>

#include "ike/v2/fragments.h"
#include "ike/v2/protected_message.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::ike::v2::fragments_test {
namespace {

using Clock = Reassembler::Clock;

SecureBytes key_of(std::size_t n, std::uint8_t v) { return SecureBytes(Bytes(n, std::byte{v})); }

// The two ends of one IKE SA with fixed keys.
std::pair<IkeSa, IkeSa> sa_pair(const IkeProposal& proposal) {
  IkeSa i;
  i.initiator = true;
  i.spi_i[0] = std::byte{0x11};
  i.spi_r[0] = std::byte{0x22};
  i.proposal = proposal;
  i.fragmentation = true;
  const SkSuite s = proposal.suite();
  i.keys.sk_ei = key_of(s.encryption_key_size(), 1);
  i.keys.sk_er = key_of(s.encryption_key_size(), 2);
  i.keys.sk_ai = key_of(s.integrity_key_size(), 3);
  i.keys.sk_ar = key_of(s.integrity_key_size(), 4);
  IkeSa r = i;
  r.initiator = false;
  return {std::move(i), std::move(r)};
}

IkeProposal cbc() { return IkeProposal{}; }
IkeProposal gcm() {
  IkeProposal p;
  p.encryption = EncryptionId::AesGcm16;
  p.key_bits = 256;
  p.integrity = IntegrityId::None;
  return p;
}

// IDi, a 1500-byte CERT (what certificates bring), AUTH: an IKE_AUTH request that must fragment.
std::vector<Payload> big_payloads() {
  Bytes cert(1500);
  for (std::size_t i = 0; i < cert.size(); ++i) cert[i] = std::byte(i * 7);
  return {IdPayload{true, IdType::Ipv4Address, Bytes{std::byte{10}, std::byte{0}, std::byte{0}, std::byte{1}}},
          CertPayload{false, 4, cert}, AuthPayload{AuthMethod::SharedKeyMic, Bytes(32, std::byte{0x5a})}};
}

Bytes big_request(const IkeSa& sa) { return *seal_protected(sa, ExchangeType::IkeAuth, 1, false, big_payloads()); }

class Fragments : public ::testing::TestWithParam<IkeProposal> {};

TEST_P(Fragments, SplitAndReassembledInOrder) {
  auto [i, r] = sa_pair(GetParam());
  const Bytes whole = big_request(i);
  auto fragments = fragment_message(i, whole, 576, IpFamily::V4);
  ASSERT_TRUE(fragments) << fragments.error();
  ASSERT_GE(fragments->size(), 3u);
  for (const auto& f : *fragments) {
    EXPECT_LE(datagram_size(f.size(), IpFamily::V4), 576u);
    EXPECT_TRUE(is_fragment(f));
    auto fields = parse_fragment(f);
    ASSERT_TRUE(fields) << fields.error().to_string();
    EXPECT_EQ(fields->total, fragments->size());
    EXPECT_EQ(fields->header.message_id, 1u);
    EXPECT_EQ(fields->header.exchange, ExchangeType::IkeAuth);
  }
  EXPECT_EQ(parse_fragment(fragments->front())->first_inner, PayloadType::IdInitiator);
  EXPECT_EQ(parse_fragment(fragments->back())->first_inner, PayloadType::None);

  Reassembler reassembler;
  const auto now = Clock::now();
  for (std::size_t n = 0; n + 1 < fragments->size(); ++n) {
    auto kept = reassembler.add(r, (*fragments)[n], now);
    EXPECT_EQ(kept.outcome, Reassembler::Outcome::Kept) << kept.reason;
  }
  auto done = reassembler.add(r, fragments->back(), now);
  ASSERT_EQ(done.outcome, Reassembler::Outcome::Complete) << done.reason;
  EXPECT_EQ(reassembler.held(), 0u);
  auto opened = open_protected(r, done.message);
  ASSERT_TRUE(opened) << opened.error();
  EXPECT_EQ(opened->payloads, big_payloads());
  EXPECT_EQ(opened->header.message_id, 1u);
  EXPECT_EQ(opened->header.exchange, ExchangeType::IkeAuth);
}

TEST_P(Fragments, OutOfOrderWithDuplicates) {
  auto [i, r] = sa_pair(GetParam());
  auto fragments = *fragment_message(i, big_request(i), 576, IpFamily::V4);
  std::reverse(fragments.begin(), fragments.end());
  Reassembler reassembler;
  const auto now = Clock::now();
  EXPECT_EQ(reassembler.add(r, fragments[0], now).outcome, Reassembler::Outcome::Kept);
  auto dup = reassembler.add(r, fragments[0], now);
  EXPECT_EQ(dup.outcome, Reassembler::Outcome::Duplicate);
  EXPECT_NE(dup.reason.find("duplicate"), std::string::npos) << dup.reason;
  Reassembler::Result last;
  for (std::size_t n = 1; n < fragments.size(); ++n) last = reassembler.add(r, fragments[n], now);
  ASSERT_EQ(last.outcome, Reassembler::Outcome::Complete) << last.reason;
  EXPECT_EQ(open_protected(r, last.message)->payloads, big_payloads());
  // The request retransmitted: fragment 1 gives the message again, the others nothing.
  EXPECT_EQ(reassembler.add(r, fragments[1], now).outcome, Reassembler::Outcome::Duplicate);
  auto again = reassembler.add(r, fragments.back(), now);
  ASSERT_EQ(again.outcome, Reassembler::Outcome::Repeated) << again.reason;
  EXPECT_EQ(again.message, last.message);
}

TEST_P(Fragments, BadIcvOnOneFragmentIsNotKept) {
  auto [i, r] = sa_pair(GetParam());
  auto fragments = *fragment_message(i, big_request(i), 576, IpFamily::V4);
  Reassembler reassembler;
  const auto now = Clock::now();
  auto bad = fragments[1];
  bad[bad.size() - 1] ^= std::byte{1};
  auto refused = reassembler.add(r, bad, now);
  EXPECT_EQ(refused.outcome, Reassembler::Outcome::Dropped);
  EXPECT_NE(refused.reason.find("Integrity Checksum Data"), std::string::npos) << refused.reason;
  EXPECT_NE(refused.reason.find("offset " + std::to_string(bad.size() - GetParam().suite().icv_size())), std::string::npos)
      << refused.reason;
  EXPECT_EQ(reassembler.held(), 0u);
  // A forged Fragment Number (covered by the ICV) is refused too.
  auto renumbered = fragments[0];
  renumbered[kHeaderSize + 5] = std::byte{2};
  EXPECT_EQ(reassembler.add(r, renumbered, now).outcome, Reassembler::Outcome::Dropped);
  // The genuine fragments still complete the message.
  Reassembler::Result last;
  for (const auto& f : fragments) last = reassembler.add(r, f, now);
  EXPECT_EQ(last.outcome, Reassembler::Outcome::Complete) << last.reason;
  // Our own fragments reflected back (the I flag) are refused.
  Reassembler mirror;
  auto reflected = mirror.add(i, fragments[0], now);
  EXPECT_EQ(reflected.outcome, Reassembler::Outcome::Dropped);
  EXPECT_NE(reflected.reason.find("I flag"), std::string::npos) << reflected.reason;
}

INSTANTIATE_TEST_SUITE_P(Suites, Fragments, ::testing::Values(cbc(), gcm()));

TEST(Fragments, TooManyFragmentsAreRefusedBeforeDecryption) {
  auto [i, r] = sa_pair(cbc());
  auto fragments = *fragment_message(i, big_request(i), 200, IpFamily::V4);
  ASSERT_GT(fragments.size(), 8u);
  Reassembler reassembler(Reassembler::Limits{8, 60000, std::chrono::seconds(30)});
  auto refused = reassembler.add(r, fragments[0], Clock::now());
  EXPECT_EQ(refused.outcome, Reassembler::Outcome::Dropped);
  EXPECT_NE(refused.reason.find("Total Fragments"), std::string::npos) << refused.reason;
  EXPECT_NE(refused.reason.find("more than 8 fragments"), std::string::npos) << refused.reason;
  EXPECT_EQ(reassembler.held(), 0u);
}

TEST(Fragments, TooLargeAMessageIsDropped) {
  auto [i, r] = sa_pair(cbc());
  auto fragments = *fragment_message(i, big_request(i), 576, IpFamily::V4);
  Reassembler reassembler(Reassembler::Limits{64, 1000, std::chrono::seconds(30)});
  Reassembler::Result result;
  for (const auto& f : fragments) {
    result = reassembler.add(r, f, Clock::now());
    if (result.outcome == Reassembler::Outcome::Dropped) break;
  }
  EXPECT_EQ(result.outcome, Reassembler::Outcome::Dropped);
  EXPECT_NE(result.reason.find("exceed 1000 bytes"), std::string::npos) << result.reason;
  EXPECT_EQ(reassembler.held(), 0u);
}

TEST(Fragments, TotalFragmentsChanges) {
  auto [i, r] = sa_pair(cbc());
  const Bytes whole = big_request(i);
  auto coarse = *fragment_message(i, whole, 576, IpFamily::V4);
  auto fine = *fragment_message(i, whole, 300, IpFamily::V4);
  ASSERT_GT(fine.size(), coarse.size());
  Reassembler reassembler;
  const auto now = Clock::now();
  // Coarse fragments first, then the sender fragments smaller: a larger Total starts over.
  EXPECT_EQ(reassembler.add(r, coarse[0], now).outcome, Reassembler::Outcome::Kept);
  EXPECT_EQ(reassembler.add(r, fine[0], now).outcome, Reassembler::Outcome::Kept);
  EXPECT_EQ(reassembler.held(), 1u);
  // A smaller Total is dropped.
  auto smaller = reassembler.add(r, coarse[1], now);
  EXPECT_EQ(smaller.outcome, Reassembler::Outcome::Dropped);
  EXPECT_NE(smaller.reason.find("earlier fragments said " + std::to_string(fine.size())), std::string::npos) << smaller.reason;
  Reassembler::Result last;
  for (std::size_t n = 1; n < fine.size(); ++n) last = reassembler.add(r, fine[n], now);
  ASSERT_EQ(last.outcome, Reassembler::Outcome::Complete) << last.reason;
  EXPECT_EQ(open_protected(r, last.message)->payloads, big_payloads());
}

TEST(Fragments, StaleReassemblyTimesOut) {
  auto [i, r] = sa_pair(cbc());
  auto fragments = *fragment_message(i, big_request(i), 576, IpFamily::V4);
  Reassembler reassembler(Reassembler::Limits{64, 60000, std::chrono::seconds(30)});
  const auto start = Clock::now();
  EXPECT_EQ(reassembler.add(r, fragments[0], start).outcome, Reassembler::Outcome::Kept);
  // 31 s later the first fragment is gone: the rest alone does not complete the message.
  Reassembler::Result last;
  for (std::size_t n = 1; n < fragments.size(); ++n) last = reassembler.add(r, fragments[n], start + std::chrono::seconds(31));
  EXPECT_EQ(last.outcome, Reassembler::Outcome::Kept);
  EXPECT_EQ(reassembler.held(), fragments.size() - 1);
}

TEST(Fragments, SmallMessagesAreSentWhole) {
  auto [i, r] = sa_pair(cbc());
  const Payload n = NotifyPayload{0, {}, static_cast<std::uint16_t>(NotifyType::UseTransportMode), {}};
  const Bytes small = *seal_protected(i, ExchangeType::Informational, 2, false, std::span(&n, 1));
  auto out = fragment_message(i, small, 576, IpFamily::V4);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(out->front(), small);
  EXPECT_FALSE(fragment_message(i, big_request(i), 80, IpFamily::V4));   // no room for a fragment
}

TEST(Fragments, MalformedHeadersNameFieldAndOffset) {
  auto [i, r] = sa_pair(cbc());
  const auto good = fragment_message(i, big_request(i), 576, IpFamily::V4)->front();
  auto expect_refusal = [](Bytes bad, const std::string& field, std::size_t offset) {
    auto parsed = parse_fragment(bad);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().detail.field, field) << parsed.error().to_string();
    EXPECT_EQ(parsed.error().detail.offset, offset) << parsed.error().to_string();
  };
  auto zero_number = good;
  zero_number[kHeaderSize + 5] = std::byte{0};
  expect_refusal(zero_number, "Fragment Number", kHeaderSize + 4);
  auto zero_total = good;
  zero_total[kHeaderSize + 7] = std::byte{0};
  expect_refusal(zero_total, "Total Fragments", kHeaderSize + 6);
  auto beyond = good;
  beyond[kHeaderSize + 5] = std::byte{0x7f};
  expect_refusal(beyond, "Fragment Number", kHeaderSize + 4);
  auto bad_length = good;
  bad_length[kHeaderSize + 3] ^= std::byte{1};
  expect_refusal(bad_length, "Payload Length", kHeaderSize + 2);
  Bytes truncated(good.begin(), good.begin() + kHeaderSize + 5);
  truncated[26] = std::byte{0};
  truncated[27] = std::byte{static_cast<std::uint8_t>(truncated.size())};
  expect_refusal(truncated, "Fragment header", kHeaderSize);
  auto init = good;
  init[18] = std::byte{static_cast<std::uint8_t>(ExchangeType::IkeSaInit)};
  expect_refusal(init, "Exchange Type", 18);
}

}  // namespace
}  // namespace ward::ike::v2::fragments_test
