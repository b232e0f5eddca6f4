// Ward's IkeService (NAT-T on, SimDataplane) in one namespace, charon-systemd in the other,
// joined by a veth pair. Ward initiates IKEv1 main mode + quick mode with a pre-shared key for a
// host-to-host ESP tunnel; charon (kernel-libipsec) fakes a NAT, so IKE floats to UDP 4500 after
// main mode 4 and ESP is UDP-encapsulated. Checked: the quick mode completes on Ward's side with
// UDP-encapsulated tunnel SAs, `swanctl --list-sas` shows the CHILD_SA INSTALLED with UDP
// encapsulation. A wrong PSK fails on Ward's side with a reason naming the key and no SA.
// Ward's dataplane here is the simulator, so no traffic crosses the tunnel (the wardd + nfqueue
// variant is for agent/daemon).
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "driver/sim/sim_dataplane.h"
#include "ike/auth/preshared_key.h"
#include "ike/service/ike_service.h"
#include "ike/tests/service_pair.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using service::IkeEvent;

constexpr const char* kCharon = "/usr/sbin/charon-systemd";
constexpr const char* kSwanctl = "/usr/sbin/swanctl";
constexpr const char* kIp = "/usr/sbin/ip";
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kWard = ip("10.78.0.1");
const IpAddress kCharonAddress = ip("10.78.0.2");
constexpr std::uint32_t kFilterId = 9;

using testing::NullDataplaneListener;

class Policy final : public service::PolicyLookup {
 public:
  explicit Policy(std::string_view psk)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))) {}
  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress&,
                                                         std::optional<std::uint32_t>) const override {
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, 28800s}};
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire&) const override {
    return quick();
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_peer(const IpAddress&, const IpAddress&,
                                                                      const sa::TrafficSelector&,
                                                                      const sa::TrafficSelector&) const override {
    return quick();
  }

 private:
  static service::QuickModePolicy quick() {
    service::QuickModePolicy q;
    q.proposals = {sa::EspProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}};
    q.lifetime = 3600s;
    q.local = sa::TrafficSelector{IpPrefix::host(kWard)};
    q.remote = sa::TrafficSelector{IpPrefix::host(kCharonAddress)};
    q.filter_id = kFilterId;
    q.tunnel_endpoint = kCharonAddress;
    return q;
  }
  std::shared_ptr<const auth::AuthProvider> psk_;
};

using testing::EventLog;

std::string strongswan_conf(const std::filesystem::path& dir) {
  return "charon-systemd {\n  journal {\n    default = -1\n  }\n}\n"
         "charon {\n"
         "  load_modular = no\n"
         "  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 pkcs8 x509 pubkey revocation "
         "constraints kernel-libipsec kernel-netlink socket-default vici updown\n"
         "  filelog {\n    charon {\n      path = " + (dir / "charon.log").string() +
         "\n      default = 1\n      ike = 2\n      cfg = 2\n      enc = 1\n    }\n  }\n"
         "  plugins {\n"
         "    vici {\n      socket = unix://" + (dir / "charon.vici").string() + "\n    }\n"
         "    kernel-libipsec {\n      allow_peer_ts = yes\n    }\n"
         "    kernel-netlink {\n      fwmark = !0x42\n    }\n"
         "    socket-default {\n      fwmark = 0x42\n    }\n"
         "  }\n}\n";
}

std::string swanctl_conf(const std::string& psk) {
  return "connections {\n  ward {\n    version = 1\n    local_addrs = 10.78.0.2\n    remote_addrs = 10.78.0.1\n"
         "    proposals = aes128-sha256-modp2048\n"
         "    local {\n      auth = psk\n      id = 10.78.0.2\n    }\n"
         "    remote {\n      auth = psk\n      id = 10.78.0.1\n    }\n"
         "    children {\n      ward {\n        local_ts = 10.78.0.2/32\n        remote_ts = 10.78.0.1/32\n"
         "        mode = tunnel\n        esp_proposals = aes128-sha256\n      }\n    }\n  }\n}\n"
         "secrets {\n  ike-ward {\n    id-1 = 10.78.0.1\n    id-2 = 10.78.0.2\n    secret = \"" + psk + "\"\n  }\n}\n";
}

