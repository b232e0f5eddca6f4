#include "agent/daemon/local_file_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/daemon/host_addresses.h"
#include "directory/model/policy_json.h"
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

// A policy holding a preshared key is a secret: while others can read the file it is refused
// (Invalid: the enforced policy stays), naming the file and the fix. Without a preshared key the
// same file is only a policy and is read.
TEST_F(LocalFileSourceTest, PolicyWithPresharedKeyIsRefusedWhileOthersCanReadIt) {
  auto policy = model::testing::load_example_policy("legal-policy.json");
  const auto file = dir_ / "policy.json";
  write(model::policy_to_json(policy));
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  LocalFileSource source(file);
  auto without_key = source.fetch();
  EXPECT_TRUE(without_key) << without_key.error().message;

  policy.rules.front().auth_methods = {model::AuthMethod::preshared("lab-test-preshared-key")};
  write(model::policy_to_json(policy));
  auto open = source.fetch();
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().kind, FetchError::Kind::Invalid);
  EXPECT_NE(open.error().message.find("[policy] local_file " + file.string() + " is readable by others (mode 0644"),
            std::string::npos)
      << open.error().message;
  EXPECT_NE(open.error().message.find("chmod 600 " + file.string()), std::string::npos) << open.error().message;
  EXPECT_NE(open.error().message.find("(the policy holds a preshared key)"), std::string::npos);
  EXPECT_EQ(open.error().message.find("lab-test-preshared-key"), std::string::npos);

  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto private_file = source.fetch();
  ASSERT_TRUE(private_file) << private_file.error().message;
  EXPECT_EQ(private_file->policy.rules.front().auth_methods.front().kind, model::AuthKind::PresharedKey);
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
