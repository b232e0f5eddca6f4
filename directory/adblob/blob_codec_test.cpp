// Blob codecs on constructed input: the GUID layout, optional parts, and errors that name the
// field and the byte offset.
#include <gtest/gtest.h>

#include "directory/adblob/blob_framing.h"
#include "directory/adblob/filter_blob.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/utf16.h"

namespace ward::adblob {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (const int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(GuidLayout, MatchesTheWindowsByteOrder) {
  const auto wire = windows_bytes_of(blob_type::kPolicy);
  const model::Guid::Bytes want{0x63, 0x21, 0x20, 0x22, 0x4c, 0x4f, 0xd1, 0x11,
                                0x86, 0x3b, 0x00, 0xa0, 0x24, 0x8d, 0x30, 0x21};
  EXPECT_EQ(wire, want);
  EXPECT_EQ(guid_from_windows_bytes(wire), blob_type::kPolicy);
  EXPECT_EQ(windows_bytes_of(nfa_marker::kAltAuthFlags)[15], 0x02);
  EXPECT_EQ(windows_bytes_of(nfa_marker::kAltAuthMethods)[0], 0x01);
}

TEST(PolicyBlob, EncodesTheSpecsTwentyFiveBytes) {
  PolicyBlob blob;
  const auto data = encode_policy_blob(blob);
  ASSERT_EQ(data.size(), 25u);
  EXPECT_EQ(data[16], std::byte{4});
  const auto back = decode_policy_blob(data);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, blob);
}

TEST(PolicyBlob, TruncationNamesFieldAndOffset) {
  auto data = encode_policy_blob(PolicyBlob{});
  data.resize(22);
  const auto result = decode_policy_blob(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().structure, "ipsecPolicy blob");
  EXPECT_EQ(result.error().field, "Polling-Interval");
  EXPECT_EQ(result.error().offset, 20u);
}

TEST(PolicyBlob, WrongTypeGuidIsRefused) {
  const auto result = decode_policy_blob(encode_negotiation_blob(NegotiationBlob{}));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "blob type GUID");
  EXPECT_NE(result.error().message.find("80DC20B9"), std::string::npos);
}

TEST(PolicyBlob, UnusualDataLengthAndTrailerSurvive) {
  auto data = encode_policy_blob(PolicyBlob{});
  data[16] = std::byte{9};
  data.push_back(std::byte{0xAB});
  const auto blob = decode_policy_blob(data);
  ASSERT_TRUE(blob.has_value());
  EXPECT_EQ(blob->data_length_as_found, 9u);
  EXPECT_EQ(blob->trailer, bytes({0, 0xAB}));
  EXPECT_EQ(encode_policy_blob(*blob), data);
}

TEST(IsakmpBlob, AHugeMethodCountIsAnErrorNotAnAllocation) {
  IsakmpBlob blob;
  auto data = encode_isakmp_blob(blob);
  data[80] = std::byte{0xFF};
  data[83] = std::byte{0x7F};
  const auto result = decode_isakmp_blob(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "Security-Method-Count");
  EXPECT_EQ(result.error().offset, 84u);
}

TEST(NfaBlob, TheOptionalTailRoundTrips) {
  NfaBlob blob;
  blob.auth_methods = {{nfa_code::kAuthKerberos, bytes({0, 0})}, {nfa_code::kAuthCertificate, bytes({'C', 0, 'A', 0, 0, 0})}};
  blob.alt_auth_methods = blob.auth_methods;
  blob.alt_auth_flags = NfaAltAuthFlags{0, {0, 1}};
  blob.ipv6_tunnel_address = std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  blob.is_tunnel = 1;
  const auto data = encode_nfa_blob(blob);
  const auto back = decode_nfa_blob(data);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, blob);
  EXPECT_EQ(encode_nfa_blob(*back), data);
}

