// FetchProcess (wardd's side of the directory fetcher) against a fetcher that was taken over or is
// broken (hostile_fetch_child, started by FetchProcess's Supervisor in the real sandbox as
// `nobody`): every malformed or hostile answer is refused with the reason, the child is ended and
// a new one started, and through PolicyUpdater the enforced policy is never replaced by what was
// refused. An honest answer larger than one message comes through in parts. Needs root.
#include "agent/daemon/fetch_process.h"

#include <signal.h>

#include <atomic>
#include <mutex>
#include <vector>
#include <stdlib.h>
#include <unistd.h>

#include "agent/daemon/test_fixture.h"

namespace ward::agent::daemon::testing {
namespace {

using namespace std::chrono_literals;

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class FetchProcessTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the fetcher changes uid)";
    DaemonFixture::SetUp();
  }

  // A FetchProcess running hostile_fetch_child with `modes` (its header), started.
  std::unique_ptr<FetchProcess> fetcher(const std::string& modes, std::chrono::milliseconds hang_limit = 5s) {
    ::setenv("WARD_HOSTILE_FETCH", modes.c_str(), 1);
    ::setenv("WARD_HOSTILE_POLICY_FILE", (model::testing::source_dir() + "/schemas/examples/legal-policy.json").c_str(), 1);
    DirectorySourceSettings settings;
    settings.session.uris = {"ldap://127.0.0.1:1"};
    settings.domain_dn = "DC=example,DC=test";
    settings.computer_account = "HOSTILE$";
    settings.site_dn = "CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test";
    FetchProcessOptions options;
    options.argv = {HOSTILE_FETCH_CHILD_PATH, "--privsep-child", "fetch", "--user", "nobody"};
    options.user = "nobody";
    options.hang_limit = hang_limit;
    options.first_restart_delay = 20ms;
    auto process = std::make_unique<FetchProcess>(std::move(settings), std::move(options), log_);
    auto started = process->start();
    EXPECT_TRUE(started) << started.error();
    EXPECT_TRUE(eventually([&] { return process->child_pid() > 0; }));
    return process;
  }
};

TEST_F(FetchProcessTest, AnHonestAnswerLargerThanAMessageComesThroughInParts) {
  auto process = fetcher("good-big");
  auto fetched = process->fetch();
  ASSERT_TRUE(fetched) << fetched.error().message << "\n" << log_text_.str();
  EXPECT_EQ(fetched->policy.name, "Policy from the fetcher");
  EXPECT_EQ(fetched->policy.description.size(), 200u * 1024);
  EXPECT_EQ(fetched->source.policy_dn, "CN=ipsecPolicy{hostile}");
}

TEST_F(FetchProcessTest, EveryMalformedOrHostileAnswerIsRefusedWithItsReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "fetch answer: outcome at byte 8: value out of range"},
      {"oversize", "an answer of " + std::to_string(fetchproc::kMaxAnswerBytes + 1) + " bytes exceeds the limit"},
      {"overrun", "part at byte 0 has 200 bytes, 100 expected"},
      {"wrong-serial", "the answer names request 2, not 1"},
      {"bad-policy", "its policy JSON does not parse: "},
  };
  for (const auto& [mode, reason] : cases) {
    SCOPED_TRACE(mode);
    log_text_.str("");
    auto process = fetcher(mode);
    const pid_t first = process->child_pid();
    auto fetched = process->fetch();
    ASSERT_FALSE(fetched);
    std::cout << mode << ": " << fetched.error().message << "\n";
    EXPECT_EQ(fetched.error().kind, FetchError::Kind::Unavailable);
    EXPECT_NE(fetched.error().message.find("sent an answer wardd refuses: " + reason), std::string::npos) << fetched.error().message;
    EXPECT_NE(log_text_.str().find("event=fetch-process-answer-refused pid=" + std::to_string(first)), std::string::npos)
        << log_text_.str();
    // A child that broke the protocol is ended and replaced.
    EXPECT_TRUE(eventually([&] { return process->child_pid() > 0 && process->child_pid() != first; })) << log_text_.str();
    EXPECT_NE(log_text_.str().find("event=fetch-process-exited pid=" + std::to_string(first) + " how=\"killed by SIGKILL\""),
              std::string::npos)
        << log_text_.str();
  }
}

