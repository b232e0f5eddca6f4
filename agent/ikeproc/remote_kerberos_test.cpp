// Kerberos main mode with both hosts' GSS-API steps done across a privsep channel, as wardd does
// them for its IKE process: each side's Phase1Sa uses a RemoteKerberosProvider (the child's half)
// whose calls a GssService (wardd's half, with the host's keytab) answers on the other end of a
// real SOCK_SEQPACKET channel. Against a real MIT krb5kdc (KdcInstance); the child's half never
// has a keytab. Also: a peer that is not the principal the policy expects is refused with the
// same words as in process, the open exchanges are closed with their main modes and bounded, and
// a KDC that does not answer (krb5kdc stopped) holds the GSS steps only, not the child's other
// calls, while the steps queued behind it are bounded.
#include "agent/ikeproc/gss_service.h"
#include "agent/ikeproc/remote_kerberos.h"

#include "agent/ikeproc/messages.h"
#include "agent/ikeproc/wire_gss.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "ike/auth/kerberos_provider.h"
#include "ike/sa/phase1_sa.h"
#include "ike/tests/exchange_support.h"
#include "tests/harness/kdc_instance.h"

namespace ward::agent::ikeproc {
namespace {

using namespace std::chrono_literals;
using ike::sa::Phase1Sa;
using ike::testing::kHostA;
using ike::testing::kHostB;

const std::string kRealm = "WARD.TEST";
const std::string kPrincipalA = "host/a.ward.test@" + kRealm;
const std::string kPrincipalB = "host/b.ward.test@" + kRealm;

ike::auth::PeerPrincipalResolver resolver(std::map<std::string, std::string> table) {
  return [table = std::move(table)](const IpAddress& peer) -> Expected<std::string, std::string> {
    const auto found = table.find(peer.to_string());
    if (found == table.end()) return unexpected("no computer object has address " + peer.to_string());
    return found->second;
  };
}

// wardd's GssService on one end of a channel, the child's RemoteKerberosProvider on the other.
// wardd's handler dispatches as IkeProcess's does; kSkeyid stands for the calls wardd answers on
// the endpoint's reader itself (SKEYID, signatures, SAs).
struct SplitHost {
  explicit SplitHost(ike::auth::KerberosConfig config, std::size_t max_exchanges = kMaxGssExchanges,
                     std::size_t max_queued = kMaxQueuedGssSteps)
      : service(
            max_exchanges, max_queued,
            [this](const std::string& why) {
              const std::lock_guard lock(mutex);
              refusals.push_back(why);
            },
            [this](std::uint32_t, const std::string& why) {
              const std::lock_guard lock(mutex);
              failures.push_back(why);
            }) {
    service.use(std::make_shared<ike::auth::KerberosProvider>(std::move(config)));
    auto pair = privsep::Channel::pair();
    EXPECT_TRUE(pair) << pair.error();
    // As IkeProcess: the handler holds its endpoint weakly (reading the `wardd` member while it is
    // being destroyed would race).
    auto self = std::make_shared<std::weak_ptr<privsep::Endpoint>>();
    wardd = std::make_shared<privsep::Endpoint>(
        std::make_shared<privsep::Channel>(std::move(pair->first)),
        [this, self](privsep::Incoming& m) -> Expected<privsep::Body, std::string> {
          if (m.type == kSkeyid) return privsep::Body{'k'};
          auto answered = service.dispatch(m, *self);
          if (!answered) return unexpected(std::string("not a GSS message"));
          return std::move(*answered);
        },
        [](const std::string&) {});
    *self = wardd;
    child = std::make_unique<privsep::Endpoint>(
        std::make_shared<privsep::Channel>(std::move(pair->second)),
        [](privsep::Incoming&) -> Expected<privsep::Body, std::string> { return privsep::Body{}; }, [](const std::string&) {});
    provider = std::make_unique<RemoteKerberosProvider>(*child);
  }
  std::mutex mutex;
  std::vector<std::string> refusals;
  std::vector<std::string> failures;   // of queued steps, as wardd logs them
  GssService service;
  std::shared_ptr<privsep::Endpoint> wardd;
  std::unique_ptr<privsep::Endpoint> child;
  std::unique_ptr<RemoteKerberosProvider> provider;
};

class RemoteKerberosTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto kdc = test::KdcInstance::start({});
    ASSERT_TRUE(kdc.has_value()) << kdc.error().to_string();
    kdc_ = kdc->release();
    krb5_config_ = new test::ScopedEnv("KRB5_CONFIG", kdc_->krb5_config().string());
    for (const char* host : {"a", "b", "c"}) {
      const std::string principal = "host/" + std::string(host) + ".ward.test";
      ASSERT_TRUE(kdc_->add_principal(principal).has_value()) << principal;
      ASSERT_TRUE(kdc_->extract_keytab(principal, keytab(host)).has_value()) << principal;
    }
  }
  static void TearDownTestSuite() {
    delete krb5_config_;
    delete kdc_;
    krb5_config_ = nullptr;
    kdc_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(kdc_, nullptr) << "the KDC did not start"; }

