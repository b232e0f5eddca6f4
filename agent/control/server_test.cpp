#include "agent/control/server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include "agent/control/client.h"
#include "agent/control/fake_handler.h"

namespace ward::agent::control {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ward-control-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& p) {
  struct stat info {};
  EXPECT_EQ(::lstat(p.c_str(), &info), 0) << p;
  return info.st_mode & 07777;
}

class ControlServerTest : public ::testing::Test {
 protected:
  fs::path socket_path() const { return dir_.path() / "run" / "control.sock"; }

  ControlServerOptions options() {
    ControlServerOptions o;
    o.socket_path = socket_path();
    o.group_name = "ward-test-group-that-does-not-exist";
    o.warn = [this](std::string_view text) {
      std::lock_guard lock(warnings_mutex_);
      warnings_.emplace_back(text);
    };
    return o;
  }

  std::unique_ptr<ControlServer> start(ControlServerOptions o) {
    auto server = ControlServer::start(std::move(o), handler_);
    if (!server) throw std::runtime_error(server.error());
    return std::move(server).value();
  }

  ControlClient connect() {
    auto client = ControlClient::connect(socket_path(), milliseconds(5000));
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(client).value();
  }

  TempDir dir_;
  testing::FakeHandler handler_;
  std::mutex warnings_mutex_;
  std::vector<std::string> warnings_;
};

TEST_F(ControlServerTest, ServesEveryCommand) {
  auto server = start(options());
  auto client = connect();
  const Request requests[] = {ShowPolicyRequest{}, ShowFiltersRequest{FilterView::Generic}, ShowFiltersRequest{},
                              ExplainRequest{{*IpAddress::parse("10.20.1.5"), *IpAddress::parse("10.20.1.7"), 0, 0, 0}},
                              ShowSaRequest{}, ShowEventsRequest{42}, RefreshRequest{}, FlushRequest{}};
  for (const auto& request : requests) {
    auto response = client.call(request);  // one connection, many requests
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_TRUE(response->ok) << name_of(command_of(request)) << ": " << response->error;
  }
  EXPECT_EQ(handler_.calls, 8);
  EXPECT_EQ(handler_.last_since, 42);
  EXPECT_EQ(server->counters().requests, 8u);
}

TEST_F(ControlServerTest, ShowPolicyNeverCarriesThePresharedKey) {
  auto server = start(options());
  auto client = connect();
  auto response = client.call(ShowPolicyRequest{});
  ASSERT_TRUE(response.has_value() && response->ok);
  EXPECT_EQ(response->result.dump().find(testing::kFakePresharedKey), std::string::npos);
  EXPECT_NE(response->result.dump().find("preshared-key"), std::string::npos);
}

TEST_F(ControlServerTest, SocketAndDirectoryModesWithoutTheGroup) {
  auto server = start(options());
  EXPECT_EQ(mode_of(socket_path().parent_path()), 0750u);
  EXPECT_EQ(mode_of(socket_path()), 0600u);  // no group: root only
  EXPECT_TRUE(S_ISSOCK([&] { struct stat s {}; ::lstat(socket_path().c_str(), &s); return s.st_mode; }()));
  std::lock_guard lock(warnings_mutex_);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("is root-only (0600)"), std::string::npos) << warnings_[0];
}

