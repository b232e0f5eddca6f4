// IKEv2 rekeying against charon (the rig of wardd_strongswan_rig.h): the CHILD_SA is rekeyed with
// CREATE_CHILD_SA inside the IKE SA wardd made, once by charon (its child rekey_time = 3 s, with a
// MODP-2048 PFS exchange) and once by wardd (its SAs limited to 6 s, so the soft expiry comes at
// 4 s). Checked while Ward pings charon every 200 ms: swanctl lists new CHILD_SA SPIs under the
// same IKE SA SPIs and one CHILD_SA only (the old one deleted), wardd's `show sa` has the new pair,
// wardd sent one IKE_SA_INIT in all, and no echo request went unanswered. Then charon rekeys the
// IKE SA itself (its rekey_time 3 s): new IKE SA SPIs, the same CHILD_SA, the old IKE SA gone.
// And charon asks for a second CHILD_SA (ICMP only) in wardd's IKE SA, which wardd agrees.
#include <chrono>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

std::string ikev2_psk_conf(const std::string& psk, const std::string& esp_proposals, const std::string& child,
                           const std::string& options = "") {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  auto conf = swanctl_connection("      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n", options,
                                 "aes128-sha256-modp2048", esp_proposals, "tunnel", child) +
              "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + psk + "\"\n  }\n}\n";
  conf.replace(conf.find("version = 1"), std::string("version = 1").size(), "version = 2");
  return conf;
}

// What `swanctl --list-sas` says of the IKE SA and its INSTALLED CHILD_SAs (charon lists a rekeyed
// one as DELETED for a while: its inbound SA stays for packets in flight, delete_rekeyed_delay).
struct Listed {
  std::string ike_spis;                 // "spi_i spi_r"
  std::vector<std::string> child_in;    // charon's inbound SPIs
  std::vector<std::string> child_out;
};
Listed listed(const std::string& list) {
  Listed l;
  std::smatch m;
  static const std::regex kIke(R"(([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r)");
  if (std::regex_search(list, m, kIke)) l.ike_spis = m[1].str() + " " + m[2].str();
  static const std::regex kChild(R"(^\s+\S+: #\d+, reqid \d+, (\S+),)"), kIn(R"(^\s+in\s+([0-9a-f]{8}))"), kOut(R"(^\s+out\s+([0-9a-f]{8}))");
  bool installed = false;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, m, kChild)) {
      installed = m[1] == "INSTALLED";
    } else if (installed && std::regex_search(line, m, kIn)) {
      l.child_in.push_back(m[1]);
    } else if (installed && std::regex_search(line, m, kOut)) {
      l.child_out.push_back(m[1]);
    }
  }
  return l;
}

