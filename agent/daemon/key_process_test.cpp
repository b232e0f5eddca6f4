// KeyProcess against the real key process (`wardd --privsep-child keys --user nobody`, in its
// sandbox): what it refuses and why, signatures that verify with the certificate, SKEYID equal to
// wardd's own, and a SIGKILLed key process replaced with every key sent again (root).
#include "agent/daemon/key_process.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "ike/auth/certificate_provider.h"
#include "ike/auth/preshared_key.h"
#include "tests/harness/process.h"
#include "tests/harness/test_ca.h"

namespace ward::agent::daemon {
namespace {

using namespace std::chrono_literals;
using driver::crypto::SecureBytes;

template <class F>
bool eventually(F condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

SecureBytes bytes_of(const std::string& text) { return SecureBytes(std::as_bytes(std::span(text.data(), text.size()))); }

// RSA PKCS#1 v1.5 over the hash itself, checked with the certificate's public key.
bool verifies(const std::filesystem::path& certificate, std::span<const std::byte> signature, std::span<const std::byte> hash) {
  FILE* file = std::fopen(certificate.c_str(), "r");
  if (file == nullptr) return false;
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  EVP_PKEY_CTX* ctx = key != nullptr ? EVP_PKEY_CTX_new(key, nullptr) : nullptr;
  const bool ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
                  EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  reinterpret_cast<const unsigned char*>(hash.data()), hash.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  X509_free(cert);
  return ok;
}

class KeyProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the key process changes uid)";
    char pattern[] = "/tmp/ward-key-process-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto root = test::make_rsa_ca(dir_, "root", "/O=Ward/CN=Key Test Root");
    ASSERT_TRUE(root) << root.error().to_string();
    auto host = test::issue_rsa_certificate(*root, dir_, "host", "/O=Ward/CN=host.ward.test", {});
    auto other = test::issue_rsa_certificate(*root, dir_, "other", "/O=Ward/CN=other.ward.test", {});
    ASSERT_TRUE(host && other);
    host_ = *host;
    other_ = *other;
    keys_ = std::make_unique<KeyProcess>(log_, std::vector<std::string>{WARDD_PATH, "--privsep-child", "keys", "--user", "nobody"}, "nobody");
    ASSERT_TRUE(keys_->start());
    ASSERT_TRUE(eventually([&] { return log_text().find("key-process-ready") != std::string::npos; })) << log_text();
  }
  void TearDown() override {
    keys_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string log_text() const { return out_.str(); }
  std::string pem(const std::filesystem::path& path) const {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  std::ostringstream out_;
  Logger log_{out_};
  std::filesystem::path dir_;
  test::TestCertificate host_, other_;
  std::unique_ptr<KeyProcess> keys_;
};

TEST_F(KeyProcessTest, SignsWithTheCertificateKeyAndRefusesWhatIsNotAMainModeHash) {
  auto generation = keys_->load_certificate_key(pem(host_.certificate), host_.private_key);
  ASSERT_TRUE(generation) << generation.error();
  const std::vector<std::byte> hash(20, std::byte{0x42});
  auto signature = keys_->sign(*generation, hash);
  ASSERT_TRUE(signature) << signature.error();
  EXPECT_TRUE(verifies(host_.certificate, *signature, hash));
  auto odd = keys_->sign(*generation, std::vector<std::byte>(17, std::byte{1}));
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().find("a 17-byte hash is no main mode hash"), std::string::npos) << odd.error();
  auto unknown = keys_->sign(*generation + 7, hash);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no certificate key has generation"), std::string::npos) << unknown.error();
}

TEST_F(KeyProcessTest, AKeyThatIsNotTheCertificatesIsRefusedNamingTheFile) {
  auto wrong = keys_->load_certificate_key(pem(host_.certificate), other_.private_key);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().find("private key file " + other_.private_key.string() + " does not hold the key of the certificate"),
            std::string::npos)
      << wrong.error();
  auto not_a_key = keys_->load_certificate_key(pem(host_.certificate), host_.certificate);
  ASSERT_FALSE(not_a_key);
  EXPECT_NE(not_a_key.error().find("holds no unencrypted PEM private key"), std::string::npos) << not_a_key.error();
  auto missing = keys_->load_certificate_key(pem(host_.certificate), dir_ / "missing.key");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing.key cannot be opened"), std::string::npos) << missing.error();
}