TEST(NfaBlob, AcceptsAPadByteBeforeTheTail) {
  NfaBlob blob;
  blob.auth_methods = {{nfa_code::kAuthKerberos, bytes({0, 0})}};
  blob.pad_before_tail = 0;
  blob.ipv6_tunnel_address = std::array<std::uint8_t, 16>{};
  blob.trailer.clear();
  const auto data = encode_nfa_blob(blob);
  const auto back = decode_nfa_blob(data);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, blob);
}

TEST(NfaBlob, AltCountMustMatchThePrimaryCount) {
  NfaBlob blob;
  blob.auth_methods = {{nfa_code::kAuthKerberos, bytes({0, 0})}};
  blob.alt_auth_methods = std::vector<NfaAuthMethod>{};
  const auto result = decode_nfa_blob(encode_nfa_blob(blob));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "Alt-Auth-Num-Methods-Count");
}

TEST(NfaBlob, OddTextLengthIsNamed) {
  NfaBlob blob;
  auto data = encode_nfa_blob(blob);
  data[28] = std::byte{3};  // Interface-Name-Length
  const auto result = decode_nfa_blob(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "Interface-Name");
  EXPECT_EQ(result.error().offset, 32u);
}

TEST(NegotiationBlob, AtMostThreeAlgorithmsPerOffer) {
  NegotiationBlob blob;
  blob.offers.push_back({});
  auto data = encode_negotiation_blob(blob);
  data[24 + 16] = std::byte{4};
  const auto result = decode_negotiation_blob(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "Algorithm-Offer-Count");
  EXPECT_EQ(result.error().offset, 44u);
}

TEST(FilterBlob, PartTwoRoundTripsAndTheLegacyLengthCoversPartOneOnly) {
  FilterBlob blob;
  LegacyFilterSpec legacy;
  legacy.description = *to_windows_text("web");
  legacy.source_dns_name = legacy.destination_dns_name = std::u16string(1, u'\0');
  legacy.source_address = {10, 0, 0, 1};
  legacy.source_mask = {255, 255, 255, 255};
  legacy.protocol = 6;
  legacy.destination_port = 443;
  blob.legacy_filters.push_back(legacy);
  FilterPartV2 v2;
  FilterSpecV2 spec;
  spec.description = *to_windows_text("v6");
  spec.source = {filter_code::kAddressMe, filter_code::kVersionBoth, {}, {}};
  spec.destination = {filter_code::kAddressSubnet, filter_code::kVersionV6, {0x20, 0x01, 0x0d, 0xb8}, {32}};
  spec.destination_port = {filter_code::kPortRange, 1000, 2000};
  v2.filters.push_back(spec);
  blob.v2 = v2;
  const auto data = encode_filter_blob(blob);
  const auto back = decode_filter_blob(data);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, blob);
  // Data-Length1 = count + the one legacy record (3 string lengths + 2 + 2 + 8 bytes of text + 52).
  EXPECT_EQ(std::to_integer<int>(data[16]), 4 + 12 + 2 + 2 + 8 + 52);
  EXPECT_EQ(data.back(), std::byte{0});
}

TEST(FilterBlob, AHugeFilterCountIsAnError) {
  auto data = encode_filter_blob(FilterBlob{});
  data[23] = std::byte{0x10};
  const auto result = decode_filter_blob(data);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().field, "Number-Of-Filters1");
}

TEST(Utf16, ConvertsBothWaysAndRefusesBrokenText) {
  EXPECT_EQ(to_windows_text("Grüße €"), std::u16string(u"Grüße €", 8));
  EXPECT_EQ(from_windows_text(u"Grüße €"), "Grüße €");
  EXPECT_EQ(from_windows_text(std::u16string(u"😀", 2)), "😀");
  EXPECT_FALSE(from_windows_text(std::u16string(1, static_cast<char16_t>(0xD800))).has_value());
  EXPECT_FALSE(to_windows_text("\xC3").has_value());
  EXPECT_FALSE(to_windows_text(std::string("a\0b", 3)).has_value());
}

}  // namespace
}  // namespace ward::adblob