// The icmp_seq of each echo reply in ping's output.
std::set<int> answered_sequence_numbers(const std::string& output) {
  std::set<int> seqs;
  static const std::regex kReply(R"(bytes from .* icmp_seq=(\d+))");
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kReply)) seqs.insert(std::stoi(m[1]));
  }
  return seqs;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class WarddStrongSwanIkev2RekeyTest : public WarddStrongSwanRig {
 protected:
  enum class Rekeyed : std::uint8_t { ChildSa, IkeSa };
  // wardd initiates on the first ping; then pings every 200 ms until charon lists a CHILD_SA with
  // other SPIs (and only that one) under the same IKE SA, or (IkeSa) the same CHILD_SA under an
  // IKE SA with other SPIs.
  void rekeys_under_pings(const std::string& charon_conf, const std::string& wardd_config, std::chrono::milliseconds limit,
                          Rekeyed what = Rekeyed::ChildSa) {
    start_charon(charon_conf);
    start_wardd(tunnel_policy(model::AuthMethod::preshared("ward and charon rekey")), "[ike]\nversion = ikev2-first\n" + wardd_config);
    ASSERT_NE(ping_until_answered(), 0) << wardd_log() << charon_log();
    const auto before = listed(swanctl({"--list-sas"}).out);
    ASSERT_FALSE(before.ike_spis.empty()) << swanctl({"--list-sas"}).describe();
    ASSERT_EQ(before.child_in.size(), 1U) << swanctl({"--list-sas"}).out;
    const auto started = std::chrono::steady_clock::now();

    auto pinger = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), "/usr/bin/stdbuf", "-oL", "/usr/bin/ping", "-n",
                                             "-i", "0.2", "-W", "1", kCharonAddress},
                                            {}, dir() / "ping.txt");
    ASSERT_TRUE(pinger) << pinger.error().to_string();
    Listed after;
    const bool rekeyed = eventually(
        [&] {
          after = listed(swanctl({"--list-sas"}).out);
          if (what == Rekeyed::IkeSa) return !after.ike_spis.empty() && after.ike_spis != before.ike_spis && after.child_in.size() == 1;
          return after.child_in.size() == 1 && after.child_in[0] != before.child_in[0];
        },
        limit);
    const auto rekey_ms = ms_since(started);
    // A second more of pings through the new pair, then what ping saw.
    std::this_thread::sleep_for(1s);
    const auto seen = test::read_text(dir() / "ping.txt");
    pinger->stop();
    ASSERT_TRUE(rekeyed) << swanctl({"--list-sas"}).out << wardd_log() << charon_log();
    const auto list = swanctl({"--list-sas"}).out;
    std::printf("swanctl --list-sas before:\n  IKE %s, CHILD in %s out %s\nafter %lld ms:\n%s\n", before.ike_spis.c_str(),
                before.child_in[0].c_str(), before.child_out[0].c_str(), rekey_ms, list.c_str());

    if (what == Rekeyed::IkeSa) {
      EXPECT_EQ(after.child_in[0], before.child_in[0]) << "the CHILD_SA moves to the new IKE SA unchanged";
      EXPECT_EQ(occurrences(list, "ESTABLISHED, IKEv2"), 1U) << "the old IKE SA is deleted:\n" << list;
    } else {
      EXPECT_EQ(after.ike_spis, before.ike_spis) << "the CHILD_SA moved to another IKE SA";
      EXPECT_NE(after.child_out[0], before.child_out[0]);
    }
    const auto sa = show_sa();
    ASSERT_EQ(sa.value("quick_modes", nlohmann::json::array()).size(), 1U) << sa.dump(1);
    EXPECT_EQ(sa["quick_modes"][0]["spi_out"], "0x" + after.child_in[0]) << sa.dump(1);
    EXPECT_EQ(sa["quick_modes"][0]["spi_in"], "0x" + after.child_out[0]) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
    const auto log = test::read_text(dir() / "wardd.log");
    EXPECT_EQ(occurrences(log, "IKE_SA_INIT sent"), 1U) << log << charon_log();
    EXPECT_EQ(occurrences(log, "IKE_SA_INIT answered"), 0U) << log;
    EXPECT_NE(log.find(what == Rekeyed::IkeSa ? ": rekeyed with CREATE_CHILD_SA (was " : "), rekeyed with CREATE_CHILD_SA: replaces"),
              std::string::npos)
        << log;

    const auto answered = answered_sequence_numbers(seen);
    ASSERT_GE(answered.size(), 5U) << seen;
    const int sent = *answered.rbegin() - *answered.begin() + 1;
    std::printf("pings through the rekey: %zu of %d answered (icmp_seq %d..%d)\n", answered.size(), sent, *answered.begin(),
                *answered.rbegin());
    EXPECT_EQ(static_cast<int>(answered.size()), sent) << "echo requests lost while the CHILD_SA was rekeyed:\n" << seen;
  }
};

