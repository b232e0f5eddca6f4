// The real wardd (nfqueue dataplane, local policy file) in one namespace, charon-systemd with
// kernel-libipsec in the other, joined by a veth pair. The policy holds the Windows pair of tunnel
// rules (Ward -> charon through charon's endpoint, charon -> Ward through Ward's) with a PSK. The
// first ping makes wardd's dataplane ask IKE for an SA; IKEv1 main mode floats to UDP 4500 (charon
// fakes a NAT) and quick mode installs UDP-encapsulated tunnel-mode ESP in wardd's dataplane and in
// libipsec. Checked: pings pass both ways, `swanctl --list-sas` shows bytes in and out on the
// CHILD_SA, `wardctl show sa` shows the SA pair with packets, and tshark on Ward's veth end sees
// UDP/4500 ESP and no ICMP in clear. A wrong PSK: no SA on either side, the reason in wardd's
// events, and the ping neither passes nor leaves in clear; charon, which cannot decrypt main mode
// 5, keeps a CONNECTING IKE_SA (never ESTABLISHED) that wardd cannot reach under differing keys. Skips without root, `ip`, charon-systemd
// or tshark.
#include <chrono>
#include <cstdio>
#include <string>

#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

// charon's side of the PSK tunnel: both IDs are the addresses, the key under secrets.
std::string psk_swanctl_conf(const std::string& psk) {
  const std::string ward = kWardAddress, charon = kCharonAddress;
  return swanctl_connection("      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n") +
         "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + psk + "\"\n  }\n}\n";
}

using WarddStrongSwanTest = WarddStrongSwanRig;

TEST_F(WarddStrongSwanTest, PskTunnelEstablishesOnBothSidesAndTrafficPassesEncrypted) {
  start_charon(psk_swanctl_conf("ward and charon agree"));
  start_wardd(tunnel_policy(model::AuthMethod::preshared("ward and charon agree")));
  start_capture();

  // The first echo request waits in wardd's dataplane for the SA that IKE negotiates.
  const auto started = std::chrono::steady_clock::now();
  const int pings = ping_until_answered();
  const auto first_answer = ms_since(started);
  ASSERT_NE(pings, 0) << wardctl("show events").second << wardd_log() << charon_log();
  // wardd installs its outbound SA, which releases the held echo request, after quick mode
  // message 3 and a pause in which charon installs its inbound SA: the first echo is not lost.
  EXPECT_EQ(pings, 1) << "the echo request held while IKE negotiated was lost; answered after " << first_answer << " ms";
  nlohmann::json sa;
  ASSERT_TRUE(eventually([&] {
    sa = show_sa();
    return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
  })) << sa.dump(1);
  std::printf("first ping answered through the tunnel (main mode + quick mode included) after %lld ms\n", first_answer);

  // charon pings back through the same SA pair; then the round trip through the tunnel.
  EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
  const auto rtt = ward_ns_->exec_output("ping -q -c " + std::to_string(kRttPings) + " -i 0.2 -W1 " + kCharonAddress + " | tail -1");
  std::printf("ping -c %d through the tunnel: %s", kRttPings, rtt.c_str());

  // wardd's view: one UDP-encapsulated main mode and the quick mode with packets both ways.
  sa = show_sa();
  ASSERT_EQ(sa["quick_modes"].size(), 1U) << sa.dump(1);
  const auto& qm = sa["quick_modes"][0];
  EXPECT_EQ(qm["peer"], kCharonAddress) << qm.dump(1);
  EXPECT_EQ(qm["role"], "initiator");
  EXPECT_EQ(qm["rule"], "Ward to charon");
  EXPECT_GE(qm.value("packets_out", 0), kRttPings + 2) << qm.dump(1);
  EXPECT_GE(qm.value("packets_in", 0), kRttPings + 2) << qm.dump(1);
  ASSERT_EQ(sa["main_modes"].size(), 1U) << sa.dump(1);
  EXPECT_EQ(sa["main_modes"][0].value("peer_port", 0), 4500) << sa["main_modes"][0].dump(1);
  EXPECT_TRUE(sa["main_modes"][0].value("nat_t", false)) << "charon fakes a NAT; wardd must have floated";
  EXPECT_EQ(sa["sas"].size(), 2U) << sa.dump(1);
  std::printf("wardctl show sa (quick mode): %s\n", qm.dump().c_str());

  // charon's view: the CHILD_SA is installed, UDP-encapsulated, with bytes in and out.
  const auto list = swanctl({"--list-sas"});
  std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
  EXPECT_NE(list.out.find("ESTABLISHED"), std::string::npos) << list.describe();
  EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
  const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
  EXPECT_GT(bytes_in, 0) << list.out;
  EXPECT_GT(bytes_out, 0) << list.out;

  // On the wire: IKE, then UDP-encapsulated ESP on 4500; no ICMP in clear.
  const auto capture = stop_capture();
  std::printf("capture on Ward's veth (%zu bytes of tshark lines)\n", capture.size());
  const std::string ward_to_charon = std::string(kWardAddress) + "\t" + kCharonAddress;
  const std::string charon_to_ward = std::string(kCharonAddress) + "\t" + kWardAddress;
  EXPECT_NE(capture.find(ward_to_charon + "\t500\t500\tISAKMP"), std::string::npos) << capture;
  EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tISAKMP"), std::string::npos) << "no float to 4500:\n" << capture;
  EXPECT_NE(capture.find(ward_to_charon + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_NE(capture.find(charon_to_ward + "\t4500\t4500\tESP"), std::string::npos) << capture;
  EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests or replies in clear:\n" << capture;
}

TEST_F(WarddStrongSwanTest, WrongPskGivesNoSaAReasonAndNoClearTraffic) {
  start_charon(psk_swanctl_conf("charon's key"));
  start_wardd(tunnel_policy(model::AuthMethod::preshared("ward's different key")));
  start_capture();

  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  ASSERT_TRUE(eventually([&] { return wardctl("show events").second.find("main mode failed") != std::string::npos; },
                         kMainModeGiveUp))
      << wardctl("show events").second << wardd_log() << charon_log();
  const auto events = wardctl("show events").second;
  std::printf("wardd events:\n%s\n", events.c_str());
  EXPECT_NE(events.find("preshared key"), std::string::npos) << events;
  EXPECT_NE(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0);
  EXPECT_TRUE(show_sa().value("quick_modes", nlohmann::json::array()).empty());
  EXPECT_TRUE(show_sa().value("sas", nlohmann::json::array()).empty());
  const auto list = swanctl({"--list-sas"});
  std::printf("swanctl --list-sas:\n%s\n", list.out.c_str());
  // The keys differ, so nothing under them reaches charon: it keeps a half-open (CONNECTING)
  // IKE_SA, never an ESTABLISHED one, until its own half-open timeout.
  EXPECT_EQ(list.out.find("INSTALLED"), std::string::npos);
  EXPECT_EQ(list.out.find("ESTABLISHED"), std::string::npos) << list.out;
  const auto capture = stop_capture();
  EXPECT_EQ(capture.find("ICMP"), std::string::npos) << "echo requests in clear:\n" << capture;
}

}  // namespace
}  // namespace ward::interop
