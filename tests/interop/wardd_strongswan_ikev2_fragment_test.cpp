// IKEv2 fragmentation (RFC 7383) against charon (the rig of wardd_strongswan_rig.h): both ends
// announce IKEV2_FRAGMENTATION_SUPPORTED (charon's `fragmentation = yes`) and send nothing larger
// than a 200-byte IP datagram (wardd's `[ike] fragment_size`, charon's `charon.fragment_size`), so
// the PSK IKE_AUTH exchange (messages of 220 to 275 bytes) goes as SKF fragments both ways: first wardd
// initiates on a ping, then charon, after terminating that IKE SA, initiates to wardd's responder.
// Checked each time: a tshark capture on Ward's veth end sees SKF payloads (Next Payload 53) from
// both addresses, none over 200 bytes; charon says it reassembled them; the CHILD_SA is up on both
// sides and counts bytes both ways after pings in each direction.
#include <cstdio>
#include <sstream>
#include <string>
#include <tuple>

#include "tests/interop/wardd_strongswan_rig.h"

namespace ward::interop {
namespace {

constexpr int kFragmentSize = 200;

// What the capture saw of the SKF messages: how many each end sent, and the largest datagram.
struct SkfSeen {
  int from_ward = 0, from_charon = 0;
  int largest = 0;
  std::string lines;
};
// tshark lines "ip.src\tip.dst\tip.len\tisakmp.nextpayload[,...]\tisakmp.frag.number\tisakmp.frag.total".
SkfSeen skf_in(const std::string& capture) {
  SkfSeen seen;
  std::istringstream lines(capture);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string src, dst, len, next;
    if (!std::getline(fields, src, '\t') || !std::getline(fields, dst, '\t') || !std::getline(fields, len, '\t') ||
        !std::getline(fields, next, '\t')) {
      continue;
    }
    if (next != "53" && !next.starts_with("53,")) continue;
    seen.lines += line + "\n";
    (src == kWardAddress ? seen.from_ward : seen.from_charon) += 1;
    seen.largest = std::max(seen.largest, std::stoi(len));
  }
  return seen;
}

class WarddStrongSwanIkev2FragmentTest : public WarddStrongSwanRig {
 protected:
  void start_skf_capture(const std::string& name) {
    auto child = test::ChildProcess::spawn({kIp, "netns", "exec", ward_ns_->name(), kTshark, "-l", "-n", "-i", ward_link_, "-f",
                                            "udp port 500 or udp port 4500", "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e",
                                            "ip.len", "-e", "isakmp.nextpayload", "-e", "isakmp.frag.number", "-e",
                                            "isakmp.frag.total"},
                                           {}, dir() / name);
    ASSERT_TRUE(child) << child.error().to_string();
    skf_capture_.emplace(std::move(*child));
    ASSERT_TRUE(eventually([&] { return test::read_text(dir() / name).find("Capture started") != std::string::npos; }))
        << test::read_text(dir() / name);
  }
  SkfSeen stop_skf_capture(const std::string& name) {
    std::this_thread::sleep_for(300ms);   // tshark prints what it has seen
    skf_capture_.reset();
    return skf_in(test::read_text(dir() / name));
  }
  // The CHILD_SA is up on both ends and carries pings each way.
  void tunnel_carries_pings(const char* role) {
    nlohmann::json sa;
    ASSERT_TRUE(eventually([&] {
      sa = show_sa();
      return sa.value("quick_modes", nlohmann::json::array()).size() == 1;
    })) << sa.dump(1) << wardd_log();
    EXPECT_EQ(sa["main_modes"][0]["ike_version"], 2) << sa.dump(1);
    EXPECT_EQ(sa["main_modes"][0]["role"], role) << sa.dump(1);
    EXPECT_EQ(ward::testing::ping_once(*charon_ns_, kWardAddress), 0) << charon_log();
    EXPECT_EQ(ward::testing::ping_once(*ward_ns_, kCharonAddress), 0) << wardd_log();
    const auto list = swanctl({"--list-sas"});
    EXPECT_NE(list.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << list.describe();
    const auto [bytes_in, bytes_out] = child_sa_bytes(list.out);
    EXPECT_GT(bytes_in, 0) << list.out;
    EXPECT_GT(bytes_out, 0) << list.out;
  }
  void expect_fragments_both_ways(const SkfSeen& seen, const char* when) {
    std::printf("%s: SKF messages on the wire, %d from wardd, %d from charon, largest IP datagram %d bytes:\n%s", when,
                seen.from_ward, seen.from_charon, seen.largest, seen.lines.c_str());
    EXPECT_GE(seen.from_ward, 2) << when << wardd_log();
    EXPECT_GE(seen.from_charon, 2) << when << charon_log();
    EXPECT_LE(seen.largest, kFragmentSize) << when;
  }

  std::optional<test::ChildProcess> skf_capture_;
};

TEST_F(WarddStrongSwanIkev2FragmentTest, IkeAuthGoesAsSkfFragmentsBothWays) {
  const std::string ward = kWardAddress, charon = kCharonAddress, psk = "ward and charon fragment";
  auto conf = swanctl_connection("      auth = psk\n      id = " + charon + "\n", "      auth = psk\n      id = " + ward + "\n",
                                 "    fragmentation = yes\n") +
              "secrets {\n  ike-ward {\n    id-1 = " + ward + "\n    id-2 = " + charon + "\n    secret = \"" + psk + "\"\n  }\n}\n";
  conf.replace(conf.find("version = 1"), std::string("version = 1").size(), "version = 2");
  charon_options_ = "  fragment_size = " + std::to_string(kFragmentSize) + "\n";
  start_charon(conf);
  start_wardd(tunnel_policy(model::AuthMethod::preshared(psk)),
              "[ike]\nversion = ikev2-first\nfragment_size = " + std::to_string(kFragmentSize) + "\n");

  start_skf_capture("skf-ward-initiates.txt");
  ASSERT_NE(ping_until_answered(), 0) << wardctl("show events").second << wardd_log() << charon_log();
  tunnel_carries_pings("initiator");
  expect_fragments_both_ways(stop_skf_capture("skf-ward-initiates.txt"), "wardd initiating");

  ASSERT_EQ(swanctl({"--terminate", "--ike", "ward"}).exit_code, 0) << charon_log();
  ASSERT_TRUE(eventually([&] { return show_sa().value("quick_modes", nlohmann::json::array()).empty(); })) << show_sa().dump(1)
                                                                                                           << wardd_log();
  start_skf_capture("skf-charon-initiates.txt");
  const auto initiated = swanctl({"--initiate", "--child", "ward"});
  ASSERT_EQ(initiated.exit_code, 0) << initiated.describe() << charon_log() << wardd_log();
  tunnel_carries_pings("responder");
  expect_fragments_both_ways(stop_skf_capture("skf-charon-initiates.txt"), "charon initiating");

  const auto charon_said = test::read_text(dir() / "charon.log");
  EXPECT_NE(charon_said.find("reassembled fragmented IKE message"), std::string::npos) << charon_log();
  EXPECT_EQ(test::read_text(dir() / "wardd.log").find("dropped a fragment"), std::string::npos) << wardd_log();
}

}  // namespace
}  // namespace ward::interop
