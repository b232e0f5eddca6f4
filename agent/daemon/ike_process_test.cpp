// IkeProcess (wardd's side of the IKE process) against an IKE process that was taken over
// (hostile_ike_child, started by IkeProcess's Supervisor in the real sandbox as `nobody`, its
// sockets bound by IkeProcess in a namespace with the host's address): every SA or soft
// association the enforced policy would not negotiate is refused and logged as ike-sa-refused
// with the reason, and only the one the policy allows reaches the dataplane; inbound SPIs only for
// a peer with a main mode, an inbound SA only on SPIs reserved for it, releases only of its own
// (ike-spi-refused), and what it still holds is given back when it stops. Needs root.
#include "agent/daemon/ike_process.h"

#include <cstdlib>

#include "agent/daemon/test_fixture.h"
#include "tests/netns/netns.h"

namespace ward::agent::daemon::testing {
namespace {

using namespace std::chrono_literals;

class IkeProcessTest : public DaemonFixture {};

TEST_F(IkeProcessTest, AnIkeProcessThatWasTakenOverInstallsOnlyWhatThePolicyNegotiates) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  source_.next = legal_policy();
  (void)updater_->start();
  ASSERT_TRUE(updater_->refresh("test").applied) << log_text_.str();
  const auto snapshot = state_->current();
  // A negotiate filter of the policy, an address it covers and one it does not.
  std::optional<std::size_t> index;
  for (std::size_t i = 0; i < snapshot->compiled.filters.size() && !index; ++i) {
    const auto& f = snapshot->compiled.filters[i];
    if (f.action == model::ActionKind::Negotiate && !f.mirror && !f.tunnel_endpoint && f.destination.address().family() == IpFamily::V4 &&
        f.destination.length() >= 8 && f.destination.length() < 32) {
      index = i;
    }
  }
  ASSERT_TRUE(index) << "the Legal policy has no negotiate filter to a subnet";
  const auto& filter = snapshot->compiled.filters[*index];
  auto inside = filter.destination.address().bytes();
  inside[3] = static_cast<std::uint8_t>(inside[3] + 7);
  const auto peer = IpAddress::v4(static_cast<std::uint32_t>(inside[0]) << 24 | static_cast<std::uint32_t>(inside[1]) << 16 |
                                  static_cast<std::uint32_t>(inside[2]) << 8 | inside[3]);
  ASSERT_TRUE(filter.destination.contains(peer));
  const auto outside = *IpAddress::parse("192.0.2.99");
  ASSERT_FALSE(filter.destination.contains(outside));
  ::setenv("WARD_HOSTILE_FILTER", std::to_string(snapshot->translation.table.filters.at(*index).id).c_str(), 1);
  ::setenv("WARD_HOSTILE_PEER", peer.to_string().c_str(), 1);
  ::setenv("WARD_HOSTILE_OUTSIDE", outside.to_string().c_str(), 1);

  ward::testing::Netns ns("ikeproc");
  ASSERT_EQ(ns.exec(std::string("ip link add v0 type veth peer name v1 && ip addr add ") + kHostAddress + "/24 dev v0 && ip link set v1 up && ip link set v0 up"), 0);
  AcquireRecorder recorder(*cache_, log_, clock_);
  IkeProcess ike(log_, recorder, ikebridge::AuthFactory{}, nullptr, HOSTILE_IKE_CHILD_PATH, "nobody", config::IkeSettings{});
  ns.run_inside([&] { ike.start({*IpAddress::parse(kHostAddress)}, *dataplane_); });
  ASSERT_TRUE(ike.running()) << log_text_.str();
  ike.sync(*state_);
  // The child's last request is the one the policy allows: once it is in, every answer is logged.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (dataplane_->counters().sas.empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  ike.stop();
  const auto log = log_text_.str();
  const auto sas = dataplane_->counters().sas;
  ASSERT_EQ(sas.size(), 0U) << "stop() removes what the child installed\n" << log;

  auto answered = [&](const std::string& what) {
    const auto at = log.find("hostile: " + what + ": ");
    if (at == std::string::npos) return std::string("(no answer)");
    return log.substr(at, log.find('\n', at) - at);
  };
  EXPECT_NE(answered("unknown filter").find("refused: ESP SA 0x00000101 (inbound) for filter 4242 with " + peer.to_string() +
                                           ": filter 4242 is not in the policy"),
            std::string::npos)
      << answered("unknown filter");
  EXPECT_NE(answered("no main mode").find("the IKE process reported no authenticated main mode with " + peer.to_string()),
            std::string::npos)
      << answered("no main mode");
  EXPECT_NE(answered("weak method").find("is not one of the filter action's security methods"), std::string::npos)
      << answered("weak method");
  EXPECT_NE(answered("peer outside the filter").find("which does not include 192.0.2.99"), std::string::npos)
      << answered("peer outside the filter");
  EXPECT_NE(answered("soft association").find("does not allow fallback to clear"), std::string::npos) << answered("soft association");
  EXPECT_NE(answered("SPI before main mode").find("refused: an inbound ESP SPI for " + peer.to_string() +
                                                 ": the IKE process reported no authenticated main mode with " + peer.to_string()),
            std::string::npos)
      << answered("SPI before main mode");
  EXPECT_NE(answered("SPI it did not reserve").find("SPI 261 was not reserved for " + peer.to_string() + " by the IKE process"),
            std::string::npos)
      << answered("SPI it did not reserve");
  EXPECT_NE(answered("release of an SPI it did not reserve").find("giving back ESP SPI 262: the IKE process did not reserve it"),
            std::string::npos)
      << answered("release of an SPI it did not reserve");
  EXPECT_NE(answered("as the policy says").find(": installed"), std::string::npos) << answered("as the policy says");
  // Each refusal is an error of its own in wardd's log.
  auto count = [&](const std::string& event) {
    std::size_t n = 0;
    for (auto at = log.find(event); at != std::string::npos; at = log.find(event, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("ike-sa-refused"), 6U);
  EXPECT_EQ(count("ike-spi-refused"), 2U);
  // The SPI the child kept reserved was given back when it stopped (reservations last 120 s).
  const auto kept_at = log.find("hostile: kept SPI ");
  ASSERT_NE(kept_at, std::string::npos) << log;
  const auto kept = static_cast<std::uint32_t>(std::stoul(log.substr(kept_at + std::string("hostile: kept SPI ").size())));
  ASSERT_GE(kept, 0x100U);
  const auto released = dataplane_->release_spi(kept, driver::crypto::SecurityProtocol::Esp);
  EXPECT_FALSE(released.has_value()) << "wardd kept SPI " << kept << " reserved after the child stopped";
  EXPECT_NE(log.find("event=ike-sas-removed count=1"), std::string::npos) << "the one installed SA, removed at stop";
}

}  // namespace
}  // namespace ward::agent::daemon::testing
