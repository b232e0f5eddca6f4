// Kerberos (GSS-API) main mode between two Ward hosts, against a real MIT krb5kdc that the suite
// starts on loopback (KdcInstance). Host A (host/a.ward.test) initiates, host B
// (host/b.ward.test) responds; each has its own keytab, and the resolver maps the peer's address
// to the principal it must prove. Then quick mode on top, SAs into two SimDataplanes, and a
// packet each way. The failure cases assert the state, that no SA exists, and the reason.
//
//   Initiator                               Responder
//   HDR, SA                        -->
//                                  <--      HDR, SA
//   HDR, KE, Ni, GSS(AP-REQ)       -->
//                                  <--      HDR, KE, Nr, GSS(AP-REP)
//   HDR*, IDii, HASH(wrap HASH_I)  -->
//                                  <--      HDR*, IDir, HASH(wrap HASH_R)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/kerberos_provider.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "ike/tests/exchange_support.h"
#include "tests/harness/kdc_instance.h"

namespace ward::ike::sa {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;
using State = Phase1Sa::State;
using QmState = QuickModeExchange::State;

using testing::kFilterId;
using testing::kHostA;
using testing::kHostB;
using testing::negotiate_table;
using testing::NullDataplaneListener;
const std::string kRealm = "WARD.TEST";
const std::string kPrincipalA = "host/a.ward.test@" + kRealm;
const std::string kPrincipalB = "host/b.ward.test@" + kRealm;

// A resolver over a fixed table, as the agent's directory lookup would answer.
auth::PeerPrincipalResolver resolver(std::map<std::string, std::string> table) {
  return [table = std::move(table)](const IpAddress& peer) -> Expected<std::string, std::string> {
    const auto found = table.find(peer.to_string());
    if (found == table.end()) return unexpected("no computer object has address " + peer.to_string());
    return found->second;
  };
}

std::size_t gss_payloads(std::span<const std::byte> datagram, MessageKind kind) {
  auto parsed = parse_message(datagram, kind);
  if (!parsed) return 0;
  std::size_t n = 0;
  for (const auto& p : parsed->payloads) n += std::holds_alternative<GssToken>(p) ? 1 : 0;
  return n;
}

class KerberosExchangeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kdc = test::KdcInstance::start({});
    ASSERT_TRUE(kdc.has_value()) << kdc.error().to_string();
    kdc_ = kdc->release();
    krb5_config_ = new test::ScopedEnv("KRB5_CONFIG", kdc_->krb5_config().string());
    // Anything that used the default ccache would write here; the test checks it never appears.
    default_ccache_ = new test::ScopedEnv("KRB5CCNAME", "FILE:" + (kdc_->dir() / "default-ccache").string());
    for (const char* host : {"host/a.ward.test", "host/b.ward.test", "host/stale.ward.test", "C$", "host/c.ward.test",
                             "D$", "host/d.ward.test"}) {
      ASSERT_TRUE(kdc_->add_principal(host).has_value()) << host;
    }
    // As `adcli join` writes an Active Directory member's keytab: the computer account NAME$
    // (its client name) beside its host/ service principal.
    for (const char* host : {"c", "d"}) {
      const std::string upper = host[0] == 'c' ? "C" : "D";
      ASSERT_TRUE(kdc_->extract_keytab(upper + "$", keytab(host)).has_value());
      ASSERT_TRUE(kdc_->extract_keytab("host/" + std::string(host) + ".ward.test", keytab(host)).has_value());
    }
    // D's keytab plus another principal's key: a ticket for that one decrypts, and must be refused.
    ASSERT_TRUE(kdc_->extract_keytab("D$", keytab("d-and-stale")).has_value());
    ASSERT_TRUE(kdc_->extract_keytab("host/stale.ward.test", keytab("d-and-stale")).has_value());
    ASSERT_TRUE(kdc_->extract_keytab("host/a.ward.test", keytab("a")).has_value());
    ASSERT_TRUE(kdc_->extract_keytab("host/b.ward.test", keytab("b")).has_value());
    ASSERT_TRUE(kdc_->extract_keytab("host/stale.ward.test", keytab("stale")).has_value());
  }
  static void TearDownTestSuite() {
    delete default_ccache_;
    delete krb5_config_;
    delete kdc_;
    default_ccache_ = krb5_config_ = nullptr;
    kdc_ = nullptr;
  }
  static std::filesystem::path keytab(const std::string& host) { return kdc_->dir() / (host + ".keytab"); }

  KerberosExchangeTest() : sim_a(listener, {}, [this] { return now; }), sim_b(listener, {}, [this] { return now; }) {
    EXPECT_TRUE(sim_a.install_filter_table(negotiate_table()).has_value());
    EXPECT_TRUE(sim_b.install_filter_table(negotiate_table()).has_value());
  }
  void SetUp() override { ASSERT_NE(kdc_, nullptr) << "the KDC did not start"; }

  static auth::KerberosConfig host_a() {
    return {keytab("a"), kPrincipalA, "", resolver({{kHostB.to_string(), kPrincipalB}}),
            "file2:" + (kdc_->dir() / "rcache-a").string()};
  }
  static auth::KerberosConfig host_b() {
    return {keytab("b"), kPrincipalB, "", resolver({{kHostA.to_string(), kPrincipalA}}),
            "file2:" + (kdc_->dir() / "rcache-b").string()};
  }

  Clock clock() { return [this] { return now; }; }

  Phase1Config phase1_config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    return testing::phase1_config(local, peer, {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}}, log);
  }

  QuickModeConfig quick_config(const IpAddress& local, const IpAddress& peer) {
    return testing::quick_config(local, peer, {sa::EspProposal{Cipher::AesGcm256, Integrity::None}});
  }

  // Messages 1 and 2; the responder exists afterwards.
  void start_main_mode(const auth::AuthProvider& a, const auth::AuthProvider& b) {
    initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), a, clock());
    auto m1 = initiator->build_main_mode_1();
    ASSERT_TRUE(m1.has_value()) << m1.error();
    auto responded = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), b, clock(), *m1, m2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    responder = std::move(*responded);
    EXPECT_EQ(responder->state(), State::MainMode2Sent);
  }

  void run_quick_mode() {
    qm_initiator = QuickModeExchange::initiate(*initiator, quick_config(kHostA, kHostB), sim_a, clock());
    auto q1 = qm_initiator->build_quick_mode_1();
    ASSERT_TRUE(q1.has_value()) << q1.error();
    std::vector<std::byte> q2;
    auto responded = QuickModeExchange::respond(*responder, quick_config(kHostB, kHostA), sim_b, clock(), *q1, q2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    qm_responder = std::move(*responded);
    const auto q3 = qm_initiator->handle(q2);
    ASSERT_FALSE(q3.empty()) << qm_initiator->failure();
    EXPECT_TRUE(qm_responder->handle(q3).empty());
    EXPECT_EQ(qm_initiator->state(), QmState::QuickMode3Sent);
    EXPECT_EQ(qm_responder->state(), QmState::QuickMode3Received) << qm_responder->failure();
    EXPECT_EQ(sim_a.counters().sas.size(), 2u);
    EXPECT_EQ(sim_b.counters().sas.size(), 2u);
  }

  void expect_traffic_flows() {
    const auto request = driver::testing::make_packet(kHostA, kHostB, 6, 40000, 445, 300);
    const auto sealed = sim_a.send(request);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    const auto opened = sim_b.receive(sealed.bytes);
    ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened.bytes, request);
    const auto reply = driver::testing::make_packet(kHostB, kHostA, 6, 445, 40000, 1200);
    const auto sealed_reply = sim_b.send(reply);
    ASSERT_EQ(sealed_reply.disposition, driver::Disposition::AcceptModified);
    const auto opened_reply = sim_a.receive(sealed_reply.bytes);
    ASSERT_EQ(opened_reply.disposition, driver::Disposition::AcceptModified);
    EXPECT_EQ(opened_reply.bytes, reply);
  }

  // The reason as the administrator would read it, kept in the test's XML output.
  void record(const Phase1Sa& sa) { RecordProperty(sa.role() == auth::Role::Initiator ? "initiator" : "responder", sa.failure().text); }

  void expect_no_sa() {
    EXPECT_FALSE(initiator && initiator->established());
    EXPECT_FALSE(responder && responder->established());
    EXPECT_EQ(sim_a.counters().sas.size(), 0u);
    EXPECT_EQ(sim_b.counters().sas.size(), 0u);
  }

  static test::KdcInstance* kdc_;
  static test::ScopedEnv* krb5_config_;
  static test::ScopedEnv* default_ccache_;

  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
  NullDataplaneListener listener;
  driver::SimDataplane sim_a, sim_b;
  std::vector<std::byte> m2;
  std::unique_ptr<Phase1Sa> initiator, responder;
  std::unique_ptr<QuickModeExchange> qm_initiator, qm_responder;
};