TEST_F(ControlServerTest, SocketModeWithTheGroup) {
  // Root's own group always exists; use it as the control group.
  auto o = options();
  o.group_name = "root";
  auto server = start(std::move(o));
  EXPECT_EQ(mode_of(socket_path()), 0660u);
  struct stat info {};
  ASSERT_EQ(::lstat(socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_gid, 0u);
  std::lock_guard lock(warnings_mutex_);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(ControlServerTest, MalformedJsonGetsAnErrorAndTheConnectionStaysUsable) {
  auto server = start(options());
  auto client = connect();
  auto bad = client.call_raw("{\"command\": \n");
  ASSERT_TRUE(bad.has_value()) << bad.error().message;
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->code, ErrorCode::BadRequest);
  EXPECT_EQ(bad->error, "request is not valid JSON");
  auto binary = client.call_raw(std::string("\x00\xff\xfe garbage\n", 12));
  ASSERT_TRUE(binary.has_value());
  EXPECT_FALSE(binary->ok);
  auto good = client.call(ShowSaRequest{});
  ASSERT_TRUE(good.has_value());
  EXPECT_TRUE(good->ok);
  EXPECT_EQ(server->counters().bad_requests, 2u);
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedAndClosed) {
  auto server = start(options());
  auto client = connect();
  auto response = client.call_raw(std::string(kMaxRequestBytes + 4096, 'a'));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, ErrorCode::TooLarge);
  EXPECT_EQ(server->counters().oversized_requests, 1u);
}

TEST_F(ControlServerTest, IdleConnectionTimesOut) {
  auto o = options();
  o.io_timeout = milliseconds(100);
  auto server = start(std::move(o));
  auto client = connect();
  auto response = client.call_raw("");  // send nothing, wait for the server to give up
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->error, "timed out waiting for a request");
  EXPECT_EQ(server->counters().timeouts, 1u);
}

TEST_F(ControlServerTest, TricklingClientTimesOut) {
  auto o = options();
  o.io_timeout = milliseconds(300);
  auto server = start(std::move(o));
  // One byte every 100 ms never finishes a request; the server gives up after 300 ms.
  FileDescriptor raw(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path().c_str(), socket_path().native().size());
  ASSERT_EQ(::connect(raw.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  std::string answer;
  for (int i = 0; i < 20 && answer.empty(); ++i) {
    if (::send(raw.get(), "{", 1, MSG_NOSIGNAL) != 1) break;
    std::this_thread::sleep_for(milliseconds(100));
    char buffer[256];
    const ssize_t n = ::recv(raw.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) answer.assign(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_NE(answer.find("timed out waiting for a request"), std::string::npos) << answer;
  EXPECT_EQ(server->counters().timeouts, 1u);
}

TEST_F(ControlServerTest, RefusedPeerGetsPermissionDenied) {
  auto o = options();
  o.authorize = [](const PeerCredentials& peer) -> Expected<void, std::string> {
    return unexpected("permission denied: uid " + std::to_string(peer.uid) + " is not allowed");
  };
  auto server = start(std::move(o));
  auto client = connect();
  auto response = client.call(ShowPolicyRequest{});
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, ErrorCode::PermissionDenied);
  EXPECT_EQ(response->error, "permission denied: uid " + std::to_string(::getuid()) + " is not allowed");
  EXPECT_EQ(handler_.calls, 0);
  EXPECT_EQ(server->counters().refused_peers, 1u);
}

TEST_F(ControlServerTest, DefaultAuthorizer) {
  const auto authorize = root_or_group_member("root");
  EXPECT_TRUE(authorize(PeerCredentials{1, 0, 0}).has_value());
  EXPECT_TRUE(authorize(PeerCredentials{1, 65534, 0}).has_value());  // primary group root
  const auto refused = authorize(PeerCredentials{1, 65534, 65534});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), "permission denied: uid 65534 is not root and not in group root");
  const auto no_group = root_or_group_member("no-such-group-ward-test")(PeerCredentials{1, 65534, 65534});
  ASSERT_FALSE(no_group.has_value());
  EXPECT_EQ(no_group.error(), "permission denied: uid 65534 is not root (group no-such-group-ward-test does not exist)");
}

// A real unprivileged peer: the child drops to uid/gid 65534 (nobody) and connects; SO_PEERCRED
// says who it is, and the default authorizer refuses it. The child uses raw system calls only.
TEST_F(ControlServerTest, RealUnprivilegedPeerIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  auto server = start(options());
  // Let the unprivileged child reach the socket at all, so that SO_PEERCRED is what refuses it.
  ::chmod(dir_.path().c_str(), 0755);
  ::chmod(socket_path().parent_path().c_str(), 0755);
  ::chmod(socket_path().c_str(), 0666);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path().c_str(), socket_path().native().size());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) ::_exit(3);
    static char buffer[512];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) (void)!::write(pipe_fds[1], buffer, static_cast<std::size_t>(n));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string answer;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto response = parse_response(answer.substr(0, answer.find('\n')));
  ASSERT_TRUE(response.has_value()) << answer;
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, ErrorCode::PermissionDenied);
  EXPECT_NE(response->error.find("uid 65534 is not root"), std::string::npos) << response->error;
  EXPECT_EQ(server->counters().refused_peers, 1u);
}