TEST_F(FetchProcessTest, AChildCannotWriteWarddsOwnEvents) {
  auto process = fetcher("forged-event");
  auto fetched = process->fetch();
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().kind, FetchError::Kind::NotAssigned);
  const std::string log = log_text_.str();
  EXPECT_EQ(log.find("level=info event=policy-applied"), std::string::npos) << log;
  EXPECT_NE(log.find("event=fetch-process-event event=policy-applied policy=forged process=fetch"), std::string::npos) << log;
  EXPECT_NE(log.find("event=directory-fetch uri=ldap://hostile process=fetch"), std::string::npos) << log;
}

TEST_F(FetchProcessTest, AHungOrCrashedChildFailsTheFetchAndIsReplaced) {
  for (const std::string mode : {"hang", "crash"}) {
    SCOPED_TRACE(mode);
    log_text_.str("");
    // The limit also bounds the replacement's answer: 300 ms was too little for it under ASan
    // beside other tests (a clean CI run).
    auto process = fetcher(mode + ",good-big", 1500ms);
    const pid_t first = process->child_pid();
    auto fetched = process->fetch();
    ASSERT_FALSE(fetched);
    std::cout << mode << ": " << fetched.error().message << "\n";
    EXPECT_EQ(fetched.error().kind, FetchError::Kind::Unavailable);
    EXPECT_NE(fetched.error().message.find(mode == "hang" ? "did not answer within 1500 ms" : "ended during the fetch"),
              std::string::npos)
        << fetched.error().message;
    if (mode == "hang") {
      EXPECT_NE(log_text_.str().find("event=fetch-process-hung pid=" + std::to_string(first)), std::string::npos);
    }
    ASSERT_TRUE(eventually([&] { return process->child_pid() > 0 && process->child_pid() != first; })) << log_text_.str();
    auto again = process->fetch();
    EXPECT_TRUE(again) << again.error().message;
  }
}

// The change watch's notes (kWatchChange, kWatchLog) from a child that was taken over: a flood
// asks for a refresh at most once per kMinWatchTriggerSpacing, its events are bounded per minute
// and never carry wardd's own names; a malformed note, or a kKeep left unanswered, replaces it.
TEST_F(FetchProcessTest, AFloodOfWatchNotesIsThrottledAndKeptToItsNames) {
  ::setenv("WARD_HOSTILE_WATCH", "flood", 1);
  auto process = fetcher("good-big");
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> triggers;
  process->start_watch([&](std::string_view reason) {
    EXPECT_EQ(reason, "directory-change");
    const std::lock_guard lock(mutex);
    triggers.push_back(std::chrono::steady_clock::now());
  });
  const auto count = [&] {
    const std::lock_guard lock(mutex);
    return triggers.size();
  };
  ASSERT_TRUE(eventually([&] { return count() >= 1; })) << log_text_.str();
  // The flood is sent at once; wardd reads it for a while (longer under ASan): one more refresh
  // at most per kMinWatchTriggerSpacing meanwhile.
  std::this_thread::sleep_for(1s);
  process->stop_watch();
  const std::string log = log_text_.str();
  const std::lock_guard lock(mutex);
  std::cout << "1,000 change notes: " << triggers.size() << " refreshes asked\n";
  EXPECT_LE(triggers.size(), 6u);
  for (std::size_t i = 1; i < triggers.size(); ++i) {
    EXPECT_GE(triggers[i] - triggers[i - 1], kMinWatchTriggerSpacing - 10ms) << "refresh " << i;
  }
  EXPECT_EQ(log.find("level=info event=policy-applied"), std::string::npos) << log;
  EXPECT_NE(log.find("event=fetch-process-event event=policy-applied policy=forged process=fetch"), std::string::npos) << log;
  std::size_t relogged = 0;
  for (auto at = log.find("event=change-watch-lost n="); at != std::string::npos; at = log.find("event=change-watch-lost n=", at + 1)) {
    ++relogged;
  }
  EXPECT_EQ(relogged, kMaxWatchLogsPerMinute - 1) << log;   // the forged event took one of the minute's
  ::unsetenv("WARD_HOSTILE_WATCH");
}

