#include "agent/daemon/local_file_source.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/daemon/host_addresses.h"
#include "directory/model/test_support.h"

namespace ward::agent::daemon {
namespace {

class LocalFileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("wardd-source-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / "policy.json") << text; }

  std::filesystem::path dir_;
};

TEST_F(LocalFileSourceTest, ReadsThePolicyWithTheFileTimeAsChangeStamp) {
  write(model::testing::read_text(model::testing::source_dir() + "/schemas/examples/legal-policy.json"));
  LocalFileSource source(dir_ / "policy.json");
  auto fetched = source.fetch();
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->policy.name, "Communication for the Legal Department");
  EXPECT_TRUE(fetched->source.policy_dn.empty());
  EXPECT_FALSE(fetched->source.change_stamp.empty());
  EXPECT_EQ(source.describe(), "file " + (dir_ / "policy.json").string());
}

TEST_F(LocalFileSourceTest, MissingIsUnavailableAndGarbageIsInvalid) {
  LocalFileSource source(dir_ / "policy.json");
  auto missing = source.fetch();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, FetchError::Kind::Unavailable);
  write("{ not json");
  auto garbage = source.fetch();
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().kind, FetchError::Kind::Invalid);
  EXPECT_FALSE(garbage.error().problems.empty());
}

TEST(HostAddressesTest, SortedUniqueWithoutLoopback) {
  auto addresses = host_addresses();
  ASSERT_TRUE(addresses) << addresses.error();
  EXPECT_TRUE(std::is_sorted(addresses->begin(), addresses->end()));
  EXPECT_EQ(std::adjacent_find(addresses->begin(), addresses->end()), addresses->end());
  for (const auto& a : *addresses) EXPECT_NE(a.to_string(), "127.0.0.1");
}

}  // namespace
}  // namespace ward::agent::daemon
