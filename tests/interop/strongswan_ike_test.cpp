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
#include <regex>
#include <set>
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
  explicit Policy(std::string_view psk, std::chrono::seconds main_mode_lifetime = 28800s)
      : psk_(std::make_shared<auth::PresharedKeyProvider>(auth::preshared_key_from_text(psk))),
        main_mode_lifetime_(main_mode_lifetime) {}
  Expected<service::Phase1Policy, std::string> phase1_for(const IpAddress&, const IpAddress&,
                                                         std::optional<std::uint32_t>) const override {
    service::Phase1Policy p;
    p.auth = {psk_};
    p.proposals = {{IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Modp2048, main_mode_lifetime_}};
    return p;
  }
  Expected<service::QuickModePolicy, std::string> quick_mode_for_acquire(const driver::Acquire&) const override {
    return quick();
  }
  Expected<service::QuickModePolicy, service::PolicyRefusal> quick_mode_for_peer(const IpAddress&, const IpAddress&,
                                                                      const sa::TrafficSelector&,
                                                                      const sa::TrafficSelector&) const override {
    return quick();
  }

  // The quick mode lifetime the lookups answer with (a test sets it and restores it).
  static inline std::chrono::seconds quick_mode_lifetime{3600};

 private:
  static service::QuickModePolicy quick() {
    service::QuickModePolicy q;
    q.proposals = {sa::EspProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}};
    q.lifetime = quick_mode_lifetime;
    q.local = sa::TrafficSelector{IpPrefix::host(kWard)};
    q.remote = sa::TrafficSelector{IpPrefix::host(kCharonAddress)};
    q.filter_id = kFilterId;
    q.tunnel_endpoint = kCharonAddress;
    return q;
  }
  std::shared_ptr<const auth::AuthProvider> psk_;
  std::chrono::seconds main_mode_lifetime_;
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

std::string swanctl_conf(const std::string& psk, const std::string& proposals, const std::string& child_options) {
  return "connections {\n  ward {\n    version = 1\n    local_addrs = 10.78.0.2\n    remote_addrs = 10.78.0.1\n"
         "    proposals = " + proposals + "\n"
         "    local {\n      auth = psk\n      id = 10.78.0.2\n    }\n"
         "    remote {\n      auth = psk\n      id = 10.78.0.1\n    }\n"
         "    children {\n      ward {\n        local_ts = 10.78.0.2/32\n        remote_ts = 10.78.0.1/32\n"
         "        mode = tunnel\n        esp_proposals = aes128-sha256\n" + child_options + "      }\n    }\n  }\n}\n"
         "secrets {\n  ike-ward {\n    id-1 = 10.78.0.1\n    id-2 = 10.78.0.2\n    secret = \"" + psk + "\"\n  }\n}\n";
}