TEST_F(FetchProcessTest, AMalformedWatchNoteOrAnUnansweredKeepReplacesTheChild) {
  // The malformed notes get the default hang limit: under ASan and a loaded run a first child
  // could take more than 300 ms to answer and be killed as hung before it sent its note.
  struct Case {
    std::string mode;
    std::string line;
    std::chrono::milliseconds hang_limit;
  };
  const std::vector<Case> cases = {
      {"garbage", "event=fetch-process-note-refused pid=%d why=\"watch change: reason at byte 0: value out of range\"", 5s},
      {"too-many-dns", "event=fetch-process-note-refused pid=%d why=\"a change note names 33 DNs (at most 32)\"", 5s},
      {"hang-keep", "event=fetch-process-hung pid=%d limit_ms=300", 300ms},
  };
  for (const auto& [mode, line, hang_limit] : cases) {
    SCOPED_TRACE(mode);
    log_text_.str("");
    ::setenv("WARD_HOSTILE_WATCH", mode.c_str(), 1);
    auto process = fetcher("good-big", hang_limit);
    const pid_t first = process->child_pid();
    process->start_watch([](std::string_view) {});
    std::string expected = line;
    expected.replace(expected.find("%d"), 2, std::to_string(first));
    EXPECT_TRUE(eventually([&] { return log_text_.str().find(expected) != std::string::npos; })) << log_text_.str();
    EXPECT_TRUE(eventually([&] { return process->child_pid() > 0 && process->child_pid() != first; })) << log_text_.str();
    EXPECT_NE(log_text_.str().find("event=change-watch-lost pid=" + std::to_string(first)), std::string::npos) << log_text_.str();
    process->stop_watch();
  }
  ::unsetenv("WARD_HOSTILE_WATCH");
}

// Through PolicyUpdater, as in wardd: what the fetcher sends replaces the policy only when it is a
// policy wardd parses and validates; a refused answer keeps the enforced one (and the cache).
TEST_F(FetchProcessTest, ARefusedAnswerNeverReplacesTheEnforcedPolicy) {
  auto process = fetcher("good-big,bad-policy,garbage,good-big");
  PolicyUpdater updater(process.get(), *cache_, *applier_, *state_, log_, clock_, {*IpAddress::parse(kHostAddress)}, std::nullopt);
  updater.start();
  ASSERT_FALSE(updater.refresh("test").failed) << log_text_.str();
  ASSERT_EQ(state_->current()->policy.name, "Policy from the fetcher");
  for (int refused = 0; refused < 2; ++refused) {
    const pid_t before = process->child_pid();
    const auto outcome = updater.refresh("test");
    EXPECT_TRUE(outcome.failed);
    EXPECT_NE(outcome.message.find("sent an answer wardd refuses"), std::string::npos) << outcome.message;
    EXPECT_EQ(state_->current()->policy.name, "Policy from the fetcher");
    EXPECT_EQ(state_->current()->policy.description.size(), 200u * 1024);
    ASSERT_TRUE(eventually([&] { return process->child_pid() > 0 && process->child_pid() != before; }));
  }
  EXPECT_FALSE(updater.refresh("test").failed) << log_text_.str();
}

}  // namespace
}  // namespace ward::agent::daemon::testing