struct Rig {
  explicit Rig(const std::string& charon_psk) : ward_ns("ssw-ward"), charon_ns("ssw-charon") {
    ward::testing::connect_veth(ward_ns, "10.78.0.1/24", charon_ns, "10.78.0.2/24");
    auto d = ward::test::TempDir::create("ward-strongswan");
    if (!d) {
      error = d.error().to_string();
      return;
    }
    dir.emplace(std::move(*d));
    const auto& p = dir->path();
    std::filesystem::create_directories(p / "swanctl");
    if (!ward::test::write_file(p / "strongswan.conf", strongswan_conf(p)) ||
        !ward::test::write_file(p / "swanctl" / "swanctl.conf", swanctl_conf(charon_psk))) {
      error = "writing the charon configuration";
      return;
    }
    env = {{"STRONGSWAN_CONF", (p / "strongswan.conf").string()}, {"SWANCTL_DIR", (p / "swanctl").string()}};
    auto started = ward::test::ChildProcess::spawn({kIp, "netns", "exec", charon_ns.name(), kCharon}, env, p / "charon.out");
    if (!started) {
      error = started.error().to_string();
      return;
    }
    charon.emplace(std::move(*started));
    // vici comes up once the plugins are loaded.
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(p / "charon.vici") && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    const auto loaded = swanctl({"--load-all"});
    if (loaded.exit_code != 0) error = "swanctl --load-all: " + loaded.describe() + "\ncharon log:\n" + charon_log();
  }

  ward::test::CapturedRun swanctl(std::vector<std::string> args) {
    std::vector<std::string> argv{kIp, "netns", "exec", charon_ns.name(), "/usr/bin/env",
                                  "SWANCTL_DIR=" + (dir->path() / "swanctl").string(), kSwanctl};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--uri");
    argv.push_back("unix://" + (dir->path() / "charon.vici").string());
    return ward::test::run_captured(argv, dir->path());
  }
  std::string charon_log() const { return ward::test::file_tail(dir->path() / "charon.log", 4000); }

  void start_ward(std::string_view psk) {
    policy.emplace(psk);
    service::IkeServiceOptions o;
    o.local = kWard;
    o.nat_traversal = true;
    o.retransmit = sa::RetransmitPolicy{300ms, 2, 3};
    o.log = [this](const std::string& line) {
      const std::lock_guard lock(log_mutex);
      ward_log.push_back(line);
    };
    std::string failed;
    ward_ns.run_inside([&] {
      auto started = service::IkeService::start(std::move(o), sim, *policy, events);
      if (started) ike = std::move(*started);
      else failed = started.error();
    });
    if (!ike) error = "starting Ward's IKE: " + failed;
  }
  bool ward_logged(std::string_view text) {
    const std::lock_guard lock(log_mutex);
    return std::any_of(ward_log.begin(), ward_log.end(), [&](const auto& l) { return l.find(text) != std::string::npos; });
  }
  std::string ward_log_text() {
    const std::lock_guard lock(log_mutex);
    std::string all;
    for (const auto& l : ward_log) all += l + "\n";
    return all;
  }

  ward::testing::Netns ward_ns, charon_ns;
  std::optional<ward::test::TempDir> dir;
  ward::test::Environment env;
  std::optional<ward::test::ChildProcess> charon;
  std::string error;
  NullDataplaneListener dataplane_listener;
  driver::SimDataplane sim{dataplane_listener};
  std::optional<Policy> policy;
  EventLog events;
  std::mutex log_mutex;
  std::vector<std::string> ward_log;
  std::unique_ptr<service::IkeService> ike;   // stops before the rest goes
};

driver::Acquire acquire() {
  driver::Acquire a;
  a.filter_id = kFilterId;
  a.peer = kCharonAddress;
  a.source = kWard;
  a.destination = kCharonAddress;
  a.protocol = 1;
  return a;
}

bool skip(std::string& why) {
  if (!ward::testing::can_use_network_namespaces(&why)) return true;
  if (!std::filesystem::exists(kCharon) || !std::filesystem::exists(kSwanctl)) {
    why = "charon-systemd / swanctl not installed";
    return true;
  }
  return false;
}