TEST_F(KeyProcessTest, SkeyidIsWarddsOwnAndAnUnknownHandleIsRefused) {
  keys_->add_preshared_key(5, bytes_of("key process secret"));
  ikeproc::SkeyidRequest request;
  request.handle = 5;
  request.hash = ike::IkeHashAlgorithm::Sha;
  request.ni_b.assign(16, std::byte{1});
  request.nr_b.assign(16, std::byte{2});
  auto skeyid = keys_->skeyid(request);
  ASSERT_TRUE(skeyid) << skeyid.error();
  const ike::auth::PresharedKeyProvider local(bytes_of("key process secret"));
  const auto expected = local.skeyid(request.hash, request.ni_b, request.nr_b, {});
  ASSERT_EQ(skeyid->size(), expected.size());
  EXPECT_TRUE(std::equal(skeyid->reveal().begin(), skeyid->reveal().end(), expected.reveal().begin()));
  request.handle = 6;
  auto unknown = keys_->skeyid(request);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no key has handle 6"), std::string::npos) << unknown.error();
}

// The new key process has every key again: the certificate's (the file opened again) and the
// preshared ones.
TEST_F(KeyProcessTest, AKilledKeyProcessIsReplacedWithEveryKey) {
  keys_->add_preshared_key(1, bytes_of("kept across restarts"));
  auto generation = keys_->load_certificate_key(pem(host_.certificate), host_.private_key);
  ASSERT_TRUE(generation) << generation.error();
  const pid_t first = keys_->child_pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return log_text().find("how=\"killed by SIGKILL\"") != std::string::npos; })) << log_text();
  ASSERT_TRUE(eventually([&] { return keys_->child_pid() > 0 && keys_->child_pid() != first; })) << log_text();
  const std::vector<std::byte> hash(32, std::byte{7});
  auto signature = keys_->sign(*generation, hash);
  ASSERT_TRUE(signature) << signature.error();
  EXPECT_TRUE(verifies(host_.certificate, *signature, hash));
  ikeproc::SkeyidRequest request;
  request.handle = 1;
  request.ni_b.assign(8, std::byte{1});
  request.nr_b.assign(8, std::byte{2});
  EXPECT_TRUE(keys_->skeyid(request));
  EXPECT_EQ(log_text().find("key-process-certificate-refused"), std::string::npos) << log_text();
}

// Not a timed test: prints what a key operation costs through the key process against the same
// operation in wardd's own process (what wardd did before), in the same run.
TEST_F(KeyProcessTest, FiguresSkeyidAndSignatureThroughTheKeyProcess) {
  keys_->add_preshared_key(1, bytes_of("figures"));
  auto generation = keys_->load_certificate_key(pem(host_.certificate), host_.private_key);
  ASSERT_TRUE(generation) << generation.error();
  auto local_key = ike::auth::CertificateKey::from_pem(pem(host_.certificate), pem(host_.private_key), "key");
  ASSERT_TRUE(local_key) << local_key.error();
  const ike::auth::PresharedKeyProvider local(bytes_of("figures"));
  ikeproc::SkeyidRequest request;
  request.handle = 1;
  request.ni_b.assign(32, std::byte{1});
  request.nr_b.assign(32, std::byte{2});
  const std::vector<std::byte> hash(32, std::byte{3});
  auto per_call_us = [](int n, auto&& op) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) op();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
  };
  constexpr int kSkeyids = 2000, kSignatures = 200;
  bool ok = true;
  const double skeyid_remote = per_call_us(kSkeyids, [&] { ok = ok && keys_->skeyid(request).has_value(); });
  const double skeyid_local = per_call_us(kSkeyids, [&] { (void)local.skeyid(request.hash, request.ni_b, request.nr_b, {}); });
  const double sign_remote = per_call_us(kSignatures, [&] { ok = ok && keys_->sign(*generation, hash).has_value(); });
  const double sign_local = per_call_us(kSignatures, [&] { ok = ok && (*local_key)->sign(hash).has_value(); });
  EXPECT_TRUE(ok);
  std::printf("SKEYID (SHA-256 prf): %.1f us through the key process, %.1f us in process (x%.1f)\n", skeyid_remote, skeyid_local,
              skeyid_remote / skeyid_local);
  std::printf("RSA-2048 signature:   %.1f us through the key process, %.1f us in process (x%.2f)\n", sign_remote, sign_local,
              sign_remote / sign_local);
}

}  // namespace
}  // namespace ward::agent::daemon