// charon rekeys the CHILD_SA (rekey_time 3 s, no jitter) with a new MODP-2048 exchange: wardd, which
// has no PFS in its policy, takes charon's group.
TEST_F(WarddStrongSwanIkev2RekeyTest, CharonRekeysTheChildSaInWardsIkeSaWithPfs) {
  rekeys_under_pings(ikev2_psk_conf("ward and charon rekey", "aes128-sha256-modp2048",
                                    "        rekey_time = 3s\n        rand_time = 0s\n        life_time = 60s\n"),
                     "", 8s);
  const auto log = wardd_log();
  EXPECT_EQ(log.find("rekeying it with CREATE_CHILD_SA"), std::string::npos) << "charon's rekey, not wardd's" << log;
  EXPECT_NE(log.find("(PFS group 14)"), std::string::npos) << log;
}

// wardd rekeys: its SAs are limited to 6 s, so the dataplane reports the soft expiry at 4 s.
TEST_F(WarddStrongSwanIkev2RekeyTest, WarddRekeysTheChildSaInItsIkeSaOnItsSoftExpiry) {
  rekeys_under_pings(ikev2_psk_conf("ward and charon rekey", "aes128-sha256", ""), "[driver]\nsa_lifetime_limit = 6s\n", 8s);
  EXPECT_NE(wardd_log().find("reached its soft lifetime: rekeying it with CREATE_CHILD_SA"), std::string::npos) << wardd_log();
}

// charon rekeys the IKE SA (its rekey_time 3 s; over_time 30 s, else charon ends the IKE SA at
// 3.3 s whatever the rekey does): wardd answers CREATE_CHILD_SA with a new IKE SA,
// moves the CHILD_SA to it and takes charon's DELETE of the old one.
TEST_F(WarddStrongSwanIkev2RekeyTest, CharonRekeysWardsIkeSaAndTheChildSaMovesWithIt) {
  rekeys_under_pings(ikev2_psk_conf("ward and charon rekey", "aes128-sha256", "", "    rekey_time = 3s\n    rand_time = 0s\n    over_time = 30s\n"), "",
                     8s, Rekeyed::IkeSa);
  EXPECT_EQ(wardd_log().find("rekeying it with CREATE_CHILD_SA"), std::string::npos) << "charon's rekey, not wardd's" << wardd_log();
}

// charon asks for a second CHILD_SA (ICMP only) in the IKE SA wardd made: CREATE_CHILD_SA without
// REKEY_SA, which wardd answers from its policy; both CHILD_SAs stay installed on both sides.
TEST_F(WarddStrongSwanIkev2RekeyTest, CharonAddsASecondChildSaToWardsIkeSa) {
  auto conf = ikev2_psk_conf("ward and charon rekey", "aes128-sha256", "");
  const std::string ward = kWardAddress, charon = kCharonAddress;
  const std::string end_of_children = "      }\n    }\n  }\n}\nsecrets";
  conf.replace(conf.find(end_of_children), end_of_children.size(),
               "      }\n      icmp {\n        local_ts = " + charon + "/32[icmp]\n        remote_ts = " + ward +
                   "/32[icmp]\n        mode = tunnel\n        esp_proposals = aes128-sha256\n      }\n    }\n  }\n}\nsecrets");
  start_charon(conf);
  start_wardd(tunnel_policy(model::AuthMethod::preshared("ward and charon rekey")), "[ike]\nversion = ikev2-first\n");
  ASSERT_NE(ping_until_answered(), 0) << wardd_log() << charon_log();
  const auto before = listed(swanctl({"--list-sas"}).out);
  ASSERT_EQ(before.child_in.size(), 1U) << swanctl({"--list-sas"}).out;
  const auto initiated = swanctl({"--initiate", "--child", "icmp"});
  ASSERT_EQ(initiated.exit_code, 0) << initiated.describe() << wardd_log() << charon_log();
  Listed after;
  ASSERT_TRUE(eventually([&] {
    after = listed(swanctl({"--list-sas"}).out);
    return after.child_in.size() == 2;
  })) << swanctl({"--list-sas"}).out << wardd_log() << charon_log();
  const auto list = swanctl({"--list-sas"}).out;
  std::printf("swanctl --list-sas with the second CHILD_SA:\n%s\n", list.c_str());
  EXPECT_EQ(after.ike_spis, before.ike_spis);
  EXPECT_EQ(occurrences(list, "ESTABLISHED, IKEv2"), 1U) << list;
  const auto sa = show_sa();
  EXPECT_EQ(sa.value("quick_modes", nlohmann::json::array()).size(), 2U) << sa.dump(1);
  EXPECT_EQ(sa.value("main_modes", nlohmann::json::array()).size(), 1U) << sa.dump(1);
  EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << wardd_log();
  EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
}

