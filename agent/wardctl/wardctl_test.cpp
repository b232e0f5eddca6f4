// wardctl against a real control server (in this process) backed by the fake handler.
#include "agent/wardctl/wardctl.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "agent/control/fake_handler.h"
#include "agent/control/server.h"

namespace ward::agent::wardctl {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1800003600;

class WardctlTest : public ::testing::Test {
 protected:
  WardctlTest() {
    std::string pattern = (fs::temp_directory_path() / "ward-wardctl-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~WardctlTest() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_server(control::Authorizer authorize = {}) {
    control::ControlServerOptions options;
    options.socket_path = socket();
    options.group_name = "ward-test-group-that-does-not-exist";
    options.warn = [](std::string_view) {};
    options.authorize = std::move(authorize);
    auto server = control::ControlServer::start(std::move(options), handler_);
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
  }

  std::string socket() const { return (dir_ / "run" / "control.sock").string(); }

  int wardctl(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"--socket", socket()});
    return run(args, out_, err_, kNow);
  }

  fs::path dir_;
  control::testing::FakeHandler handler_;
  std::unique_ptr<control::ControlServer> server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(WardctlTest, ShowPolicyIsATableAndRedactsKeys) {
  start_server();
  ASSERT_EQ(wardctl({"show", "policy"}), kExitOk) << err_.str();
  const auto text = out_.str();
  EXPECT_NE(text.find("Policy:        Communication for the Legal Department {FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE}"),
            std::string::npos) << text;
  EXPECT_NE(text.find("GPO:           Legal IPsec (CN={6AC1786C"), std::string::npos) << text;
  EXPECT_NE(text.find("Fetched at:    2027-01-15 08:00:00 UTC"), std::string::npos) << text;
  EXPECT_NE(text.find("Dataplane:  xfrm ([driver] backend = auto: the kernel accepted an ESP state"), std::string::npos) << text;
  EXPECT_NE(text.find("RULE                                   FILTER LIST"), std::string::npos) << text;
  EXPECT_NE(text.find("Inter-department communications        All IP traffic"), std::string::npos) << text;
  EXPECT_NE(text.find("kerberos, preshared-key"), std::string::npos) << text;
  EXPECT_EQ(text.find(control::testing::kFakePresharedKey), std::string::npos);

  // Weak offers: what this host leaves out, the rules that block, the other warnings, each once.
  EXPECT_NE(text.find("Legacy algorithms (3DES, MD5, DH group 2): used"), std::string::npos) << text;
  EXPECT_NE(text.find("Skipped offers:\n  key exchange settings: key exchange method 3 (DES/SHA-1/group 1) skipped: DES is broken\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("FAILS CLOSED (BLOCKS)                  BLOCKED PACKETS  WHY"), std::string::npos) << text;
  EXPECT_NE(text.find("Legal intra-department communications  7                filter action"), std::string::npos) << text;
  EXPECT_NE(text.find("Warnings:\n  filter list \"Unused\": no rule uses it\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("DES is broken"), text.rfind("DES is broken")) << "said once\n" << text;

  ASSERT_EQ(wardctl({"--json", "show", "policy"}), kExitOk);
  EXPECT_EQ(out_.str().find(control::testing::kFakePresharedKey), std::string::npos);
  EXPECT_NE(out_.str().find("\"format\": \"ward-policy/1\""), std::string::npos) << out_.str();
}

TEST_F(WardctlTest, ShowFilters) {
  start_server();
  ASSERT_EQ(wardctl({"show", "filters"}), kExitOk) << err_.str();
  std::istringstream lines(out_.str());
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_EQ(header.substr(0, 10), "#  WEIGHT ");
  EXPECT_NE(first.find("10.20.1.0/24  10.20.1.0/24"), std::string::npos) << out_.str();
  EXPECT_NE(first.find("negotiate"), std::string::npos);
  EXPECT_NE(first.find("Legal intra-department communications"), std::string::npos);
  EXPECT_NE(out_.str().find("mirror"), std::string::npos);

  ASSERT_EQ(wardctl({"show", "filters", "--generic"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("RULE"), std::string::npos);
  EXPECT_NE(out_.str().find("me            any"), std::string::npos) << out_.str();

  ASSERT_EQ(wardctl({"show", "filters", "--specific", "--json"}), kExitOk);
  EXPECT_NE(out_.str().find("\"view\": \"specific\""), std::string::npos) << out_.str();
}

TEST_F(WardctlTest, Explain) {
  start_server();
  ASSERT_EQ(wardctl({"explain", "10.20.1.5", "10.20.1.7", "tcp", "40000", "445"}), kExitOk) << err_.str();
  const auto text = out_.str();
  EXPECT_EQ(text.rfind("packet: 10.20.1.5 -> 10.20.1.7 tcp 40000 -> 445\nwinner: #1 weight ", 0), 0u) << text;
  EXPECT_NE(text.find("rule \"Legal intra-department communications\""), std::string::npos) << text;
  EXPECT_NE(text.find("runners-up (in precedence order):"), std::string::npos) << text;
  EXPECT_NE(text.find("rule \"Inter-department communications\""), std::string::npos) << text;
  EXPECT_NE(text.find("lost:          lower weight"), std::string::npos) << text;

  ASSERT_EQ(wardctl({"explain", "10.20.1.5", "10.30.4.9"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("winner: #"), std::string::npos);
  EXPECT_NE(out_.str().find("\"Inter-department communications\""), std::string::npos);
  EXPECT_NE(out_.str().find("no other filter matches"), std::string::npos) << out_.str();

  ASSERT_EQ(wardctl({"--json", "explain", "10.20.1.5", "10.20.1.7"}), kExitOk);
  EXPECT_NE(out_.str().find("\"lost_because\": \"lower-weight\""), std::string::npos) << out_.str();
}

TEST_F(WardctlTest, ShowSaEventsRefreshFlush) {
  start_server();
  ASSERT_EQ(wardctl({"show", "sa"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("PEER       DIR  SPI         PROTO"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("10.20.1.7  out  0xc0ffee01  esp"), std::string::npos) << out_.str();

  ASSERT_EQ(wardctl({"show", "events", "--since", "2h"}), kExitOk) << err_.str();
  EXPECT_EQ(handler_.last_since, kNow - 7200);
  EXPECT_NE(out_.str().find("2027-01-15 08:10:00 UTC  ike-failure     10.30.4.9  kerberos  no proposal chosen "
                            "(and 9999 more like this until 2027-01-15 08:11:00 UTC)"),
            std::string::npos) << out_.str();
  ASSERT_EQ(wardctl({"show", "events", "--since", "1800000000"}), kExitOk);
  EXPECT_EQ(handler_.last_since, 1800000000);
  ASSERT_EQ(wardctl({"show", "events"}), kExitOk);
  EXPECT_FALSE(handler_.last_since.has_value());

  ASSERT_EQ(wardctl({"refresh"}), kExitOk);
  EXPECT_EQ(out_.str(), "policy refreshed: unchanged (20261125143000.0Z)\n");
  ASSERT_EQ(wardctl({"flush"}), kExitOk);
  EXPECT_EQ(out_.str(), "flushed 2 SAs\n");
}

TEST_F(WardctlTest, ShowSaSaysWhatTheHelpdeskNeeds) {
  handler_.with_ike = true;
  start_server();
  ASSERT_EQ(wardctl({"show", "sa"}), kExitOk) << err_.str();
  const auto text = out_.str();
  if (std::getenv("WARD_TEST_VERBOSE")) std::cout << text;
  // Main modes: "established" / "negotiating", never the state machine's name.
  // The IKE column: IKEv1 main modes and IKEv2 IKE SAs side by side.
  EXPECT_NE(text.find("10.20.1.7       IKEv1  initiator  established  Kerberos"), std::string::npos) << text;
  EXPECT_NE(text.find("10.20.1.8       IKEv2  initiator  negotiating  pre-shared key"), std::string::npos) << text;
  EXPECT_EQ(text.find("IkeSaInitSent"), std::string::npos) << text;
  EXPECT_EQ(text.find("MainMode6Received"), std::string::npos) << text;
  EXPECT_NE(text.find("<Dynamic> default response (dynamic filter)"), std::string::npos) << text;
  EXPECT_NE(text.find("SOFT ASSOCIATION PEER  STATE"), std::string::npos) << text;
  EXPECT_NE(text.find("10.30.4.9              soft (no IPsec: peer did not answer IKE)  7"), std::string::npos) << text;
  EXPECT_NE(text.find("10.30.4.10   main mode  initiator  no response from peer  40s"), std::string::npos) << text;
  // --json keeps the internal names for developers.
  ASSERT_EQ(wardctl({"--json", "show", "sa"}), kExitOk);
  EXPECT_NE(out_.str().find("\"internal_state\": \"MainMode6Received\""), std::string::npos) << out_.str();
}

TEST_F(WardctlTest, AgentErrorIsExitOne) {
  handler_.fail_refresh = true;
  start_server();
  EXPECT_EQ(wardctl({"refresh"}), kExitCommandFailed);
  EXPECT_EQ(err_.str(), "wardctl: directory unreachable: ldap://dc1.example.com: timeout\n");
}

TEST_F(WardctlTest, MissingSocket) {
  EXPECT_EQ(wardctl({"show", "sa"}), kExitNoAgent);
  EXPECT_EQ(err_.str(), "wardctl: " + socket() + " does not exist: is wardd running?\n");
}

TEST_F(WardctlTest, PermissionDeniedByTheAgent) {
  start_server([](const control::PeerCredentials&) -> Expected<void, std::string> {
    return unexpected(std::string("permission denied: uid 1000 is not root and not in group ward"));
  });
  EXPECT_EQ(wardctl({"show", "policy"}), kExitPermissionDenied);
  EXPECT_EQ(err_.str(), "wardctl: permission denied: uid 1000 is not root and not in group ward\n");
  EXPECT_EQ(handler_.calls, 0);
}

TEST_F(WardctlTest, UsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no command given"},
      {{"show"}, "unknown command 'show'"},
      {{"show", "tunnels"}, "unknown command 'show tunnels'"},
      {{"show", "sa", "extra"}, "show sa: unexpected 'extra'"},
      {{"explain", "10.0.0.1"}, "explain needs SRC DST [PROTO [SPORT [DPORT]]]"},
      {{"explain", "10.0.0.1", "nowhere"}, "explain: 'nowhere' is not an IP address"},
      {{"explain", "10.0.0.1", "::1"}, "explain: source and destination are of different IP families"},
      {{"explain", "10.0.0.1", "10.0.0.2", "sctp"}, "explain: protocol 'sctp' is not any, icmp, tcp, udp, icmpv6 or 0..255"},
      {{"explain", "10.0.0.1", "10.0.0.2", "tcp", "1", "65536"}, "explain: destination port '65536' is not 0..65535"},
      {{"show", "events", "--since", "yesterday"}, "--since 'yesterday' is neither Unix seconds nor an age like 90m, 12h, 7d"},
      {{"show", "sa", "--generic"}, "--specific and --generic go with 'show filters'"},
      {{"--bogus", "show", "sa"}, "unknown option --bogus"},
  };
  for (const auto& [args, message] : cases) {
    EXPECT_EQ(wardctl(args), kExitUsage) << message;
    EXPECT_EQ(err_.str().substr(0, err_.str().find('\n')), "wardctl: " + message);
  }
}

TEST_F(WardctlTest, HelpListsExitCodes) {
  EXPECT_EQ(wardctl({"--help"}), kExitOk);
  EXPECT_NE(out_.str().find("Exit codes:"), std::string::npos);
  EXPECT_NE(out_.str().find("4  permission denied"), std::string::npos);
}

}  // namespace
}  // namespace ward::agent::wardctl
