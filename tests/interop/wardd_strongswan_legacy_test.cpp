// wardd <-> charon with what Windows 2000/2003 offers (wardd_strongswan_rig.h): the policy lists
// Windows' main mode methods (3DES/SHA-1/group 2, 3DES/MD5/group 2, DES/SHA-1/group 1,
// DES/MD5/group 1) and ESP 3DES/SHA-1, 3DES/MD5 (and DES, skipped), with the legacy opt-in that a
// policy read from AD offering them has. charon (its openssl plugin does 3DES, MD5 and MODP-1024)
// offers one combination; the tunnel comes up, pings pass, both sides name the algorithms, and
// tshark sees only ESP-in-UDP. wardd initiating (a ping) and charon initiating (swanctl
// --initiate). charon's kernel-libipsec does tunnel mode and UDP-encapsulated ESP only, no AH:
// AH against charon runs inside User-mode Linux with charon's kernel-netlink
// (wardd_strongswan_kernel_test.cpp). Skips without root, `ip`, charon-systemd or tshark.
#include <chrono>
#include <cstdio>
#include <string>

#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

constexpr const char* kPsk = "windows era interop";

model::Policy windows_tunnel_policy() {
  auto policy = tunnel_policy(model::AuthMethod::preshared(kPsk));
  policy.name = "Ward to strongSwan, Windows offers";
  policy.allow_legacy_algorithms = true;
  policy.key_exchange.methods = {{model::Cipher::TripleDes, model::Integrity::Sha1, model::DhGroup::Modp1024},
                                 {model::Cipher::TripleDes, model::Integrity::Md5, model::DhGroup::Modp1024},
                                 {model::Cipher::Des, model::Integrity::Sha1, model::DhGroup::Modp768},
                                 {model::Cipher::Des, model::Integrity::Md5, model::DhGroup::Modp768}};
  policy.filter_actions[0].security_methods = {
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Sha1}, 100000, 900},
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::TripleDes, model::Integrity::Md5}, 100000, 900},
      model::SecurityMethod{std::nullopt, model::EspTransform{model::Cipher::Des, model::Integrity::Sha1}, 100000, 900}};
  return policy;
}

std::string legacy_swanctl_conf(const std::string& proposals, const std::string& esp_proposals) {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  return swanctl_connection("      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n", "",
                            proposals, esp_proposals) +
         "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + kPsk + "\"\n  }\n}\n";
}

struct Case {
  const char* proposals;       // charon's main mode offer
  const char* esp_proposals;   // charon's quick mode offer
  const char* hash;            // what wardd shows for main mode
  const char* integrity;       // ... and for ESP
  const char* swanctl_ike;     // what swanctl --list-sas shows
  const char* swanctl_child;
};
const Case k3desSha1{"3des-sha1-modp1024", "3des-sha1", "SHA-1", "HMAC-SHA1-96", "3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024",
                     "3DES_CBC/HMAC_SHA1_96"};
const Case k3desMd5{"3des-md5-modp1024", "3des-md5", "MD5", "HMAC-MD5-96", "3DES_CBC/HMAC_MD5_96/PRF_HMAC_MD5/MODP_1024",
                    "3DES_CBC/HMAC_MD5_96"};

class WarddStrongSwanLegacyTest : public WarddStrongSwanRig {
 protected:
  // Both ends agree on `c`: wardd's SAs, charon's, and the wire.
  void expect_tunnel(const Case& c, const char* ward_role) {
    nlohmann::json sa;
    ASSERT_TRUE(eventually([&] {
      sa = show_sa();
      return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa.dump(1) << wardd_log() << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
    sa = show_sa();
    ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    const auto& mm = sa["main_modes"][0];
    EXPECT_EQ(mm["cipher"], "3DES-CBC") << mm.dump(1);
    EXPECT_EQ(mm["hash"], c.hash) << mm.dump(1);
    EXPECT_EQ(mm["dh_group"], 2) << mm.dump(1);
    EXPECT_EQ(mm["role"], ward_role);
    const auto& qm = sa["quick_modes"][0];
    EXPECT_EQ(qm["protocols"], "ESP");
    EXPECT_EQ(qm["cipher"], "3DES-CBC") << qm.dump(1);
    EXPECT_EQ(qm["integrity"], c.integrity) << qm.dump(1);
    EXPECT_GE(qm.value("packets_in", 0), 2) << qm.dump(1);
    EXPECT_GE(qm.value("packets_out", 0), 2) << qm.dump(1);
    const auto list = swanctl({"--list-sas"});
    std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
    EXPECT_NE(list.out.find(c.swanctl_ike), std::string::npos) << list.describe();
    EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
    EXPECT_NE(list.out.find(c.swanctl_child), std::string::npos) << list.describe();
    const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
    EXPECT_GT(bytes_in, 0) << list.out;
    EXPECT_GT(bytes_out, 0) << list.out;
    const auto capture = stop_capture();
    const std::string ward_to_charon = std::string(kWardAddress) + "\t" + kCharonAddress;
    const std::string charon_to_ward = std::string(kCharonAddress) + "\t" + kWardAddress;
    EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_NE(capture.find(charon_to_ward + "\t4500\t4500\tESP"), std::string::npos) << capture;
    EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
  }

  void ward_initiates(const Case& c) {
    start_charon(legacy_swanctl_conf(c.proposals, c.esp_proposals));
    start_wardd(windows_tunnel_policy());
    start_capture();
    ASSERT_NE(ping_until_answered(), 0) << wardctl("show events").second << wardd_log() << charon_log();
    expect_tunnel(c, "initiator");
  }

  void charon_initiates(const Case& c) {
    start_charon(legacy_swanctl_conf(c.proposals, c.esp_proposals));
    start_wardd(windows_tunnel_policy());
    start_capture();
    const auto initiated = swanctl({"--initiate", "--child", "ward", "--timeout", "10"});
    ASSERT_EQ(initiated.exit_code, 0) << initiated.describe() << wardd_log() << charon_log();
    expect_tunnel(c, "responder");
  }
};

TEST_F(WarddStrongSwanLegacyTest, WarddInitiates3desSha1Modp1024WithEsp3desSha1) { ward_initiates(k3desSha1); }
TEST_F(WarddStrongSwanLegacyTest, WarddInitiates3desMd5Modp1024WithEsp3desMd5) { ward_initiates(k3desMd5); }
TEST_F(WarddStrongSwanLegacyTest, CharonInitiates3desSha1Modp1024WithEsp3desSha1) { charon_initiates(k3desSha1); }
TEST_F(WarddStrongSwanLegacyTest, CharonInitiates3desMd5Modp1024WithEsp3desMd5) { charon_initiates(k3desMd5); }

}  // namespace
}  // namespace ward::interop
