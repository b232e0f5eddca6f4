// The Windows-made default IP Security objects (tests/data/ad/windows-default-ipsec.ldif): every
// ipsecData decodes, re-encodes byte for byte, and holds what FINDINGS.md says it holds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "directory/adblob/filter_blob.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/ldif_test_support.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/adblob/negotiation_guids.h"
#include "directory/adblob/nfa_blob.h"
#include "directory/adblob/policy_blob.h"
#include "directory/adblob/utf16.h"
#include "directory/adblob/version_blob.h"

namespace ward::adblob {
namespace {

using testing::LdifEntry;

std::string source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir ? dir : ".";
}

const std::vector<LdifEntry>& entries() {
  static const auto loaded = testing::read_ldif(source_dir() + "/tests/data/ad/windows-default-ipsec.ldif");
  return loaded;
}

const LdifEntry& entry(const std::string& rdn) {
  for (const auto& e : entries()) {
    if (e.dn.rfind("CN=" + rdn + ",", 0) == 0) return e;
  }
  throw std::runtime_error("no entry " + rdn);
}

std::vector<std::byte> data_of(const LdifEntry& e) { return testing::bytes_of(e.one("ipsecData")); }

bool has_class(const LdifEntry& e, const std::string& name) {
  for (const auto& c : e.all("objectClass")) {
    if (c == name) return true;
  }
  return false;
}

template <class Decode, class Encode>
void expect_round_trip(const LdifEntry& e, Decode decode, Encode encode) {
  const auto data = data_of(e);
  const auto decoded = decode(data);
  ASSERT_TRUE(decoded.has_value()) << e.dn << ": " << decoded.error().to_string();
  EXPECT_EQ(encode(*decoded), data) << e.dn;
}

TEST(WindowsDefaults, TheFileHoldsAllTwentyTwoObjects) { EXPECT_EQ(entries().size(), 22u); }

TEST(WindowsDefaults, EveryBlobDecodesAndReencodesByteExact) {
  int checked = 0;
  for (const auto& e : entries()) {
    SCOPED_TRACE(e.dn);
    EXPECT_EQ(e.one("ipsecDataType"), "598");  // not the spec's 256: FINDINGS.md
    if (has_class(e, "ipsecPolicy")) {
      expect_round_trip(e, [](auto d) { return decode_policy_blob(d); }, encode_policy_blob);
    } else if (has_class(e, "ipsecISAKMPPolicy")) {
      expect_round_trip(e, [](auto d) { return decode_isakmp_blob(d); }, encode_isakmp_blob);
    } else if (has_class(e, "ipsecNegotiationPolicy")) {
      expect_round_trip(e, [](auto d) { return decode_negotiation_blob(d); }, encode_negotiation_blob);
    } else if (has_class(e, "ipsecFilter")) {
      expect_round_trip(e, [](auto d) { return decode_filter_blob(d); }, encode_filter_blob);
    } else if (e.one("ipsecName") == "Version Information Object") {
      expect_round_trip(e, [](auto d) { return decode_version_blob(d); }, encode_version_blob);
    } else {
      ASSERT_TRUE(has_class(e, "ipsecNFA"));
      expect_round_trip(e, [](auto d) { return decode_nfa_blob(d); }, encode_nfa_blob);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 22);
}

TEST(WindowsDefaults, PoliciesPollEveryThreeHours) {
  for (const char* id : {"72385230", "72385236", "7238523C"}) {
    const auto blob = decode_policy_blob(data_of(entry(std::string("ipsecPolicy{") + id + "-70FA-11D1-864C-14A300000000}")));
    ASSERT_TRUE(blob.has_value());
    EXPECT_EQ(blob->polling_interval_seconds, 10800u);
    EXPECT_FALSE(blob->data_length_as_found.has_value());
    EXPECT_EQ(blob->trailer, std::vector<std::byte>{std::byte{0}});
  }
}

TEST(WindowsDefaults, IsakmpOffersTheFourClassicMainModeMethods) {
  const auto& e = entry("ipsecISAKMPPolicy{72385231-70FA-11D1-864C-14A300000000}");
  const auto blob = decode_isakmp_blob(data_of(e));
  ASSERT_TRUE(blob.has_value());
  // The instance GUID is not the object's ipsecID.
  EXPECT_EQ(blob->instance, *model::Guid::parse("{5119D268-071D-11D3-AD22-0060B0ECCA17}"));
  EXPECT_NE(blob->instance.to_string(), e.one("ipsecID"));
  EXPECT_EQ(blob->master_pfs_required, 0u);
  EXPECT_EQ(blob->main_mode_lifetime_seconds, 0u);
  EXPECT_EQ(blob->quick_mode_limit, 0u);
  ASSERT_EQ(blob->methods.size(), 4u);
  struct Want {
    std::uint32_t cipher, hash, group;
  };
  const Want want[] = {{isakmp_code::kCipher3Des, isakmp_code::kHashSha1, isakmp_code::kGroup2},
                       {isakmp_code::kCipher3Des, isakmp_code::kHashMd5, isakmp_code::kGroup2},
                       {isakmp_code::kCipherDes, isakmp_code::kHashSha1, isakmp_code::kGroup1},
                       {isakmp_code::kCipherDes, isakmp_code::kHashMd5, isakmp_code::kGroup1}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& m = blob->methods[i];
    EXPECT_EQ(m.encryption_algorithm, want[i].cipher) << i;
    EXPECT_EQ(m.hash_algorithm, want[i].hash) << i;
    EXPECT_EQ(m.oakley_group, want[i].group) << i;
    EXPECT_EQ(m.lifetime_seconds, 28800u);
    EXPECT_EQ(m.encryption_algorithm_high, isakmp_code::kWindowsAlgorithmHigh);
    EXPECT_EQ(m.zero4, isakmp_code::kWindowsCipherZero4);
    EXPECT_EQ(m.random_function, 0u);
    // Uninitialised fill that must survive re-encoding.
    EXPECT_EQ(m.zero3, 0xCDCDu);
    EXPECT_EQ(m.pfs_identity_required, 0xCDCDCDCDu);
  }
}

TEST(WindowsDefaults, EveryRuleUsesKerberosOnAllInterfacesWithoutTunnel) {
  int rules = 0;
  for (const auto& e : entries()) {
    if (!has_class(e, "ipsecNFA") || e.one("ipsecName") == "Version Information Object") continue;
    SCOPED_TRACE(e.dn);
    const auto blob = decode_nfa_blob(data_of(e));
    ASSERT_TRUE(blob.has_value());
    ASSERT_EQ(blob->auth_methods.size(), 1u);
    EXPECT_EQ(blob->auth_methods[0].type, nfa_code::kAuthKerberos);
    EXPECT_EQ(blob->auth_methods[0].data, (std::vector<std::byte>{std::byte{0}, std::byte{0}}));
    EXPECT_EQ(blob->interface_type, nfa_code::kInterfaceAll);
    EXPECT_EQ(blob->is_tunnel, 0u);  // also for the default response rules (no filter reference)
    EXPECT_EQ(blob->is_active, 1u);
    EXPECT_EQ(blob->interface_name, std::u16string(1, u'\0'));
    EXPECT_FALSE(blob->alt_auth_methods.has_value());
    EXPECT_FALSE(blob->data_length_as_found.has_value());
    ++rules;
  }
  EXPECT_EQ(rules, 7);
}

struct Algo {
  std::uint32_t type, algorithm, integrity;
};

void expect_offers(const std::string& rdn, const std::vector<Algo>& want, std::uint32_t seconds) {
  const auto blob = decode_negotiation_blob(data_of(entry(rdn)));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->offers.size(), want.size()) << rdn;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& offer = blob->offers[i];
    EXPECT_EQ(offer.pfs_qm_required, 0u);
    EXPECT_EQ(offer.negotiation_options, 0u);
    if (want[i].type == 0) {
      EXPECT_EQ(offer.algorithm_count, 0u) << rdn << " offer " << i;
      continue;
    }
    ASSERT_EQ(offer.algorithm_count, 1u) << rdn << " offer " << i;
    EXPECT_EQ(offer.algorithms[0].offer_type, want[i].type) << rdn << " offer " << i;
    EXPECT_EQ(offer.algorithms[0].algorithm, want[i].algorithm) << rdn << " offer " << i;
    EXPECT_EQ(offer.algorithms[0].integrity, want[i].integrity) << rdn << " offer " << i;
    if (seconds != 0 && want[i].type == negotiation_code::kOfferEsp) {
      EXPECT_EQ(offer.lifetime_seconds, seconds);
    }
  }
}