  static std::filesystem::path keytab(const std::string& host) { return kdc_->dir() / (host + ".keytab"); }
  static ike::auth::KerberosConfig host(const std::string& name, const std::string& principal, const IpAddress& peer,
                                        const std::string& peer_principal) {
    return {keytab(name), principal, "", resolver({{peer.to_string(), peer_principal}}),
            "file2:" + (kdc_->dir() / ("rcache-" + name)).string()};
  }

  ike::sa::Phase1Config config(const IpAddress& local, const IpAddress& peer, std::vector<std::string>& log) {
    return ike::testing::phase1_config(
        local, peer, {{ike::IkeEncryptionAlgorithm::AesCbc, 256, ike::IkeHashAlgorithm::Sha2_256, ike::IkeGroupDescription::Ecp256, 28800s}},
        log);
  }

  // Main mode 1 to 6 (or until a side fails); the SAs stay in initiator / responder.
  void run_main_mode(const ike::auth::AuthProvider& a, const ike::auth::AuthProvider& b) {
    const ike::sa::Clock clock = [this] { return now; };
    initiator = Phase1Sa::initiate(config(kHostA, kHostB, log_a), a, clock);
    auto m1 = initiator->build_main_mode_1();
    ASSERT_TRUE(m1.has_value()) << m1.error();
    std::vector<std::byte> m2;
    auto responded = Phase1Sa::respond(config(kHostB, kHostA, log_b), b, clock, *m1, m2);
    ASSERT_TRUE(responded.has_value()) << responded.error();
    responder = std::move(*responded);
    std::vector<std::byte> to_responder = initiator->handle(m2);   // main mode 3
    for (int step = 0; step < 2 && !to_responder.empty(); ++step) {
      const auto to_initiator = responder->handle(to_responder);   // 4, then 6
      if (to_initiator.empty()) break;
      to_responder = initiator->handle(to_initiator);              // 5, then nothing
    }
  }

  // The hosts outlive the main modes that use their channels (members go in reverse order).
  SplitHost& split(ike::auth::KerberosConfig config, std::size_t max_exchanges = kMaxGssExchanges,
                   std::size_t max_queued = kMaxQueuedGssSteps) {
    return *hosts.emplace_back(std::make_unique<SplitHost>(std::move(config), max_exchanges, max_queued));
  }

  // krb5kdc has a request it has not read: a connection waiting in its TCP listen queue (its
  // clients use TCP: udp_preference_limit = 1) or a datagram on its UDP socket.
  static bool kdc_has_unread_request() {
    std::ostringstream port;
    port << std::uppercase << std::hex << ':' << std::setw(4) << std::setfill('0') << kdc_->port() << ' ';
    for (const char* table : {"/proc/net/tcp", "/proc/net/udp", "/proc/net/tcp6", "/proc/net/udp6"}) {
      std::ifstream in(table);
      std::string line;
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues;
        if (!(fields >> slot >> local >> remote >> state >> queues) || !(local + ' ').ends_with(port.str())) continue;
        if (queues.substr(queues.find(':') + 1) != "00000000") return true;
      }
    }
    return false;
  }

  static test::KdcInstance* kdc_;
  static test::ScopedEnv* krb5_config_;
  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> log_a, log_b;
  std::vector<std::unique_ptr<SplitHost>> hosts;
  std::unique_ptr<Phase1Sa> initiator, responder;
};

