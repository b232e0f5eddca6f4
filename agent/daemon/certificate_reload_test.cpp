#include "agent/daemon/certificate_reload.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "ike/auth/certificate_provider.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::daemon {
namespace {

// A host certificate from a root CA, the trust store a directory holding the root.
class CertificateReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::create("certificate-reload");
    ASSERT_TRUE(dir) << dir.error().to_string();
    dir_ = std::make_unique<test::TempDir>(std::move(*dir));
    auto root = test::make_rsa_ca(dir_->path(), "root", "/O=Ward/CN=Reload Root");
    ASSERT_TRUE(root) << root.error().to_string();
    root_ = *root;
    auto host = test::issue_rsa_certificate(root_, dir_->path(), "host", "/O=Ward/CN=host.ward.test",
                                            test::RsaCertificateOptions{{"IP:10.0.0.1"}, "", "", 10, {}});
    ASSERT_TRUE(host) << host.error().to_string();
    host_ = *host;
    trust_ = dir_->path() / "trust";
    std::filesystem::create_directories(trust_);
    std::filesystem::copy_file(root_.certificate, trust_ / "root.crt");
    settings_.certificate = host_.certificate;
    settings_.private_key = host_.private_key;
    settings_.trust = trust_;
  }

  std::unique_ptr<test::TempDir> dir_;
  test::TestCa root_;
  test::TestCertificate host_;
  std::filesystem::path trust_;
  config::CertificateSettings settings_;
};

TEST_F(CertificateReloadTest, NothingIsLoadedWhileTheFilesStayAsTheyWere) {
  CertificateReloader reloader(settings_);
  EXPECT_FALSE(reloader.reload_if_changed());
  EXPECT_FALSE(reloader.reload_if_changed());
}

TEST_F(CertificateReloadTest, ACrlAddedToTheTrustDirectoryIsLoaded) {
  auto before = load_certificates(settings_);
  ASSERT_TRUE(before) << before.error();
  EXPECT_EQ((*before)->crl_count(), 0U);
  CertificateReloader reloader(settings_);
  auto crl = test::make_crl(root_, trust_, "root");
  ASSERT_TRUE(crl) << crl.error().to_string();
  auto reloaded = reloader.reload_if_changed();
  ASSERT_TRUE(reloaded);
  ASSERT_TRUE(reloaded->credentials) << reloaded->error;
  EXPECT_EQ(reloaded->credentials->crl_count(), 1U);
  EXPECT_EQ(reloaded->credentials->trusted_ca_count(), 1U);
  EXPECT_FALSE(reloader.reload_if_changed()) << "loaded once per change";
}

TEST_F(CertificateReloadTest, ARewrittenFileIsAChangeEvenWithTheSameSize) {
  CertificateReloader reloader(settings_);
  // The same bytes written again (a new inode, as `cp` over it or an atomic rename makes).
  const auto text = test::read_text(trust_ / "root.crt");
  std::filesystem::remove(trust_ / "root.crt");
  ASSERT_TRUE(test::write_file(trust_ / "root.crt", text));
  auto reloaded = reloader.reload_if_changed();
  ASSERT_TRUE(reloaded);
  EXPECT_TRUE(reloaded->credentials) << reloaded->error;
}

TEST_F(CertificateReloadTest, FilesThatDoNotLoadAreReportedOnceAndTriedAgainWhenTheyChange) {
  CertificateReloader reloader(settings_);
  // A CRL copied half-way: not PEM yet.
  ASSERT_TRUE(test::write_file(trust_ / "root.crl", "-----BEGIN X509 CRL-----\nMIIB\n"));
  auto failed = reloader.reload_if_changed();
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->credentials);
  EXPECT_NE(failed->error.find("root.crl"), std::string::npos) << "names the file: " << failed->error;
  EXPECT_FALSE(reloader.reload_if_changed()) << "the same broken state is reported once";
  std::filesystem::remove(trust_ / "root.crl");
  auto crl = test::make_crl(root_, trust_, "root");
  ASSERT_TRUE(crl) << crl.error().to_string();
  auto fixed = reloader.reload_if_changed();
  ASSERT_TRUE(fixed);
  ASSERT_TRUE(fixed->credentials) << fixed->error;
  EXPECT_EQ(fixed->credentials->crl_count(), 1U);
}

TEST_F(CertificateReloadTest, ARenewedCertificateIsLoaded) {
  CertificateReloader reloader(settings_);
  auto renewed = test::issue_rsa_certificate(root_, dir_->path(), "renewed", "/O=Ward/CN=renewed.ward.test",
                                             test::RsaCertificateOptions{{"IP:10.0.0.1"}, "", "", 10, host_.private_key});
  ASSERT_TRUE(renewed) << renewed.error().to_string();
  std::filesystem::copy_file(renewed->certificate, host_.certificate, std::filesystem::copy_options::overwrite_existing);
  auto reloaded = reloader.reload_if_changed();
  ASSERT_TRUE(reloaded);
  ASSERT_TRUE(reloaded->credentials) << reloaded->error;
  EXPECT_NE(reloaded->credentials->subject().find("renewed.ward.test"), std::string::npos) << reloaded->credentials->subject();
}

}  // namespace
}  // namespace ward::agent::daemon