TEST(StrongSwanInterop, PskTunnelWithNatTEstablishesOnBothSides) {
  std::string why;
  if (skip(why)) GTEST_SKIP() << why;
  Rig rig("ward and charon agree");
  ASSERT_EQ(rig.error, "");
  rig.start_ward("ward and charon agree");
  ASSERT_EQ(rig.error, "");

  const auto started = std::chrono::steady_clock::now();
  rig.ike->initiate(acquire());
  const auto done = rig.events.wait_for({IkeEvent::Kind::QuickModeEstablished, IkeEvent::Kind::QuickModeFailed,
                                         IkeEvent::Kind::MainModeFailed}, 10s);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(done.has_value()) << "Ward log:\n" << rig.ward_log_text() << "\ncharon log:\n" << rig.charon_log();
  ASSERT_EQ(done->kind, IkeEvent::Kind::QuickModeEstablished)
      << done->reason << "\nWard log:\n" << rig.ward_log_text() << "\ncharon log:\n" << rig.charon_log();
  std::printf("Ward -> charon: main mode + quick mode (NAT-T, tunnel) established in %lld ms\n",
              static_cast<long long>(elapsed.count()));

  const auto snapshot = rig.ike->snapshot();
  ASSERT_EQ(snapshot.main_modes.size(), 1U);
  EXPECT_TRUE(snapshot.main_modes[0].nat_t) << "charon fakes a NAT; Ward must have floated";
  EXPECT_EQ(snapshot.main_modes[0].peer_port, sa::kNatTraversalPort);
  EXPECT_EQ(rig.sim.counters().sas.size(), 2U);

  // charon's view: the IKE SA established, the CHILD_SA installed, UDP-encapsulated.
  ward::test::CapturedRun sas;
  const auto until = std::chrono::steady_clock::now() + 3s;
  do {
    sas = rig.swanctl({"--list-sas"});
    if (sas.out.find("INSTALLED") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < until);
  std::printf("swanctl --list-sas:\n%s\n", sas.out.c_str());
  EXPECT_NE(sas.out.find("ESTABLISHED"), std::string::npos) << sas.describe();
  EXPECT_NE(sas.out.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << sas.describe();
  EXPECT_NE(sas.out.find("remote '10.78.0.1' @ 10.78.0.1[4500]"), std::string::npos) << sas.describe();
  // What charon noticed about Ward (vendor IDs, NAT detection, anything it ignored), for review.
  std::istringstream log(ward::test::read_text(rig.dir->path() / "charon.log"));
  for (std::string line; std::getline(log, line);) {
    for (const char* word : {"vendor ID", "NAT", "ignor", "unknown", "invalid", "not supported", "failed"}) {
      if (line.find(word) != std::string::npos) {
        std::printf("charon: %s\n", line.c_str());
        break;
      }
    }
  }
}

TEST(StrongSwanInterop, WrongPskFailsWithAReasonAndNoSa) {
  std::string why;
  if (skip(why)) GTEST_SKIP() << why;
  Rig rig("charon's key");
  ASSERT_EQ(rig.error, "");
  rig.start_ward("ward's different key");
  ASSERT_EQ(rig.error, "");
  rig.ike->initiate(acquire());
  const auto failed = rig.events.wait_for({IkeEvent::Kind::MainModeFailed, IkeEvent::Kind::QuickModeEstablished}, 15s);
  ASSERT_TRUE(failed.has_value()) << "Ward log:\n" << rig.ward_log_text();
  ASSERT_EQ(failed->kind, IkeEvent::Kind::MainModeFailed);
  std::printf("Ward's reason: %s\n", failed->reason.c_str());
  EXPECT_NE(failed->reason.find("preshared key"), std::string::npos) << failed->reason;
  EXPECT_TRUE(rig.sim.counters().sas.empty());
  EXPECT_EQ(rig.swanctl({"--list-sas"}).out.find("INSTALLED"), std::string::npos);
}

}  // namespace
}  // namespace ward::ike