test::KdcInstance* RemoteKerberosTest::kdc_ = nullptr;
test::ScopedEnv* RemoteKerberosTest::krb5_config_ = nullptr;

TEST_F(RemoteKerberosTest, MainModeEstablishesWithEveryGssStepAcrossTheChannel) {
  auto& a = split(host("a", kPrincipalA, kHostB, kPrincipalB));
  auto& b = split(host("b", kPrincipalB, kHostA, kPrincipalA));
  run_main_mode(*a.provider, *b.provider);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(responder->established()) << responder->failure();
  EXPECT_EQ(initiator->state(), Phase1Sa::State::MainMode6Received) << initiator->failure();
  EXPECT_TRUE(ike::crypto::equal_constant_time(initiator->keys().skeyid_d.reveal(), responder->keys().skeyid_d.reveal()));
  EXPECT_EQ(initiator->peer_identity(), kPrincipalB);
  EXPECT_EQ(responder->peer_identity(), kPrincipalA);
  EXPECT_EQ(a.service.open_exchanges(), 1U);
  initiator.reset();
  responder.reset();
  // Closing is a note: wait for wardd's side to have read it.
  for (int i = 0; i < 100 && (a.service.open_exchanges() != 0 || b.service.open_exchanges() != 0); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(a.service.open_exchanges(), 0U) << "the main mode's end closes its GSS context in wardd";
  EXPECT_EQ(b.service.open_exchanges(), 0U);
}

TEST_F(RemoteKerberosTest, APeerThatIsNotTheExpectedPrincipalIsRefusedWithTheReason) {
  // C presents host/c with A's address; B expects host/a there.
  auto& c = split(host("c", "host/c.ward.test@" + kRealm, kHostB, kPrincipalB));
  auto& b = split(host("b", kPrincipalB, kHostA, kPrincipalA));
  run_main_mode(*c.provider, *b.provider);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_FALSE(responder->established());
  EXPECT_NE(responder->failure().text.find("authenticated as host/c.ward.test@WARD.TEST, the policy expects host/a.ward.test@WARD.TEST"),
            std::string::npos)
      << responder->failure();
  const std::lock_guard lock(b.mutex);
  ASSERT_EQ(b.failures.size(), 1U) << "the failed step is reported to wardd (its log)";
  EXPECT_NE(b.failures[0].find("the policy expects host/a.ward.test@WARD.TEST"), std::string::npos) << b.failures[0];
}

TEST_F(RemoteKerberosTest, OpenExchangesAreBoundedAndUnknownOnesRefused) {
  auto& a = split(host("a", kPrincipalA, kHostB, kPrincipalB), 2);
  auto first = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  auto second = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  auto third = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  auto refused = third->build_key_exchange_payloads(ike::auth::Role::Initiator);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("2 exchanges are open already"), std::string::npos) << refused.error();
  auto token = first->build_key_exchange_payloads(ike::auth::Role::Initiator);
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(token->size(), 1U) << "one GSS token (the AP-REQ) for main mode 3";
  // A child naming an exchange wardd never opened gets an error, not another's context.
  auto stray = a.service.handle(kGssKeyExchange, encode(GssTokens{4242, ike::auth::Role::Initiator, {}}));
  ASSERT_TRUE(stray.has_value());
  ASSERT_FALSE(*stray);
  EXPECT_EQ(stray->error(), "Kerberos: no exchange 4242");
  a.service.clear();
  EXPECT_EQ(a.service.open_exchanges(), 0U);
}

