// The privsep primitives with a real child (privsep_probe) under a real Supervisor: what the
// sandbox leaves the child (read from /proc/<pid>/status and tried from inside), the channel
// (boundaries, descriptors, limits), and a crash noticed, reported and restarted. The sandbox
// tests need root (to switch to "nobody") and skip without it.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "agent/privsep/channel.h"
#include "agent/privsep/endpoint.h"
#include "agent/privsep/probe_protocol.h"
#include "agent/privsep/proc_test_support.h"
#include "agent/privsep/sandbox.h"
#include "agent/privsep/supervisor.h"

namespace ward::agent::privsep {
namespace {

using namespace std::chrono_literals;

std::span<const std::uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
std::string text(const Message& m) { return {m.body.begin(), m.body.end()}; }

using testing::proc_status;

TEST(Channel, KeepsMessageBoundariesAndTypes) {
  auto pair = Channel::pair();
  ASSERT_TRUE(pair) << pair.error();
  auto& [a, b] = *pair;
  ASSERT_TRUE(a.send(7, bytes("first")));
  ASSERT_TRUE(a.send(8, {}));
  ASSERT_TRUE(a.send(9, bytes(std::string(kMaxBody, 'x'))));
  auto first = b.receive(1s);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->type, 7u);
  EXPECT_EQ(text(*first), "first");
  auto empty = b.receive(1s);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->type, 8u);
  EXPECT_TRUE(empty->body.empty());
  auto big = b.receive(1s);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->body.size(), kMaxBody);
  EXPECT_EQ(text(*big), std::string(kMaxBody, 'x'));
  // A short message after a long one is exactly its own bytes (the receive buffer is reused).
  ASSERT_TRUE(a.send(10, bytes("tail")));
  auto tail = b.receive(1s);
  ASSERT_TRUE(tail);
  EXPECT_EQ(text(*tail), "tail");
  auto none = b.receive(10ms);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ChannelError::Kind::Timeout);
}

TEST(Channel, RefusesWhatIsOverTheLimitOrMalformed) {
  auto pair = Channel::pair();
  ASSERT_TRUE(pair);
  auto& [a, b] = *pair;
  auto over = a.send(1, bytes(std::string(kMaxBody + 1, 'x')));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().find("over the channel's limit"), std::string::npos) << over.error();
  // A peer that does not speak the protocol: a message too long, one without a type.
  const std::string huge(kMaxBody + 64, 'y');
  ASSERT_EQ(::send(a.native_handle(), huge.data(), huge.size(), 0), static_cast<ssize_t>(huge.size()));
  ASSERT_EQ(::send(a.native_handle(), "ab", 2, 0), 2);
  auto long_one = b.receive(1s);
  ASSERT_FALSE(long_one);
  EXPECT_EQ(long_one.error().kind, ChannelError::Kind::Malformed);
  EXPECT_NE(long_one.error().message.find("over the channel's limit"), std::string::npos) << long_one.error().message;
  auto short_one = b.receive(1s);
  ASSERT_FALSE(short_one);
  EXPECT_EQ(short_one.error().kind, ChannelError::Kind::Malformed);
  EXPECT_NE(short_one.error().message.find("has no type"), std::string::npos) << short_one.error().message;
  // What follows a refused message arrives whole.
  ASSERT_TRUE(a.send(3, bytes("after")));
  auto after = b.receive(1s);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->type, 3u);
  EXPECT_EQ(text(*after), "after");
}

