// provision_through_cache: a tree is provisioned once per key, copied with its paths rewritten,
// and a failed, stale or foreign tree is never handed out as done.
#include "tests/harness/provision_cache.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

namespace ward::test {
namespace {

class ProvisionCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::create("provision-cache-test");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_.emplace(std::move(*dir));
  }
  std::filesystem::path cache() const { return dir_->path() / "cache"; }
  std::filesystem::path target(const std::string& name) const {
    const auto path = dir_->path() / name;
    std::filesystem::create_directories(path);
    return path;
  }
  // A provision that names its own root in a config file and counts its runs.
  std::function<Expected<void, HarnessError>(const std::filesystem::path&)> provision(const std::string& content) {
    return [this, content](const std::filesystem::path& root) -> Expected<void, HarnessError> {
      ++runs_;
      std::filesystem::create_directories(root / "etc");
      if (auto w = write_file(root / "etc" / "app.conf", "dir = " + root.string() + "\nlog = " + root.string() + "/log\n"); !w) {
        return unexpected(w.error());
      }
      return write_file(root / "data", content);
    };
  }

  std::optional<TempDir> dir_;
  int runs_ = 0;
};

TEST_F(ProvisionCacheTest, ProvisionsOnceAndEveryCopyNamesItsOwnPath) {
  const auto first = target("first");
  auto made = provision_through_cache(cache(), "app", "key one", first, {"etc/app.conf"}, provision("one"));
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_FALSE(*made) << "the first call provisions";
  const auto second = target("second");
  auto copied = provision_through_cache(cache(), "app", "key one", second, {"etc/app.conf"}, provision("other"));
  ASSERT_TRUE(copied) << copied.error().to_string();
  EXPECT_TRUE(*copied);
  EXPECT_EQ(runs_, 1);
  for (const auto& dir : {first, second}) {
    EXPECT_EQ(read_text(dir / "etc" / "app.conf"), "dir = " + dir.string() + "\nlog = " + dir.string() + "/log\n");
    EXPECT_EQ(read_text(dir / "data"), "one");
    EXPECT_FALSE(std::filesystem::exists(dir / "key.txt"));
  }
}

TEST_F(ProvisionCacheTest, AnotherKeyGetsATreeOfItsOwn) {
  ASSERT_TRUE(provision_through_cache(cache(), "app", "key one", target("a"), {"etc/app.conf"}, provision("one")));
  auto other = provision_through_cache(cache(), "app", "key two", target("b"), {"etc/app.conf"}, provision("two"));
  ASSERT_TRUE(other) << other.error().to_string();
  EXPECT_FALSE(*other);
  EXPECT_EQ(read_text(target("b") / "data"), "two");
  EXPECT_EQ(runs_, 2);
}

TEST_F(ProvisionCacheTest, AFailedProvisionLeavesNothingAndTheNextOneRunsAgain) {
  auto failing = [this](const std::filesystem::path& root) -> Expected<void, HarnessError> {
    ++runs_;
    (void)write_file(root / "data", "half");
    return unexpected(HarnessError{"provision", "refused on purpose"});
  };
  auto failed = provision_through_cache(cache(), "app", "key", target("a"), {}, failing);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().to_string(), "provision: refused on purpose");
  EXPECT_FALSE(std::filesystem::exists(target("a") / "data"));
  auto made = provision_through_cache(cache(), "app", "key", target("b"), {"etc/app.conf"}, provision("whole"));
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_FALSE(*made);
  EXPECT_EQ(read_text(target("b") / "data"), "whole");
  EXPECT_EQ(runs_, 2);
}

TEST_F(ProvisionCacheTest, ATreeMadeForAnotherKeyIsMadeAgain) {
  ASSERT_TRUE(provision_through_cache(cache(), "app", "key", target("a"), {}, provision("old")));
  // What a hash collision, or a tree from an older Samba, looks like: the key beside it differs.
  for (const auto& entry : std::filesystem::directory_iterator(cache())) {
    if (entry.is_directory()) {
      ASSERT_TRUE(write_file(entry.path() / "key.txt", "another key"));
    }
  }
  auto made = provision_through_cache(cache(), "app", "key", target("b"), {}, provision("new"));
  ASSERT_TRUE(made) << made.error().to_string();
  EXPECT_FALSE(*made);
  EXPECT_EQ(read_text(target("b") / "data"), "new");
}

TEST_F(ProvisionCacheTest, ProcessesWantingTheSameTreeWaitForTheOneMakingIt) {
  constexpr int kProcesses = 4;
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    const auto dir = target("p" + std::to_string(i));
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each process counts its own provisions in the tree it makes: a second one would leave 2.
      auto slow = [](const std::filesystem::path& root) -> Expected<void, HarnessError> {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return write_file(root / "data", "made by " + std::to_string(::getpid()));
      };
      auto made = provision_through_cache(cache(), "app", "shared", dir, {}, slow);
      ::_exit(made ? (*made ? 10 : 11) : 1);
    }
    children.push_back(pid);
  }
  int provisioned = 0, copied = 0;
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 11) ++provisioned;
    if (WEXITSTATUS(status) == 10) ++copied;
  }
  EXPECT_EQ(provisioned, 1);
  EXPECT_EQ(copied, kProcesses - 1);
  const auto made_by = read_text(target("p0") / "data");
  for (int i = 1; i < kProcesses; ++i) EXPECT_EQ(read_text(target("p" + std::to_string(i)) / "data"), made_by);
}

}  // namespace
}  // namespace ward::test