// The GSS steps run on GssService's worker: while krb5kdc is stopped (SIGSTOP) and the initiator's
// AP-REQ waits for it, the child's other calls are answered at once (before, on the endpoint's
// reader, they waited behind it: the SKEYID call below timed out). Behind the running step at most
// `max_queued` wait; one more is refused at once, and the refusal reported.
TEST_F(RemoteKerberosTest, AKdcThatDoesNotAnswerHoldsOnlyTheGssStepsNotTheOtherCalls) {
  auto& a = split(host("a", kPrincipalA, kHostB, kPrincipalB), kMaxGssExchanges, 1);
  auto first = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  ASSERT_EQ(::kill(kdc_->pid(), SIGSTOP), 0);
  struct Resume {
    ~Resume() { ::kill(kdc_->pid(), SIGCONT); }
  } resume;
  Expected<std::vector<ike::Payload>, std::string> token = unexpected(std::string("not run"));
  std::thread initiator_step([&] { token = first->build_key_exchange_payloads(ike::auth::Role::Initiator); });
  struct Join {
    std::thread& thread;
    ~Join() {
      if (thread.joinable()) thread.join();
    }
  } join_step{initiator_step};
  for (int i = 0; i < 500 && !kdc_has_unread_request(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(kdc_has_unread_request()) << "wardd's GSS step never reached the stopped KDC";

  auto skeyid = a.child->call(kSkeyid, {}, 2s);
  ASSERT_TRUE(skeyid) << "a call other than GSS waited for the KDC: " << skeyid.error();

  std::unique_ptr<ike::auth::AuthProvider> second;
  std::thread queued([&] { second = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB); });
  Join join_queued{queued};
  for (int i = 0; i < 500 && a.service.queued_steps() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(a.service.queued_steps(), 1U);
  auto third = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  auto refused = third->build_key_exchange_payloads(ike::auth::Role::Initiator);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("1 GSS steps are queued already"), std::string::npos) << refused.error();
  {
    const std::lock_guard lock(a.mutex);
    EXPECT_EQ(a.refusals, std::vector<std::string>{"Kerberos: 1 GSS steps are queued already"});
  }

  ::kill(kdc_->pid(), SIGCONT);
  initiator_step.join();
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(token->size(), 1U) << "the AP-REQ, once the KDC answered";
  queued.join();
  auto later = second->build_key_exchange_payloads(ike::auth::Role::Initiator);
  EXPECT_TRUE(later) << "the queued exchange was opened after the first step: " << later.error();
}

// A child that dies while its steps wait behind a slow one: they are not run (no KDC trip, no
// exchange opened that nobody would ever close), and wardd is told.
TEST_F(RemoteKerberosTest, StepsOfAChildThatWentAwayAreNotRun) {
  auto& a = split(host("a", kPrincipalA, kHostB, kPrincipalB));
  auto first = a.provider->for_exchange(ike::auth::Role::Initiator, kHostB);
  ASSERT_EQ(::kill(kdc_->pid(), SIGSTOP), 0);
  struct Resume {
    ~Resume() { ::kill(kdc_->pid(), SIGCONT); }
  } resume;
  std::thread initiator_step([&] { (void)first->build_key_exchange_payloads(ike::auth::Role::Initiator); });
  for (int i = 0; i < 500 && !kdc_has_unread_request(); ++i) std::this_thread::sleep_for(10ms);
  std::thread opener([&] { (void)a.provider->for_exchange(ike::auth::Role::Initiator, kHostB); });
  for (int i = 0; i < 500 && a.service.queued_steps() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(a.service.queued_steps(), 1U);
  a.wardd.reset();   // the channel goes with it: the child's calls fail, as when it dies
  opener.join();
  ::kill(kdc_->pid(), SIGCONT);
  initiator_step.join();
  const std::string gone = "Kerberos: the IKE process that asked is gone";
  auto told = [&] {
    const std::lock_guard lock(a.mutex);
    return std::find(a.failures.begin(), a.failures.end(), gone) != a.failures.end();
  };
  for (int i = 0; i < 500 && !told(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(told()) << "the queued open was run for a child that is gone";
  EXPECT_EQ(a.service.open_exchanges(), 1U) << "only the first exchange, opened while the child lived";
}

}  // namespace
}  // namespace ward::agent::ikeproc