test::KdcInstance* KerberosExchangeTest::kdc_ = nullptr;
test::ScopedEnv* KerberosExchangeTest::krb5_config_ = nullptr;
test::ScopedEnv* KerberosExchangeTest::default_ccache_ = nullptr;

TEST_F(KerberosExchangeTest, MainModeAndQuickModeEstablishWithHostPrincipals) {
  const auth::KerberosProvider a(host_a()), b(host_b());
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  //   HDR, KE, Ni, GSS(AP-REQ)  -->
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  EXPECT_EQ(gss_payloads(m3, MessageKind::MainModeMessage3), 1u);
  //            <--  HDR, KE, Nr, GSS(AP-REP)
  const auto m4 = responder->handle(m3);
  ASSERT_FALSE(m4.empty()) << responder->failure();
  EXPECT_EQ(gss_payloads(m4, MessageKind::MainModeMessage4), 1u);
  EXPECT_EQ(responder->peer_identity(), kPrincipalA) << "B knows who A is once the AP-REQ verified";
  //   HDR*, IDii, HASH(wrap HASH_I)  -->
  const auto m5 = initiator->handle(m4);
  ASSERT_FALSE(m5.empty()) << initiator->failure();
  EXPECT_EQ(initiator->peer_identity(), kPrincipalB) << "A knows B proved host/b (mutual authentication)";
  //            <--  HDR*, IDir, HASH(wrap HASH_R)
  const auto m6 = responder->handle(m5);
  ASSERT_FALSE(m6.empty()) << responder->failure();
  EXPECT_TRUE(responder->established());
  EXPECT_TRUE(initiator->handle(m6).empty());
  EXPECT_EQ(initiator->state(), State::MainMode6Received) << initiator->failure();
  EXPECT_TRUE(crypto::equal_constant_time(initiator->keys().skeyid_d.reveal(), responder->keys().skeyid_d.reveal()));
  EXPECT_TRUE(std::count(log_a.begin(), log_a.end(), "IKE main mode " + hex_cookie(initiator->initiator_cookie()) +
                                                         " (initiator): the peer authenticated as " + kPrincipalB) == 1);

  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();

  // The tickets lived in a private MEMORY ccache, never in the default one.
  EXPECT_FALSE(std::filesystem::exists(kdc_->dir() / "default-ccache"));
}

