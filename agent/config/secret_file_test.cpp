// check_secret_file: what wardd accepts of a file holding a secret, and what it says when it refuses.
#include "agent/config/secret_file.h"

#include <gtest/gtest.h>

#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ward::agent::config {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ward-secret-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    file_ = dir_ / "host.keytab";
    std::ofstream(file_) << "not a real keytab: only its owner and mode matter here\n";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void mode(mode_t m) { ASSERT_EQ(::chmod(file_.c_str(), m), 0); }
  std::string refusal() {
    auto checked = check_secret_file(file_, "[directory] keytab");
    EXPECT_FALSE(checked.has_value()) << file_;
    return checked ? std::string() : checked.error();
  }

  std::filesystem::path dir_, file_;
};

TEST_F(SecretFileTest, OwnerOnlyModesAreAccepted) {
  for (mode_t m : {0600, 0400, 0700}) {
    mode(m);
    auto checked = check_secret_file(file_, "[directory] keytab");
    EXPECT_TRUE(checked.has_value()) << std::oct << m << ": " << checked.error();
  }
}

TEST_F(SecretFileTest, WorldReadableIsRefusedNamingFileModeOwnerAndTheFix) {
  if (::geteuid() != 0) GTEST_SKIP() << "the message names owner root: run as root";
  ASSERT_EQ(::chown(file_.c_str(), 0, 0), 0);
  mode(0644);
  EXPECT_EQ(refusal(), "[directory] keytab " + file_.string() +
                           " is readable by others (mode 0644, owner root, group root): it holds a secret, so wardd "
                           "refuses it; make it readable by its owner only: chmod 600 " + file_.string());
  mode(0602);
  EXPECT_NE(refusal().find(" is open to others (mode 0602,"), std::string::npos);
}

// A dedicated group (here "nogroup", or any group but the owner's) is refused like any other:
// wardd cannot vouch for the group's members.
TEST_F(SecretFileTest, GroupReadableIsRefusedWhateverTheGroup) {
  mode(0640);
  EXPECT_NE(refusal().find(" is readable by its group "), std::string::npos);
  if (::geteuid() == 0) {
    const group* nogroup = ::getgrnam("nogroup");
    ASSERT_NE(nogroup, nullptr);
    ASSERT_EQ(::chown(file_.c_str(), 0, nogroup->gr_gid), 0);
    EXPECT_NE(refusal().find("is readable by its group nogroup (mode 0640, owner root, group nogroup)"),
              std::string::npos);
  }
  mode(0620);
  EXPECT_NE(refusal().find(" is open to its group "), std::string::npos);
}

TEST_F(SecretFileTest, OwnedByAnotherUserIsRefusedEvenWhenPrivate) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file away needs root";
  ASSERT_EQ(::chown(file_.c_str(), 65534, 65534), 0);  // nobody:nogroup
  mode(0600);
  const auto text = refusal();
  EXPECT_NE(text.find("[directory] keytab " + file_.string() + " is owned by nobody, not by root who reads it "
                      "(mode 0600, owner nobody, group nogroup): its owner could replace the secret, so wardd "
                      "refuses it; chown root " + file_.string()),
            std::string::npos)
      << text;
}

TEST_F(SecretFileTest, SymbolicLinkIsJudgedByTheFileItNames) {
  const auto link = dir_ / "krb5.keytab";
  std::filesystem::create_symlink(file_, link);
  mode(0600);
  auto checked = check_secret_file(link, "[directory] keytab");
  EXPECT_TRUE(checked.has_value()) << checked.error();
  mode(0644);
  auto open = check_secret_file(link, "[directory] keytab");
  ASSERT_FALSE(open.has_value());
  EXPECT_NE(open.error().find("(mode 0644"), std::string::npos) << open.error();
}

TEST_F(SecretFileTest, MissingFileAndDirectoryAreRefused) {
  auto missing = check_secret_file(dir_ / "absent", "[monitor] tls_key");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), "cannot read [monitor] tls_key " + (dir_ / "absent").string() + ": No such file or directory");
  auto directory = check_secret_file(dir_, "[monitor] tls_key");
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error(), "[monitor] tls_key " + dir_.string() + " is not a regular file");
}

}  // namespace
}  // namespace ward::agent::config