TEST(WindowsDefaults, FilterActionsOfferTheWindowsQuickModeMethods) {
  using namespace negotiation_code;
  const Algo esp_3des_sha1{kOfferEsp, kEsp3Des, kIntegritySha1}, esp_3des_md5{kOfferEsp, kEsp3Des, kIntegrityMd5},
      esp_des_sha1{kOfferEsp, kEspDes, kIntegritySha1}, esp_des_md5{kOfferEsp, kEspDes, kIntegrityMd5},
      ah_sha1{kOfferAh, kIntegritySha1, kIntegrityNone}, ah_md5{kOfferAh, kIntegrityMd5, kIntegrityNone},
      clear{0, 0, 0};
  expect_offers("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}",  // Request Security (Optional)
                {esp_3des_sha1, esp_des_sha1, ah_sha1, ah_md5, clear}, 900);
  expect_offers("ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000}",  // Require Security
                {esp_3des_sha1, esp_3des_md5, esp_des_sha1, esp_des_md5}, 900);
  expect_offers("ipsecNegotiationPolicy{7238523B-70FA-11D1-864C-14A300000000}", {}, 0);  // Permit
  for (const char* id : {"59319BDF", "59319C01", "59319BF0"}) {  // default response rules
    expect_offers(std::string("ipsecNegotiationPolicy{") + id + "-5EE3-11D2-ACE8-0060B0ECCA17}",
                  {esp_3des_sha1, esp_3des_md5, esp_des_sha1, esp_des_md5, ah_sha1, ah_md5}, 0);
  }
}

