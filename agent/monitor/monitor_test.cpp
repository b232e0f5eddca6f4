// The TLS monitor endpoint with real certificates from a throwaway CA: who may connect, what they
// may ask, and that the answers are the control protocol's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "agent/control/fake_handler.h"
#include "agent/monitor/endpoint.h"
#include "agent/monitor/monitor_client.h"
#include "agent/monitor/monitor_server.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::monitor {
namespace {

using namespace std::chrono_literals;
using control::testing::FakeHandler;

class MonitorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = test::TempDir::create("ward-monitor-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = new test::TempDir(std::move(*dir));
    const auto& d = dir_->path();
    auto ca = test::make_test_ca(d, "helpdesk");
    auto other_ca = test::make_test_ca(d, "other");
    ASSERT_TRUE(ca && other_ca);
    auto server = test::issue_server_certificate(*ca, d, "agent", "agent.example.test", {"IP:127.0.0.1"});
    auto client = test::issue_client_certificate(*ca, d, "helpdesk-1", "helpdesk-1");
    auto stranger = test::issue_client_certificate(*other_ca, d, "stranger", "stranger");
    ASSERT_TRUE(server && client && stranger);
    server_files_ = new TlsFiles{server->certificate, server->private_key, ca->certificate};
    client_files_ = new TlsFiles{client->certificate, client->private_key, ca->certificate};
    stranger_files_ = new TlsFiles{stranger->certificate, stranger->private_key, ca->certificate};
    other_ca_ = new std::filesystem::path(other_ca->certificate);
  }
  static void TearDownTestSuite() {
    delete server_files_;
    delete client_files_;
    delete stranger_files_;
    delete other_ca_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_NE(server_files_, nullptr);
    MonitorOptions options;
    options.listen = "127.0.0.1:0";
    options.tls = *server_files_;
    options.io_timeout = 2s;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mutex_);
      log_ += std::string(line) + "\n";
    };
    auto server = MonitorServer::start(options, handler_);
    ASSERT_TRUE(server) << server.error();
    server_ = std::move(*server);
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  void TearDown() override { server_.reset(); }  // its threads log into this fixture

  std::string log() {
    std::lock_guard lock(log_mutex_);
    return log_;
  }
  // The server logs from its own threads, possibly just after the client has seen the outcome.
  bool logged(const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Either the handshake or the first request fails (with TLS 1.3 the client may finish its side
  // of the handshake before the server has looked at its certificate).
  static bool refused(const TlsFiles& files, const std::string& endpoint) {
    auto client = MonitorClient::connect(endpoint, files, 2s);
    if (!client) return true;
    return !client->call(control::ShowPolicyRequest{});
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline TlsFiles* server_files_ = nullptr;
  static inline TlsFiles* client_files_ = nullptr;
  static inline TlsFiles* stranger_files_ = nullptr;
  static inline std::filesystem::path* other_ca_ = nullptr;
  std::mutex log_mutex_;
  std::string log_;
  FakeHandler handler_;
  std::unique_ptr<MonitorServer> server_;
  std::string endpoint_;
};

TEST_F(MonitorTest, ACertifiedClientSeesPolicySasAndExplain) {
  auto client = MonitorClient::connect(endpoint_, *client_files_, 2s);
  ASSERT_TRUE(client) << client.error().message;
  auto policy = client->call(control::ShowPolicyRequest{});
  ASSERT_TRUE(policy) << policy.error().message;
  ASSERT_TRUE(policy->ok) << policy->error;
  EXPECT_EQ(policy->result["source"]["gpo_name"], "Legal IPsec");
  EXPECT_EQ(policy->result.dump().find(control::testing::kFakePresharedKey), std::string::npos);
  auto sas = client->call(control::ShowSaRequest{});
  ASSERT_TRUE(sas && sas->ok);
  EXPECT_EQ(sas->result["sas"].size(), 2u);
  model::PacketTuple packet;
  packet.source = *IpAddress::parse("10.20.1.5");
  packet.destination = *IpAddress::parse("10.30.1.1");
  auto explained = client->call(control::ExplainRequest{packet});
  ASSERT_TRUE(explained && explained->ok) << (explained ? explained->error : explained.error().message);
  EXPECT_TRUE(explained->result.contains("winner"));
  EXPECT_TRUE(logged("certificate CN=helpdesk-1")) << log();
}

TEST_F(MonitorTest, RefreshAndFlushAreRefused) {
  auto client = MonitorClient::connect(endpoint_, *client_files_, 2s);
  ASSERT_TRUE(client) << client.error().message;
  const int calls_before = handler_.calls;
  for (const control::Request& request : {control::Request{control::RefreshRequest{}}, control::Request{control::FlushRequest{}}}) {
    auto answer = client->call(request);
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_FALSE(answer->ok);
    EXPECT_EQ(answer->error, kReadOnlyRefusal);
  }
  EXPECT_EQ(handler_.calls, calls_before);
}

// No certificate at all: a bare OpenSSL client that trusts the server but presents nothing.
bool refused_without_certificate(std::uint16_t port, const std::filesystem::path& ca) {
  SslContextPtr context(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_load_verify_locations(context.get(), ca.c_str(), nullptr);
  control::FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return false;
  timeval tv{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SslPtr ssl(SSL_new(context.get()));
  SSL_set_fd(ssl.get(), fd.get());
  if (SSL_connect(ssl.get()) != 1) return true;
  const std::string request = control::encode_request(control::ShowPolicyRequest{});
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  char answer[256];
  return SSL_read(ssl.get(), answer, sizeof answer) <= 0;
}

TEST_F(MonitorTest, AClientWithoutACertificateIsRefused) {
  EXPECT_TRUE(refused_without_certificate(server_->port(), server_files_->ca));
  EXPECT_EQ(handler_.calls, 0);
  EXPECT_TRUE(logged("TLS handshake failed")) << log();
  EXPECT_GE(server_->monitor_counters().refused_handshakes.load(), 1u);
}

TEST_F(MonitorTest, AClientCertifiedByAnotherCaIsRefused) {
  EXPECT_TRUE(refused(*stranger_files_, endpoint_));
  EXPECT_EQ(handler_.calls, 0);
  EXPECT_TRUE(logged("TLS handshake failed")) << log();
  EXPECT_GE(server_->monitor_counters().refused_handshakes.load(), 1u);
}

TEST_F(MonitorTest, TheClientRefusesAServerItsCaDidNotSign) {
  TlsFiles distrustful = *client_files_;
  distrustful.ca = *other_ca_;
  auto client = MonitorClient::connect(endpoint_, distrustful, 2s);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("certificate"), std::string::npos) << client.error().message;
}

TEST_F(MonitorTest, TheClientChecksTheNameItDialled) {
  // The server's certificate names IP 127.0.0.1 only.
  auto client = MonitorClient::connect("localhost:" + std::to_string(server_->port()), *client_files_, 2s);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("mismatch"), std::string::npos) << client.error().message;
}

TEST_F(MonitorTest, AnOversizedRequestIsAnsweredAndClosed) {
  auto client = MonitorClient::connect(endpoint_, *client_files_, 2s);
  ASSERT_TRUE(client);
  const std::string endless(control::kMaxRequestBytes + 10, 'x');
  auto answer = client->call_raw(endless);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->code, control::ErrorCode::TooLarge);
  EXPECT_EQ(server_->counters().oversized_requests.load(), 1u);
  EXPECT_FALSE(client->call(control::ShowSaRequest{}));  // closed
}

TEST_F(MonitorTest, AMalformedRequestGetsABadRequestAnswer) {
  auto client = MonitorClient::connect(endpoint_, *client_files_, 2s);
  ASSERT_TRUE(client);
  auto answer = client->call_raw("{\"command\": 7}\n");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->code, control::ErrorCode::BadRequest);
  auto after = client->call(control::ShowSaRequest{});  // the connection stays usable
  ASSERT_TRUE(after && after->ok);
}

TEST(MonitorEndpoint, ParsesHostsPortsAndBracketedV6) {
  auto v4 = parse_endpoint("10.0.0.1:8443");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "10.0.0.1");
  EXPECT_EQ(v4->port, 8443);
  auto v6 = parse_endpoint("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->to_string(), "[::1]:9000");
  EXPECT_TRUE(parse_endpoint("agent.example.test:1"));
  for (const char* bad : {"", "host", ":80", "::1:80", "[::1]80", "[::1", "host:", "host:65536", "host:8x"}) {
    auto parsed = parse_endpoint(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_NE(parsed.error().find(std::string("'") + bad + "'"), std::string::npos) << parsed.error();
    }
  }
}

}  // namespace
}  // namespace ward::agent::monitor