TEST(Channel, CarriesADescriptorAndReportsAClosedPeer) {
  auto pair = Channel::pair();
  ASSERT_TRUE(pair);
  auto& [a, b] = *pair;
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_TRUE(a.send(3, bytes("pipe"), pipe_fds[1]));
  ::close(pipe_fds[1]);
  auto got = b.receive(1s);
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->fd);
  EXPECT_EQ(fcntl(got->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_EQ(write(got->fd.get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(read(pipe_fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'z');
  ::close(pipe_fds[0]);
  { Channel gone = std::move(a); }
  auto closed = b.receive(1s);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().kind, ChannelError::Kind::Closed);
}

TEST(Endpoint, CallsBothWaysNotesAndAClosedPeer) {
  auto pair = Channel::pair();
  ASSERT_TRUE(pair);
  std::mutex mutex;
  std::vector<std::string> notes;
  auto doubler = [&](Incoming& m) -> Expected<Body, std::string> {
    if (!m.is_call) {
      const std::lock_guard lock(mutex);
      notes.emplace_back(m.body.begin(), m.body.end());
      return Body{};
    }
    if (m.type == 2) return unexpected(std::string("type 2 is refused"));
    Body twice(m.body.begin(), m.body.end());
    twice.insert(twice.end(), m.body.begin(), m.body.end());
    return twice;
  };
  std::string closed_why;
  auto left = std::make_unique<Endpoint>(std::make_shared<Channel>(std::move(pair->first)), doubler, [](const std::string&) {});
  Endpoint right(std::make_shared<Channel>(std::move(pair->second)), doubler, [&](const std::string& why) { closed_why = why; });
  auto answer = left->call(1, bytes("ab"));
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ(std::string(answer->begin(), answer->end()), "abab");
  auto back = right.call(1, bytes("x"));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(std::string(back->begin(), back->end()), "xx");
  auto refused = left->call(2, bytes("ab"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "type 2 is refused");
  ASSERT_TRUE(left->notify(3, bytes("note")));
  EXPECT_TRUE(right.call(1, bytes("sync")));   // replies come in order after the note
  {
    const std::lock_guard lock(mutex);
    EXPECT_EQ(notes, std::vector<std::string>{"note"});
  }
  left.reset();   // the other process goes away
  auto after = right.call(1, bytes("x"), 2s);
  ASSERT_FALSE(after);
  for (int i = 0; i < 100 && right.open(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(right.open());
  EXPECT_EQ(closed_why, "the other process closed the channel");
}

// A handler that parks a call (reply_later) leaves the reader free: a later call is answered
// first, and the parked one gets its answer from another thread.
TEST(Endpoint, AParkedCallIsAnsweredLaterFromAnotherThreadWhileOthersGoOn) {
  auto pair = Channel::pair();
  ASSERT_TRUE(pair);
  std::mutex mutex;
  std::condition_variable parked_cv;
  std::optional<std::uint64_t> parked;
  auto handler = [&](Incoming& m) -> Expected<Body, std::string> {
    if (m.type == 5) {
      m.reply_later = true;
      const std::lock_guard lock(mutex);
      parked = m.call_id;
      parked_cv.notify_all();
      return Body{};
    }
    return Body(m.body.begin(), m.body.end());
  };
  auto noop = [](Incoming&) -> Expected<Body, std::string> { return Body{}; };
  Endpoint left(std::make_shared<Channel>(std::move(pair->first)), noop, [](const std::string&) {});
  Endpoint right(std::make_shared<Channel>(std::move(pair->second)), handler, [](const std::string&) {});
  Expected<Body, std::string> slow = unexpected(std::string("not yet"));
  std::thread caller([&] { slow = left.call(5, bytes("slow")); });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(parked_cv.wait_for(lock, 5s, [&] { return parked.has_value(); }));
  }
  auto quick = left.call(1, bytes("quick"), 2s);
  ASSERT_TRUE(quick) << quick.error();
  EXPECT_EQ(std::string(quick->begin(), quick->end()), "quick");
  std::thread replier([&] { EXPECT_TRUE(right.reply(*parked, Body{'l', 'a', 't', 'e'})); });
  replier.join();
  caller.join();
  ASSERT_TRUE(slow) << slow.error();
  EXPECT_EQ(std::string(slow->begin(), slow->end()), "late");
  std::thread refuser([&] { EXPECT_TRUE(right.reply(*parked, unexpected(std::string("twice")))); });
  refuser.join();   // a second answer to the same id finds no caller waiting: dropped
  EXPECT_TRUE(left.call(1, bytes("x")));
}

TEST(Sandbox, RefusesRootAndUnknownUsers) {
  auto root = identity_of("root");
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().find("root"), std::string::npos);
  auto unknown = identity_of("no-such-user-ward-test");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("does not exist"), std::string::npos) << unknown.error();
}

// One probe under a Supervisor, with what its callbacks saw.
class SupervisedProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to user nobody";
    ASSERT_TRUE(identity_of("nobody")) << "the test runs the probe as user nobody";
  }
  void TearDown() override { supervisor_.reset(); }

  void start(std::vector<std::string> extra = {}, std::chrono::milliseconds first_delay = 50ms) {
    ChildSpec spec;
    spec.name = "probe";
    spec.argv = {PRIVSEP_PROBE_PATH, "--user", "nobody"};
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    spec.first_delay = first_delay;
    spec.max_delay = 400ms;
    auto started = Supervisor::start(
        spec,
        [this](pid_t pid, std::shared_ptr<Channel> channel) {
          const std::lock_guard lock(mutex_);
          pids_.push_back(pid);
          channel_ = std::move(channel);
          changed_.notify_all();
        },
        [this](pid_t pid, const std::string& how, std::chrono::milliseconds restart_in) {
          const std::lock_guard lock(mutex_);
          exits_.push_back({pid, how, restart_in});
          changed_.notify_all();
        });
    ASSERT_TRUE(started) << started.error();
    supervisor_ = std::move(*started);
  }

  // The channel of the `n`th child (1-based) once it said it is sandboxed.
  std::shared_ptr<Channel> ready_child(std::size_t n) {
    std::shared_ptr<Channel> channel;
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, 10s, [&] { return pids_.size() >= n; })) return nullptr;
      channel = channel_;
    }
    auto ready = channel->receive(10s);
    if (!ready) {
      ADD_FAILURE() << "no ready message: " << ready.error().message;
      return nullptr;
    }
    EXPECT_EQ(ready->type, probe::kReady);
    EXPECT_EQ(text(*ready), "ok");
    return channel;
  }

  static std::string ask(const Channel& channel, std::uint32_t type, const std::string& body, int fd = -1) {
    if (auto sent = channel.send(type, bytes(body), fd); !sent) return "send failed: " + sent.error();
    auto answer = channel.receive(10s);
    return answer ? text(*answer) : "no answer: " + answer.error().message;
  }

  struct Exit {
    pid_t pid;
    std::string how;
    std::chrono::milliseconds restart_in;
  };
  std::vector<Exit> exits() {
    const std::lock_guard lock(mutex_);
    return exits_;
  }
  bool wait_for_exits(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return exits_.size() >= n; });
  }

  std::unique_ptr<Supervisor> supervisor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<pid_t> pids_;
  std::shared_ptr<Channel> channel_;
  std::vector<Exit> exits_;
};