// Active Directory members: each starts as its computer account (C$@R, D$@R: AD's KDC refuses
// host/<fqdn> as a client name), is reached as host/<fqdn>@R, and the responder takes the
// computer account behind the peer's host/ name as that peer.
TEST_F(KerberosExchangeTest, ComputerAccountsAuthenticateAsActiveDirectoryMembersDo) {
  EXPECT_EQ(auth::computer_account_principal("host/c.ward.test@WARD.TEST"), "C$@WARD.TEST");
  EXPECT_EQ(auth::computer_account_principal("host/a-very-long-hostname.ward.test@WARD.TEST"), "A-VERY-LONG-HOS$@WARD.TEST");
  EXPECT_EQ(auth::computer_account_principal("ldap/c.ward.test@WARD.TEST"), "");
  auth::KerberosConfig c{keytab("c"), "C$@" + kRealm, "host/c.ward.test@" + kRealm,
                         resolver({{kHostB.to_string(), "host/d.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-c").string()};
  auth::KerberosConfig d{keytab("d"), "D$@" + kRealm, "host/d.ward.test@" + kRealm,
                         resolver({{kHostA.to_string(), "host/c.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-d").string()};
  const auth::KerberosProvider a(c), b(d);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  const auto m4 = responder->handle(m3);
  ASSERT_FALSE(m4.empty()) << responder->failure();
  EXPECT_EQ(responder->peer_identity(), "C$@" + kRealm);
  const auto m5 = initiator->handle(m4);
  ASSERT_FALSE(m5.empty()) << initiator->failure();
  EXPECT_EQ(initiator->peer_identity(), "host/d.ward.test@" + kRealm);
  const auto m6 = responder->handle(m5);
  ASSERT_FALSE(m6.empty()) << responder->failure();
  EXPECT_TRUE(initiator->handle(m6).empty());
  EXPECT_EQ(initiator->state(), State::MainMode6Received) << initiator->failure();
  run_quick_mode();
  ASSERT_FALSE(HasFatalFailure());
  expect_traffic_flows();
}

// Another computer account than the one behind the expected host/ name is still refused.
TEST_F(KerberosExchangeTest, ResponderRefusesAnotherComputerAccount) {
  auth::KerberosConfig c{keytab("c"), "C$@" + kRealm, "host/c.ward.test@" + kRealm,
                         resolver({{kHostB.to_string(), "host/d.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-c").string()};
  auth::KerberosConfig d{keytab("d"), "D$@" + kRealm, "host/d.ward.test@" + kRealm,
                         resolver({{kHostA.to_string(), "host/a.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-d").string()};
  const auth::KerberosProvider a(c), b(d);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  EXPECT_TRUE(responder->handle(m3).empty());
  EXPECT_NE(responder->failure().text.find("authenticated as C$@WARD.TEST, the policy expects host/a.ward.test@WARD.TEST "
                                      "or A$@WARD.TEST"),
            std::string::npos)
      << responder->failure();
}

// The acceptor takes whichever key fits, but only a ticket for its own host/ name (or account).
TEST_F(KerberosExchangeTest, ResponderRefusesATicketForAnotherPrincipalOfItsKeytab) {
  auth::KerberosConfig c{keytab("c"), "C$@" + kRealm, "host/c.ward.test@" + kRealm,
                         resolver({{kHostB.to_string(), "host/stale.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-c").string()};
  auth::KerberosConfig d{keytab("d-and-stale"), "D$@" + kRealm, "host/d.ward.test@" + kRealm,
                         resolver({{kHostA.to_string(), "host/c.ward.test@" + kRealm}}),
                         "file2:" + (kdc_->dir() / "rcache-d").string()};
  const auth::KerberosProvider a(c), b(d);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  EXPECT_TRUE(responder->handle(m3).empty());
  EXPECT_NE(responder->failure().text.find("sent a ticket for host/stale.ward.test@WARD.TEST, not for host/d.ward.test@WARD.TEST"),
            std::string::npos)
      << responder->failure();
}

TEST_F(KerberosExchangeTest, ResponderAcceptsAGssIdAttributeInTheOffer) {
  // racoon (draft-ietf-ipsec-isakmp-gss-auth-07 3.3.2) names its principal in a GSS ID transform
  // attribute; Windows 2000 used type 32001. Both are accepted and echoed, the principal still
  // comes from the resolver.
  const auth::KerberosProvider a(host_a()), b(host_b());
  initiator = Phase1Sa::initiate(phase1_config(kHostA, kHostB, log_a), a, clock());
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value());
  auto parsed = parse_message(*m1, MessageKind::MainModeMessage1);
  ASSERT_TRUE(parsed.has_value());
  auto& offer = std::get<SecurityAssociation>(parsed->payloads.at(0));
  const std::string id = "host/a.ward.test";
  for (const auto type : {IkeAttribute::GssId, IkeAttribute::GssIdWindows2000}) {
    offer.proposals.at(0).transforms.at(0).attributes.push_back(DataAttribute::variable(
        static_cast<std::uint16_t>(type), std::vector<std::byte>(reinterpret_cast<const std::byte*>(id.data()),
                                                                 reinterpret_cast<const std::byte*>(id.data()) + id.size())));
  }
  auto with_gss_id = encode_message(parsed->header, parsed->payloads);
  ASSERT_TRUE(with_gss_id.has_value());
  auto responded = Phase1Sa::respond(phase1_config(kHostB, kHostA, log_b), b, clock(), *with_gss_id, m2);
  ASSERT_TRUE(responded.has_value()) << responded.error();
  EXPECT_EQ((*responded)->state(), State::MainMode2Sent);
}

TEST_F(KerberosExchangeTest, SeveralExchangesShareOneProvider) {
  const auth::KerberosProvider a(host_a()), b(host_b());
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("exchange " + std::to_string(round));
    start_main_mode(a, b);
    ASSERT_FALSE(HasFatalFailure());
    const auto m3 = initiator->handle(m2);
    const auto m4 = responder->handle(m3);
    const auto m5 = initiator->handle(m4);
    const auto m6 = responder->handle(m5);
    initiator->handle(m6);
    EXPECT_TRUE(initiator->established()) << initiator->failure();
    EXPECT_TRUE(responder->established()) << responder->failure();
  }
}

TEST_F(KerberosExchangeTest, ResponderWithAStaleKeytabRefusesWithTheReason) {
  // host/stale's keytab was extracted at kvno 1; the KDC re-keys it, so A's ticket is for kvno 2.
  ASSERT_TRUE(kdc_->kadmin("cpw -randkey host/stale.ward.test").has_value());
  auto a_config = host_a();
  a_config.peer_principal = resolver({{kHostB.to_string(), "host/stale.ward.test@" + kRealm}});
  auto b_config = host_b();
  b_config.keytab = keytab("stale");
  b_config.own_principal = "host/stale.ward.test@" + kRealm;
  const auth::KerberosProvider a(a_config), b(b_config);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  EXPECT_TRUE(responder->handle(m3).empty());
  EXPECT_EQ(responder->state(), State::Failed);
  EXPECT_NE(responder->failure().text.find("the peer's token did not verify"), std::string::npos) << responder->failure();
  EXPECT_NE(responder->failure().text.find("kvno"), std::string::npos) << responder->failure();
  EXPECT_TRUE(responder->peer_identity().empty());
  record(*responder);
  expect_no_sa();
}

TEST_F(KerberosExchangeTest, InitiatorWhosePeerPrincipalDoesNotExistFailsClearly) {
  auto a_config = host_a();
  a_config.peer_principal = resolver({{kHostB.to_string(), "host/nobody.ward.test@" + kRealm}});
  const auth::KerberosProvider a(a_config), b(host_b());
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(initiator->handle(m2).empty());
  EXPECT_EQ(initiator->state(), State::Failed);
  EXPECT_NE(initiator->failure().text.find("no ticket for host/nobody.ward.test@WARD.TEST"), std::string::npos)
      << initiator->failure();
  EXPECT_NE(initiator->failure().text.find("not found in Kerberos database"), std::string::npos) << initiator->failure();
  record(*initiator);
  expect_no_sa();
}

TEST_F(KerberosExchangeTest, ResponderRefusesAPeerThatIsNotThePrincipalItExpects) {
  // A proves host/a, but B's directory says 10.20.1.10 is host/stale.
  auto b_config = host_b();
  b_config.peer_principal = resolver({{kHostA.to_string(), "host/stale.ward.test@" + kRealm}});
  const auth::KerberosProvider a(host_a()), b(b_config);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  ASSERT_FALSE(m3.empty()) << initiator->failure();
  EXPECT_TRUE(responder->handle(m3).empty());
  EXPECT_EQ(responder->state(), State::Failed);
  EXPECT_NE(responder->failure().text.find("authenticated as host/a.ward.test@WARD.TEST, the policy expects "
                                      "host/stale.ward.test@WARD.TEST"),
            std::string::npos)
      << responder->failure();
  record(*responder);
  expect_no_sa();
}

TEST_F(KerberosExchangeTest, KeytabWithoutTheOwnPrincipalIsNamed) {
  auto b_config = host_b();
  b_config.keytab = keytab("a");   // holds host/a only
  const auth::KerberosProvider a(host_a()), b(b_config);
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(responder->handle(initiator->handle(m2)).empty());
  EXPECT_EQ(responder->state(), State::Failed);
  EXPECT_NE(responder->failure().text.find("keytab " + keytab("a").string() + " has no key for " + kPrincipalB),
            std::string::npos)
      << responder->failure();
  record(*responder);
  expect_no_sa();
}

TEST_F(KerberosExchangeTest, MissingKeytabFileIsNamed) {
  auto a_config = host_a();
  a_config.keytab = kdc_->dir() / "no-such.keytab";
  const auth::KerberosProvider a(a_config), b(host_b());
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(initiator->handle(m2).empty());
  EXPECT_EQ(initiator->state(), State::Failed);
  EXPECT_NE(initiator->failure().text.find("keytab " + a_config.keytab.string()), std::string::npos) << initiator->failure();
  record(*initiator);
  expect_no_sa();
}

TEST_F(KerberosExchangeTest, PeerWithoutKerberosIsNamed) {
  // The initiator's message 3 reaches a responder whose peer sent no GSS token (e.g. a PSK stack
  // that proposed 65001 by mistake): simulated by stripping the GSS payload.
  const auth::KerberosProvider a(host_a()), b(host_b());
  start_main_mode(a, b);
  ASSERT_FALSE(HasFatalFailure());
  const auto m3 = initiator->handle(m2);
  auto parsed = parse_message(m3, MessageKind::MainModeMessage3);
  ASSERT_TRUE(parsed.has_value());
  std::vector<Payload> without;
  for (auto& p : parsed->payloads) {
    if (!std::holds_alternative<GssToken>(p)) without.push_back(std::move(p));
  }
  auto stripped = encode_message(parsed->header, without);
  ASSERT_TRUE(stripped.has_value());
  EXPECT_TRUE(responder->handle(*stripped).empty());
  EXPECT_EQ(responder->state(), State::Failed);
  EXPECT_NE(responder->failure().text.find("main mode 3 carries no GSS token"), std::string::npos) << responder->failure();
}

}  // namespace
}  // namespace ward::ike::sa