// The other way: wardd asks for a further CHILD_SA in the IKE SA it made. Its policy has two
// filters each way, ICMP and any protocol: the first ping's acquire (the ICMP filter) makes the IKE
// SA and an ICMP CHILD_SA, then a UDP datagram's (the other filter) a CREATE_CHILD_SA in that IKE
// SA, which charon agrees from its one connection (the first narrowed to ICMP as proposed): one IKE
// SA, two CHILD_SAs on both sides, one IKE_SA_INIT in wardd's log, the datagrams carried.
TEST_F(WarddStrongSwanIkev2RekeyTest, WarddAddsASecondChildSaToItsIkeSaForAnotherFilter) {
  start_charon(ikev2_psk_conf("ward and charon rekey", "aes128-sha256", ""));
  auto policy = tunnel_policy(model::AuthMethod::preshared("ward and charon rekey"));
  for (auto& list : policy.filter_lists) {
    auto icmp = list.filters.front();
    icmp.id = model::Guid::random();
    icmp.description += " (ICMP)";
    icmp.protocol = model::ip_protocol::kIcmp;
    list.filters.insert(list.filters.begin(), icmp);
  }
  start_wardd(policy, "[ike]\nversion = ikev2-first\n");
  ASSERT_NE(ping_until_answered(), 0) << wardd_log() << charon_log();
  ASSERT_EQ(listed(swanctl({"--list-sas"}).out).child_in.size(), 1U) << swanctl({"--list-sas"}).out;
  const auto udp = "for i in 1 2 3 4 5; do echo ward > /dev/udp/" + std::string(kCharonAddress) + "/9; sleep 0.2; done";
  ward_ns_->exec("bash -c \"" + udp + "\"");
  Listed after;
  ASSERT_TRUE(eventually([&] {
    after = listed(swanctl({"--list-sas"}).out);
    return after.child_in.size() == 2;
  })) << swanctl({"--list-sas"}).out << wardd_log() << charon_log();
  ward_ns_->exec("bash -c \"" + udp + "\"");
  const auto list = swanctl({"--list-sas"}).out;
  std::printf("swanctl --list-sas with wardd's second CHILD_SA:\n%s\n", list.c_str());
  EXPECT_EQ(occurrences(list, "ESTABLISHED, IKEv2"), 1U) << list;
  // The second CHILD_SA (any protocol, as proposed) took the datagrams.
  const auto second = list.find("[icmp]") != std::string::npos ? list.rfind(", reqid ") : std::string::npos;
  ASSERT_NE(second, std::string::npos) << list;
  EXPECT_EQ(list.find("[icmp]", second), std::string::npos) << "the second CHILD_SA is the ICMP one:\n" << list;
  EXPECT_GT(child_sa_bytes(list.substr(second)).first, 0) << "no datagram reached charon through it:\n" << list;
  const auto sa = show_sa();
  EXPECT_EQ(sa.value("quick_modes", nlohmann::json::array()).size(), 2U) << sa.dump(1);
  EXPECT_EQ(sa.value("main_modes", nlohmann::json::array()).size(), 1U) << sa.dump(1);
  const auto log = test::read_text(dir() / "wardd.log");
  EXPECT_EQ(occurrences(log, "IKE_SA_INIT sent"), 1U) << log;
  EXPECT_NE(log.find("a further CHILD_SA with CREATE_CHILD_SA"), std::string::npos) << log;
  EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << wardd_log();
}

}  // namespace
}  // namespace ward::interop