TEST_F(SupervisedProbe, ChildRunsUnderItsOwnUidWithoutCapabilities) {
  start();
  auto channel = ready_child(1);
  ASSERT_TRUE(channel);
  const pid_t pid = supervisor_->pid();
  const auto parent = proc_status(getpid());
  const auto child = proc_status(pid);
  const auto nobody = identity_of("nobody");
  ASSERT_TRUE(nobody);
  const std::string uid = std::to_string(nobody->uid), gid = std::to_string(nobody->gid);
  std::cout << "parent " << getpid() << ": Uid " << parent.at("Uid") << " CapEff " << parent.at("CapEff") << "\n"
            << "child  " << pid << ": Uid " << child.at("Uid") << " Gid " << child.at("Gid") << " Groups "
            << child.at("Groups") << " CapInh " << child.at("CapInh") << " CapPrm " << child.at("CapPrm") << " CapEff "
            << child.at("CapEff") << " CapBnd " << child.at("CapBnd") << " CapAmb " << child.at("CapAmb")
            << " NoNewPrivs " << child.at("NoNewPrivs") << " Seccomp " << child.at("Seccomp") << "\n";
  EXPECT_NE(parent.at("CapEff"), "0000000000000000");   // the test itself is privileged
  EXPECT_EQ(child.at("Uid"), uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(child.at("Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
  EXPECT_EQ(child.at("Groups"), gid);
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"}) {
    EXPECT_EQ(child.at(set), "0000000000000000") << set;
  }
  EXPECT_EQ(child.at("NoNewPrivs"), "1");
  EXPECT_EQ(child.at("Seccomp"), "2");   // filter mode
  EXPECT_EQ(ask(*channel, probe::kPing, ""), std::to_string(pid));
}

TEST_F(SupervisedProbe, SandboxRefusesWhatAnEngineNeverNeeds) {
  start();
  auto channel = ready_child(1);
  ASSERT_TRUE(channel);
  for (const char* what : {"execve", "socket-netlink", "socket-packet", "socket-inet", "setuid-0", "unshare-user",
                           "ptrace-parent"}) {
    EXPECT_EQ(ask(*channel, probe::kAttempt, what), "EPERM") << what;
  }
  EXPECT_EQ(ask(*channel, probe::kAttempt, "socket-unix"), "allowed");
  // A root-only file: the uid keeps it out; a descriptor the parent passes is readable.
  char dir_template[] = "/tmp/privsep-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string secret = std::string(dir_template) + "/secret";
  { std::ofstream(secret) << "key material"; }
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);
  ASSERT_EQ(chmod(dir_template, 0755), 0);
  EXPECT_EQ(ask(*channel, probe::kAttempt, "open:" + secret), "EACCES");
  const int fd = open(secret.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ask(*channel, probe::kReadFd, "", fd), "key material");
  ::close(fd);
  std::remove(secret.c_str());
  rmdir(dir_template);
}

TEST_F(SupervisedProbe, InternetSocketsWhenAsked) {
  start({"--internet"});
  auto channel = ready_child(1);
  ASSERT_TRUE(channel);
  EXPECT_EQ(ask(*channel, probe::kAttempt, "socket-inet"), "allowed");
  EXPECT_EQ(ask(*channel, probe::kAttempt, "socket-netlink"), "EPERM");
  EXPECT_EQ(ask(*channel, probe::kAttempt, "execve"), "EPERM");
}

TEST_F(SupervisedProbe, CrashIsReportedAndTheChildRestarted) {
  start();
  auto first = ready_child(1);
  ASSERT_TRUE(first);
  const pid_t first_pid = supervisor_->pid();
  ASSERT_TRUE(first->send(probe::kCrash, {}));
  ASSERT_TRUE(wait_for_exits(1));
  EXPECT_EQ(exits()[0].pid, first_pid);
  EXPECT_EQ(exits()[0].how, "killed by SIGABRT");
  EXPECT_EQ(first->receive(1s).error().kind, ChannelError::Kind::Closed);
  auto second = ready_child(2);
  ASSERT_TRUE(second);
  const pid_t second_pid = supervisor_->pid();
  EXPECT_NE(second_pid, first_pid);
  EXPECT_EQ(ask(*second, probe::kPing, ""), std::to_string(second_pid));
  // Killed from outside: the same.
  ASSERT_EQ(kill(second_pid, SIGKILL), 0);
  ASSERT_TRUE(wait_for_exits(2));
  EXPECT_EQ(exits()[1].how, "killed by SIGKILL");
  auto third = ready_child(3);
  ASSERT_TRUE(third);
  EXPECT_EQ(ask(*third, probe::kPing, ""), std::to_string(supervisor_->pid()));
  EXPECT_EQ(supervisor_->restarts(), 2u);
}

TEST_F(SupervisedProbe, QuickDeathsBackOff) {
  start({}, 20ms);
  for (std::size_t n = 1; n <= 4; ++n) {
    auto channel = ready_child(n);
    ASSERT_TRUE(channel);
    ASSERT_TRUE(channel->send(probe::kCrash, {}));
    ASSERT_TRUE(wait_for_exits(n));
  }
  const auto seen = exits();
  EXPECT_EQ(seen[0].restart_in, 20ms);
  EXPECT_EQ(seen[1].restart_in, 40ms);
  EXPECT_EQ(seen[2].restart_in, 80ms);
  EXPECT_EQ(seen[3].restart_in, 160ms);
}

TEST_F(SupervisedProbe, StopEndsTheChild) {
  start();
  ASSERT_TRUE(ready_child(1));
  const pid_t pid = supervisor_->pid();
  supervisor_->stop();
  EXPECT_EQ(supervisor_->pid(), -1);
  EXPECT_NE(kill(pid, 0), 0);   // reaped: the pid is gone
  EXPECT_TRUE(exits().empty());   // a stop is not a crash
}

TEST(Supervisor, RefusesARelativeProgramAndReportsOneThatCannotStart) {
  auto relative = Supervisor::start({"probe", {"privsep_probe"}}, {}, {});
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().find("absolute"), std::string::npos);
  auto missing = Supervisor::start({"probe", {"/nonexistent/privsep_probe"}}, {}, {});
  ASSERT_FALSE(missing);   // glibc's posix_spawn reports the exec's failure
  EXPECT_NE(missing.error().find("/nonexistent/privsep_probe"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace ward::agent::privsep