struct Rig {
  explicit Rig(const std::string& charon_psk, const std::string& proposals = "aes128-sha256-modp2048",
               const std::string& child_options = "")
      : ward_ns("ssw-ward"), charon_ns("ssw-charon") {
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
        !ward::test::write_file(p / "swanctl" / "swanctl.conf", swanctl_conf(charon_psk, proposals, child_options))) {
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
    ward::test::wait_for_unix_listener(p / "charon.vici", 10s);
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

  void start_ward(std::string_view psk, std::chrono::seconds main_mode_lifetime = 28800s) {
    policy.emplace(psk, main_mode_lifetime);
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

// charon refuses main mode 1 whose proposals it has none of with an unprotected NO-PROPOSAL-CHOSEN
// under a responder cookie of its own; Ward fails the main mode at once with that reason instead of
// retransmitting until "no answer".
TEST(StrongSwanInterop, CharonsRefusalOfMainMode1FailsAtOnceWithItsReason) {
  std::string why;
  if (skip(why)) GTEST_SKIP() << why;
  Rig rig("ward and charon agree", "aes256-sha384-ecp384");
  ASSERT_EQ(rig.error, "");
  rig.start_ward("ward and charon agree");
  ASSERT_EQ(rig.error, "");
  const auto started = std::chrono::steady_clock::now();
  rig.ike->initiate(acquire());
  const auto failed = rig.events.wait_for({IkeEvent::Kind::MainModeFailed, IkeEvent::Kind::QuickModeEstablished}, 15s);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(failed.has_value()) << rig.ward_log_text() << "\ncharon log:\n" << rig.charon_log();
  ASSERT_EQ(failed->kind, IkeEvent::Kind::MainModeFailed);
  std::printf("Ward's reason after %lld ms: %s\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()), failed->reason.c_str());
  EXPECT_EQ(failed->reason, "peer 10.78.0.2 refused: NO-PROPOSAL-CHOSEN (in state MainMode1Sent)")
      << rig.ward_log_text() << "\ncharon log:\n" << rig.charon_log();
  EXPECT_EQ(failed->failure, service::FailureKind::NoProposalChosen);
  EXPECT_LT(elapsed, 300ms) << "before the first retransmission";
}

// RFC 2407 4.6.3.1 with charon initiating: it proposes a 7200 s CHILD_SA, Ward's policy says
// 600 s. Ward applies 600 s to its own SAs and tells charon in RESPONDER-LIFETIME. charon 5.9.8
// ignores that notification (its CHILD_SA still says "expires in 7200s", printed below), so what
// is checked is Ward's side; the initiator's side of the notification is checked Ward to Ward
// (ike/tests/ike_service_test.cpp, BothSidesApplyTheShorterQuickModeLifetime). Ward rekeys at
// its own soft expiry, so the tunnel does not depend on charon honouring it.
TEST(StrongSwanInterop, AsResponderWardAppliesItsShorterQuickModeLifetimeAndTellsCharon) {
  std::string why;
  if (skip(why)) GTEST_SKIP() << why;
  Rig rig("ward and charon agree", "aes128-sha256-modp2048", "        rekey_time = 6000s\n        life_time = 7200s\n");
  ASSERT_EQ(rig.error, "");
  Policy::quick_mode_lifetime = 600s;   // read at each lookup: restored when the test ends
  struct Restore {
    ~Restore() { Policy::quick_mode_lifetime = 3600s; }
  } restore;
  rig.start_ward("ward and charon agree");
  ASSERT_EQ(rig.error, "");
  const auto initiated = rig.swanctl({"--initiate", "--child", "ward", "--timeout", "10"});
  EXPECT_EQ(initiated.exit_code, 0) << initiated.describe() << rig.charon_log();
  const auto done = rig.events.wait_for({IkeEvent::Kind::QuickModeEstablished, IkeEvent::Kind::QuickModeFailed}, 10s);
  ASSERT_TRUE(done.has_value()) << rig.ward_log_text() << rig.charon_log();
  ASSERT_EQ(done->kind, IkeEvent::Kind::QuickModeEstablished) << done->reason;
  rig.ike->sync();
  const auto snapshot = rig.ike->snapshot();
  ASSERT_EQ(snapshot.quick_modes.size(), 1U);
  EXPECT_LE(snapshot.quick_modes[0].lifetime_left, 600s);
  EXPECT_GE(snapshot.quick_modes[0].lifetime_left, 590s);
  EXPECT_TRUE(rig.ward_logged("RESPONDER-LIFETIME")) << rig.ward_log_text();
  const auto list = rig.swanctl({"--list-sas"}).out;
  std::printf("swanctl --list-sas:\n%s\n", list.c_str());
  std::istringstream log(ward::test::read_text(rig.dir->path() / "charon.log"));
  for (std::string line; std::getline(log, line);) {
    if (line.find("lifetime") != std::string::npos || line.find("LIFETIME") != std::string::npos) std::printf("charon: %s\n", line.c_str());
  }
}

// The CHILD_SAs charon has INSTALLED, as (its inbound SPI, its outbound SPI) from `swanctl --list-sas`
// ("in  c91cec62, ..." then "out  cf3a1b2c, ...").
std::vector<std::pair<std::uint32_t, std::uint32_t>> installed_child_sas(const std::string& list) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  static const std::regex kPair(R"(INSTALLED[^\n]*\n(?:[^\n]*\n)*?\s+in\s+([0-9a-f]{8})[^\n]*\n\s+out\s+([0-9a-f]{8}))");
  for (std::sregex_iterator it(list.begin(), list.end(), kPair), end; it != end; ++it) {
    out.emplace_back(static_cast<std::uint32_t>(std::stoul((*it)[1], nullptr, 16)),
                     static_cast<std::uint32_t>(std::stoul((*it)[2], nullptr, 16)));
  }
  return out;
}

// Phase 1 renewal (ike/service/phase1_renewal.h). Ward's main mode lives 12 s; across 3.5 lifetimes,
// sampled every 200 ms, charon always has a CHILD_SA INSTALLED whose SPIs are a pair Ward has in its
// dataplane: no gap. Before renewal, Ward's ISAKMP DELETE at the end of the lifetime made charon
// delete the IKE SA with its CHILD_SAs while Ward kept its pair (240 s of lost pings in a 340 s run).
// Ward's dataplane is the simulator here, so the check is on the SPIs both sides hold, not on pings.
TEST(StrongSwanInterop, MainModeIsRenewedBeforeItsLifetimeEndsWithoutAGapInTheChildSas) {
  std::string why;
  if (skip(why)) GTEST_SKIP() << why;
  Rig rig("ward and charon agree");
  ASSERT_EQ(rig.error, "");
  constexpr auto kLifetime = 12s;
  rig.start_ward("ward and charon agree", kLifetime);
  ASSERT_EQ(rig.error, "");
  rig.ike->initiate(acquire());
  const auto done = rig.events.wait_for({IkeEvent::Kind::QuickModeEstablished, IkeEvent::Kind::QuickModeFailed,
                                         IkeEvent::Kind::MainModeFailed}, 10s);
  ASSERT_TRUE(done.has_value()) << rig.ward_log_text();
  ASSERT_EQ(done->kind, IkeEvent::Kind::QuickModeEstablished) << done->reason << "\n" << rig.ward_log_text();

  const auto start = std::chrono::steady_clock::now();
  int samples = 0, gaps = 0;
  std::string first_gap;
  // charon lists CHILD_SAs under their IKE SA; while it adopts them into the renewed one (IKEv1
  // reauthentication) a listing can fall between the two and show none, though they stay installed
  // (one CI run: 1 of 192 samples, the new IKE SA "established 0s ago"). So an empty listing is
  // asked again 100 ms later, and only a second one counts: a real gap lasts seconds.
  const auto covered_now = [&](std::string& list) {
    list = rig.swanctl({"--list-sas"}).out;
    std::set<std::uint32_t> ward_in, ward_out;
    for (const auto& sa : rig.sim.counters().sas) {
      (sa.direction == driver::crypto::Direction::Inbound ? ward_in : ward_out).insert(sa.spi);
    }
    const auto charon = installed_child_sas(list);
    return std::any_of(charon.begin(), charon.end(), [&](const auto& pair) {
      return ward_out.contains(pair.first) && ward_in.contains(pair.second);
    });
  };
  while (std::chrono::steady_clock::now() - start < kLifetime * 7 / 2) {
    std::string list;
    bool covered = covered_now(list);
    if (!covered) {
      std::this_thread::sleep_for(100ms);
      covered = covered_now(list);
    }
    ++samples;
    if (!covered) {
      ++gaps;
      if (first_gap.empty()) {
        first_gap = "at " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()) +
                    " ms:\n" + list;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  const auto established = rig.events.count(IkeEvent::Kind::MainModeEstablished);
  std::printf("%d samples over %lld s, %d without a CHILD_SA both sides hold; %zu main modes established\n", samples,
              static_cast<long long>((kLifetime * 7 / 2).count()), gaps, established);
  EXPECT_EQ(gaps, 0) << first_gap << "\nWard log:\n" << rig.ward_log_text() << "\ncharon log:\n" << rig.charon_log();
  EXPECT_GE(established, 4U) << "the main mode was renewed at each lifetime's end\n" << rig.ward_log_text();
  EXPECT_TRUE(rig.ward_logged("renewing phase 1")) << rig.ward_log_text();
}

}  // namespace
}  // namespace ward::ike
