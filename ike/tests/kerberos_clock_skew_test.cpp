// Kerberos main mode when clocks disagree, against a real MIT krb5kdc whose clock runs an hour
// ahead of the hosts' (krb5kdc under faketime: KdcOptions::clock_offset). The failure must say
// "clock skew" and give the times Kerberos knows, not a bare GSS-API error.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ike/auth/kerberos_provider.h"
#include "ike/sa/phase1_sa.h"
#include "ike/tests/exchange_support.h"
#include "tests/harness/kdc_instance.h"

// A namespace of its own: a unity build compiles this file with others of its binary.
namespace ward::ike::sa::kerberos_clock_skew_test {
namespace {

using namespace std::chrono_literals;
using State = Phase1Sa::State;
using testing::kHostA;
using testing::kHostB;

const std::string kRealm = "WARD.TEST";
const std::string kPrincipalA = "host/a.ward.test@" + kRealm;
const std::string kPrincipalB = "host/b.ward.test@" + kRealm;

auth::PeerPrincipalResolver resolver(std::string address, std::string principal) {
  return [address = std::move(address), principal = std::move(principal)](const IpAddress& peer)
             -> Expected<std::string, std::string> {
    if (peer.to_string() != address) return unexpected("no computer object has address " + peer.to_string());
    return principal;
  };
}

// One skewed KDC per case: `offset` is the KDC's clock against the hosts' (faketime), `timesync`
// the hosts' kdc_timesync (MIT's default 1: the library learns the KDC's time from its replies;
// 0: it does not).
struct Skew {
  const char* offset;
  bool timesync;
};

class KerberosClockSkewTest : public ::testing::TestWithParam<Skew> {
 protected:
  static bool timesync() { return GetParam().timesync; }
  static std::string clock_offset() { return GetParam().offset; }
  void SetUp() override {
    test::KdcOptions options;
    options.clock_offset = clock_offset();
    options.extra_libdefaults = timesync() ? "" : " kdc_timesync = 0\n";
    auto kdc = test::KdcInstance::start(options);
    ASSERT_TRUE(kdc.has_value()) << kdc.error().to_string();
    kdc_ = std::move(*kdc);
    krb5_config_ = std::make_unique<test::ScopedEnv>("KRB5_CONFIG", kdc_->krb5_config().string());
    ccache_ = std::make_unique<test::ScopedEnv>("KRB5CCNAME", "FILE:" + (kdc_->dir() / "default-ccache").string());
    for (const char* host : {"a", "b"}) {
      const std::string principal = std::string("host/") + host + ".ward.test";
      ASSERT_TRUE(kdc_->add_principal(principal).has_value()) << principal;
      ASSERT_TRUE(kdc_->extract_keytab(principal, keytab(host)).has_value()) << principal;
    }
  }
  std::filesystem::path keytab(const std::string& host) const { return kdc_->dir() / (host + ".keytab"); }

  Phase1Config phase1_config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    return testing::phase1_config(local, peer, {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}}, log);
  }

  std::unique_ptr<test::KdcInstance> kdc_;
  std::unique_ptr<test::ScopedEnv> krb5_config_, ccache_;
  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
};

TEST_P(KerberosClockSkewTest, MainModeFailureNamesTheClockSkewAndTheTimes) {
  const auth::KerberosProvider a({keytab("a"), kPrincipalA, {}, resolver(kHostB.to_string(), kPrincipalB),
                                  "file2:" + (kdc_->dir() / "rcache-a").string()});
  const auth::KerberosProvider b({keytab("b"), kPrincipalB, {}, resolver(kHostA.to_string(), kPrincipalA),
                                  "file2:" + (kdc_->dir() / "rcache-b").string()});
  auto clock = [this] { return now; };
  auto initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), a, clock);
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value()) << m1.error();
  std::vector<std::byte> m2;
  auto responder = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), b, clock, *m1, m2);
  ASSERT_TRUE(responder.has_value()) << responder.error();
  const auto m3 = initiator->handle(m2);
  std::string failure;
  if (m3.empty()) {
    EXPECT_EQ(initiator->state(), State::Failed);
    failure = initiator->failure().text;
  } else {
    EXPECT_TRUE((*responder)->handle(m3).empty());
    EXPECT_EQ((*responder)->state(), State::Failed);
    failure = (*responder)->failure().text;
  }
  RecordProperty("failure", failure);
  EXPECT_EQ(failure.rfind("Kerberos: clock skew: this host's clock reads ", 0), 0u) << failure;
  EXPECT_NE(failure.find("Kerberos allows 300 s"), std::string::npos) << failure;
  if (timesync()) {
    // The library learnt the KDC's time from its reply, so the initiator's tickets were issued; B,
    // whose clock is an hour off the KDC's, refuses the ticket or the authenticator, and its AS
    // exchange gives the KDC's time: an hour off (give or take the test's own run time).
    const std::string direction = clock_offset()[0] == '+' ? " s ahead of ours" : " s behind ours";
    EXPECT_NE(failure.find(", the KDC's "), std::string::npos) << failure;
    EXPECT_TRUE(failure.find("(3600" + direction) != std::string::npos ||
                failure.find("(3599" + direction) != std::string::npos ||
                failure.find("(3601" + direction) != std::string::npos)
        << failure;
    if (clock_offset()[0] == '+') {
      EXPECT_NE(failure.find("Ticket not yet valid"), std::string::npos) << failure;
    }
  } else {
    // Without kdc_timesync the initiator refuses the KDC's reply itself; MIT does not hand over
    // the refused reply, so only our time can be given, with the reason.
    EXPECT_NE(failure.find("Clock skew too great in KDC reply"), std::string::npos) << failure;
    EXPECT_NE(failure.find("the KDC's time is unknown"), std::string::npos) << failure;
  }
}

INSTANTIATE_TEST_SUITE_P(Kdc, KerberosClockSkewTest,
                         ::testing::Values(Skew{"+1h", true}, Skew{"+1h", false}, Skew{"-1h", true}),
                         [](const ::testing::TestParamInfo<Skew>& param) {
                           return std::string(param.param.offset[0] == '+' ? "AnHourAhead" : "AnHourBehind") +
                                  (param.param.timesync ? "Timesync" : "NoTimesync");
                         });

}  // namespace
}  // namespace ward::ike::sa::kerberos_clock_skew_test