TEST_F(ControlServerTest, TooManyConnectionsAreTurnedAway) {
  auto o = options();
  o.max_connections = 1;
  auto server = start(std::move(o));
  auto first = connect();
  ASSERT_TRUE(first.call(ShowSaRequest{}).has_value());  // the first is being served
  auto second = connect();
  auto response = second.call(ShowSaRequest{});
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, ErrorCode::Busy);
  EXPECT_EQ(server->counters().refused_busy, 1u);
}

TEST_F(ControlServerTest, HandlerFailureIsAnErrorResponse) {
  handler_.fail_refresh = true;
  auto server = start(options());
  auto client = connect();
  auto response = client.call(RefreshRequest{});
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, ErrorCode::Failed);
  EXPECT_EQ(response->error, "directory unreachable: ldap://dc1.example.com: timeout");
  EXPECT_EQ(server->counters().handler_failures, 1u);
}

TEST_F(ControlServerTest, ConcurrentClientsAreServedWhileOneIsSlow) {
  handler_.slow_refresh = true;
  auto server = start(options());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto client = ControlClient::connect(socket_path(), milliseconds(5000));
      if (!client) return;
      auto response = i == 0 ? client->call(RefreshRequest{}) : client->call(ShowSaRequest{});
      if (response && response->ok) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
}

// A refresh that hangs (a directory that accepts and never answers) holds up no read-only request.
TEST_F(ControlServerTest, ReadOnlyRequestsNeverWaitOnARefresh) {
  handler_.hold_refresh = true;
  auto server = start(options());
  std::thread refresher([&] {
    auto client = ControlClient::connect(socket_path(), milliseconds(20000));
    if (client) (void)client->call(RefreshRequest{});
  });
  while (!handler_.refresh_entered) std::this_thread::sleep_for(milliseconds(5));
  for (const Request& request : std::vector<Request>{ShowPolicyRequest{}, ShowSaRequest{}, ShowEventsRequest{},
                                                     ShowFiltersRequest{}}) {
    auto client = ControlClient::connect(socket_path(), milliseconds(2000));
    ASSERT_TRUE(client) << client.error().message;
    // Served while the refresh still hangs; before, this timed out behind it.
    auto response = client->call(request);
    ASSERT_TRUE(response.has_value()) << name_of(command_of(request)) << ": " << response.error().message;
    EXPECT_TRUE(response->ok) << name_of(command_of(request));
  }
  handler_.hold_refresh = false;
  refresher.join();
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneIsNot) {
  { auto server = start(options()); }
  EXPECT_FALSE(fs::exists(socket_path()));  // removed on stop
  {
    // A stale socket left by a crashed agent: bound, never listening.
    FileDescriptor stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path().c_str(), socket_path().native().size());
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  }
  auto server = start(options());
  auto second = ControlServer::start(options(), handler_);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error(), socket_path().string() + " is in use by a running agent");
  auto client = connect();
  EXPECT_TRUE(client.call(FlushRequest{}).has_value());
}

TEST_F(ControlServerTest, ClientErrorsNameTheProblem) {
  auto missing = ControlClient::connect(dir_.path() / "nothing.sock", milliseconds(100));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ClientError::Kind::NoSocket);
  EXPECT_EQ(missing.error().message, (dir_.path() / "nothing.sock").string() + " does not exist: is wardd running?");
}

}  // namespace
}  // namespace ward::agent::control