TEST(WindowsDefaults, UnusedAlgorithmSlotsKeepTheirStaleBytes) {
  const auto blob = decode_negotiation_blob(data_of(entry("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}")));
  ASSERT_TRUE(blob.has_value());
  // "\Se" in UTF-16LE: leftover memory, not an algorithm.
  EXPECT_EQ(blob->offers[0].algorithms[1].algorithm, 0x0053005Cu);
}

TEST(WindowsDefaults, NegotiationTypeAndActionGuids) {
  const auto action = [](const char* rdn) { return *model::Guid::parse(entry(rdn).one("iPSECNegotiationPolicyAction")); };
  const auto type = [](const char* rdn) { return *model::Guid::parse(entry(rdn).one("iPSECNegotiationPolicyType")); };
  EXPECT_EQ(action("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}"), negotiation_action::kInboundPassThrough);
  EXPECT_EQ(action("ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000}"), negotiation_action::kInboundPassThrough);
  EXPECT_EQ(action("ipsecNegotiationPolicy{7238523B-70FA-11D1-864C-14A300000000}"), negotiation_action::kPermit);
  EXPECT_EQ(action("ipsecNegotiationPolicy{59319BDF-5EE3-11D2-ACE8-0060B0ECCA17}"), negotiation_action::kSecure);
  EXPECT_EQ(type("ipsecNegotiationPolicy{59319BDF-5EE3-11D2-ACE8-0060B0ECCA17}"), negotiation_type::kDefaultResponse);
  EXPECT_EQ(type("ipsecNegotiationPolicy{72385233-70FA-11D1-864C-14A300000000}"), negotiation_type::kStandard);
}

TEST(WindowsDefaults, AllIpTrafficIsMirroredFromMyAddressToAny) {
  const auto blob = decode_filter_blob(data_of(entry("ipsecFilter{7238523A-70FA-11D1-864C-14A300000000}")));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->legacy_filters.size(), 1u);
  const auto& f = blob->legacy_filters[0];
  EXPECT_EQ(f.mirrored, 1u);
  EXPECT_EQ(f.source_address, (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_EQ(f.source_mask, (std::array<std::uint8_t, 4>{255, 255, 255, 255}));  // "my address"
  EXPECT_EQ(f.destination_address, (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_EQ(f.destination_mask, (std::array<std::uint8_t, 4>{0, 0, 0, 0}));     // any
  EXPECT_EQ(f.protocol, 0u);
  EXPECT_EQ(f.source_port, 0u);
  EXPECT_EQ(f.special_filter, filter_code::kSpecialNone);
  EXPECT_EQ(f.description, std::u16string(1, u'\0'));
  EXPECT_EQ(f.id, *model::Guid::parse("{59319BDD-5EE3-11D2-ACE8-0060B0ECCA17}"));
  EXPECT_FALSE(blob->v2.has_value());
}

TEST(WindowsDefaults, AllIcmpTrafficMatchesProtocolOne) {
  const auto blob = decode_filter_blob(data_of(entry("ipsecFilter{72385235-70FA-11D1-864C-14A300000000}")));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->legacy_filters.size(), 1u);
  const auto& f = blob->legacy_filters[0];
  EXPECT_EQ(f.protocol, 1u);
  EXPECT_EQ(f.mirrored, 1u);
  EXPECT_EQ(f.description, std::u16string(u"ICMP", 5));  // NUL-terminated, length counts the NUL
  EXPECT_EQ(from_windows_text(f.description), "ICMP");
}

TEST(WindowsDefaults, VersionInformationObjectWrapsAnOrdinaryNfaBlob) {
  const auto& e = entry("ipsecNFA{6A1F5C6F-72B7-11D2-ACF0-0060B0ECCA17}");
  const auto blob = decode_version_blob(data_of(e));
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  EXPECT_EQ(blob->id.to_string(), e.one("ipsecID"));
  EXPECT_EQ(blob->version, 0x00010000u);
  EXPECT_EQ(from_windows_text(blob->product), "Windows 2000");
  EXPECT_EQ(from_windows_text(blob->author), "Administrator");
  ASSERT_TRUE(blob->nfa.has_value());
  EXPECT_EQ(blob->nfa->auth_methods.size(), 1u);
  // The plain NFA decoder rejects it by its first GUID, naming field and offset.
  const auto as_nfa = decode_nfa_blob(data_of(e));
  ASSERT_FALSE(as_nfa.has_value());
  EXPECT_EQ(as_nfa.error().field, "blob type GUID");
  EXPECT_EQ(as_nfa.error().offset, 0u);
}

}  // namespace
}  // namespace ward::adblob
