// KeyProcess against the real key process (`wardd --privsep-child keys --user nobody`, in its
// sandbox): what it refuses and why, signatures that verify with the certificate, SKEYID equal to
// wardd's own, and a SIGKILLed key process replaced with every key sent again (root). Kerberos,
// against a real MIT krb5kdc: the acceptor's and the initiator's GSS-API steps run in the key
// process with the keytab it alone read (each against an in-process peer, the HASH payloads
// verifying both ways; the initiator's KDC messages sent on by this process as wardd does), a keytab it cannot use is refused naming the file and why, a keytab replaced on disk is
// sent again, a killed key process is replaced and accepts again, and the directory bind's TGT is
// got there, marshalled as the fetch process adopts it.
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

#include "agent/daemon/key_kerberos.h"
#include "directory/ldap/kerberos_client.h"
#include "ike/auth/certificate_provider.h"
#include "ike/auth/kerberos_provider.h"
#include "ike/auth/preshared_key.h"
#include "ike/auth/signature.h"
#include "tests/harness/kdc_instance.h"
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
  EXPECT_NE(odd.error().find("a 17-byte input is neither a hash nor a DigestInfo"), std::string::npos) << odd.error();
  auto unknown = keys_->sign(*generation + 7, hash);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no certificate key has generation"), std::string::npos) << unknown.error();
}

// IKEv2's AUTH (ike/v2/signature_auth.h): the IKE process asks for RSA PKCS#1 v1.5 over a
// DigestInfo it built from the signed octets, or for ECDSA over the hash with an ECDSA key; both
// verify as signatures of the octets. 51 bytes that are not a DigestInfo are refused.
TEST_F(KeyProcessTest, SignsIkev2DigestInfosAndWithAnEcdsaKey) {
  const std::vector<std::byte> octets(300, std::byte{0x5c});
  auto public_key = [](const std::filesystem::path& certificate) {
    FILE* f = std::fopen(certificate.c_str(), "r");
    X509* cert = f != nullptr ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
    if (f != nullptr) std::fclose(f);
    return std::shared_ptr<X509>(cert, X509_free);
  };
  auto rsa = keys_->load_certificate_key(pem(host_.certificate), host_.private_key);
  ASSERT_TRUE(rsa) << rsa.error();
  auto digest_info = ike::auth::digest_to_sign(ike::auth::KeyKind::Rsa, ike::auth::SignatureHash::Sha256, octets);
  ASSERT_TRUE(digest_info) << digest_info.error();
  EXPECT_EQ(digest_info->size(), 51U);
  auto signature = keys_->sign(*rsa, *digest_info);
  ASSERT_TRUE(signature) << signature.error();
  const auto rsa_cert = public_key(host_.certificate);
  EXPECT_TRUE(ike::auth::verify_signature(X509_get0_pubkey(rsa_cert.get()), ike::auth::SignatureHash::Sha256, octets, *signature));
  auto not_digest_info = *digest_info;
  not_digest_info[4] = std::byte{0x07};   // the OID's tag
  auto refused = keys_->sign(*rsa, not_digest_info);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("a 51-byte input is neither a hash nor a DigestInfo"), std::string::npos) << refused.error();

  auto root = test::make_rsa_ca(dir_, "ec-root", "/O=Ward/CN=Key Test EC Root");
  auto ec_key = test::make_ec_key(dir_, "ec-host", "P-256");
  ASSERT_TRUE(root && ec_key);
  auto ec_host = test::issue_rsa_certificate(*root, dir_, "ec-host", "/O=Ward/CN=ec.ward.test", {{}, "", "", 10, *ec_key});
  ASSERT_TRUE(ec_host) << ec_host.error().to_string();
  auto ec = keys_->load_certificate_key(pem(ec_host->certificate), ec_host->private_key);
  ASSERT_TRUE(ec) << ec.error();
  auto hash = ike::auth::digest_to_sign(ike::auth::KeyKind::EcdsaP256, ike::auth::SignatureHash::Sha256, octets);
  ASSERT_TRUE(hash && hash->size() == 32U);
  auto ecdsa = keys_->sign(*ec, *hash);
  ASSERT_TRUE(ecdsa) << ecdsa.error();
  const auto ec_cert = public_key(ec_host->certificate);
  EXPECT_TRUE(ike::auth::verify_signature(X509_get0_pubkey(ec_cert.get()), ike::auth::SignatureHash::Sha256, octets, *ecdsa));
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

// ---- Kerberos: the acceptor in the key process ------------------------------------------------

class KeyProcessKerberosTest : public KeyProcessTest {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    auto kdc = test::KdcInstance::start({});
    ASSERT_TRUE(kdc.has_value()) << kdc.error().to_string();
    kdc_ = kdc->release();
    krb5_config_ = new test::ScopedEnv("KRB5_CONFIG", kdc_->krb5_config().string());
    for (const char* host : {"a", "b", "rotated"}) {
      ASSERT_TRUE(kdc_->add_principal(principal(host, false)).has_value()) << host;
      ASSERT_TRUE(kdc_->extract_keytab(principal(host, false), keytab(host)).has_value()) << host;
    }
  }
  static void TearDownTestSuite() {
    delete krb5_config_;
    delete kdc_;
    krb5_config_ = nullptr;
    kdc_ = nullptr;
  }
  void SetUp() override {
    KeyProcessTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_NE(kdc_, nullptr) << "the KDC did not start";
  }

  static std::string principal(const std::string& host, bool with_realm = true) {
    return "host/" + host + ".ward.test" + (with_realm ? "@" + kdc_->realm() : "");
  }
  static std::filesystem::path keytab(const std::string& host) { return kdc_->dir() / (host + ".keytab"); }
  // `host` as KerberosProvider takes it; its peer is always `peer`.
  static ike::auth::KerberosConfig config(const std::string& host, const std::string& peer) {
    ike::auth::KerberosConfig c;
    c.keytab = keytab(host);
    c.own_principal = principal(host);
    c.peer_principal = [p = principal(peer)](const IpAddress&) -> Expected<std::string, std::string> { return p; };
    c.replay_cache = "none:";
    return c;
  }

  static ike::ParsedMessage message_of(std::vector<ike::Payload> payloads) {
    ike::ParsedMessage m;
    m.payloads = std::move(payloads);
    return m;
  }

  // Main mode 3 to 6's Kerberos between an in-process initiator (a) and the acceptor `responder`
  // (b's, through the key process): an empty string when both HASH payloads verified, else why.
  // `peer` is set to whom the acceptor says the initiator proved to be.


 public:
  static std::string run_exchange(const ike::auth::AuthProvider& initiator_provider, const ike::auth::AuthProvider& responder_provider,
                                  std::string* peer = nullptr) {
    using ike::auth::Role;
    const auto a = IpAddress::parse("192.0.2.1").value(), b = IpAddress::parse("192.0.2.2").value();
    const auto initiator = initiator_provider.for_exchange(Role::Initiator, b);
    const auto responder = responder_provider.for_exchange(Role::Responder, a);
    if (!initiator || !responder) return "no per-exchange provider";
    auto m3 = initiator->build_key_exchange_payloads(Role::Initiator);
    if (!m3) return "main mode 3: " + m3.error();
    if (auto consumed = responder->consume_key_exchange_payloads(Role::Initiator, message_of(*m3)); !consumed) return consumed.error();
    auto m4 = responder->build_key_exchange_payloads(Role::Responder);
    if (!m4) return "main mode 4: " + m4.error();
    if (auto consumed = initiator->consume_key_exchange_payloads(Role::Responder, message_of(*m4)); !consumed) return consumed.error();
    const std::string skeyid_text = "an SKEYID both ends derived....";
    const SecureBytes skeyid = bytes_of(skeyid_text);
    const std::vector<std::byte> g_xi(32, std::byte{1}), g_xr(32, std::byte{2}), cky_i(8, std::byte{3}), cky_r(8, std::byte{4}),
        sai_b(40, std::byte{5}), id_i(12, std::byte{6}), id_r(12, std::byte{7});
    const ike::auth::MainModeTranscript transcript{ike::IkeHashAlgorithm::Sha2_256, &skeyid, g_xi, g_xr, cky_i, cky_r, sai_b};
    auto hash_i = initiator->build_authentication(Role::Initiator, transcript, id_i);
    if (!hash_i) return "HASH_I: " + hash_i.error();
    if (auto checked = responder->check_authentication(Role::Initiator, transcript, id_r, message_of(*hash_i)); checked) {
      return "the acceptor took HASH_I over another ID payload";
    }
    if (auto checked = responder->check_authentication(Role::Initiator, transcript, id_i, message_of(*hash_i)); !checked) {
      return checked.error().text;
    }
    if (peer != nullptr) *peer = responder->peer_identity();
    auto hash_r = responder->build_authentication(Role::Responder, transcript, id_r);
    if (!hash_r) return "HASH_R: " + hash_r.error();
    if (auto checked = initiator->check_authentication(Role::Responder, transcript, id_r, message_of(*hash_r)); !checked) {
      return checked.error().text;
    }
    return {};
  }

  // Whether `pid` has a descriptor of `path` open.
  static bool has_open(pid_t pid, const std::filesystem::path& path) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
      if (std::filesystem::read_symlink(entry.path(), error) == path) return true;
    }
    return false;
  }

  static test::KdcInstance* kdc_;
  static test::ScopedEnv* krb5_config_;
};

test::KdcInstance* KeyProcessKerberosTest::kdc_ = nullptr;
test::ScopedEnv* KeyProcessKerberosTest::krb5_config_ = nullptr;

TEST_F(KeyProcessKerberosTest, TheAcceptorRunsInTheKeyProcessWithTheKeytabItAloneRead) {
  auto loaded = keys_->use_keytab({keytab("b"), principal("b"), ""});
  ASSERT_TRUE(loaded) << loaded.error();
  const ike::auth::KerberosProvider initiator(config("a", "b"));
  auto acceptor_config = config("b", "a");
  acceptor_config.keytab = dir_ / "wardd never opens this";   // the key process's copy is used
  const KeyProcessKerberosProvider acceptor(acceptor_config, *keys_);
  std::string peer;
  EXPECT_EQ(run_exchange(initiator, acceptor, &peer), "");
  EXPECT_EQ(peer, principal("a"));
  for (const pid_t pid : {keys_->child_pid(), ::getpid()}) EXPECT_FALSE(has_open(pid, keytab("b"))) << "pid " << pid << " keeps the keytab open";

  // The principal wardd resolved for the peer is the one the ticket's client must be.
  auto wrong_peer = config("b", "b");
  const KeyProcessKerberosProvider strict(wrong_peer, *keys_);
  const auto refused = run_exchange(initiator, strict);
  EXPECT_NE(refused.find("authenticated as " + principal("a") + ", the policy expects " + principal("b")), std::string::npos) << refused;
}

// The initiator too: the key process gets a TGT and the service ticket with the keytab it read,
// each KDC message sent on by wardd (this process, kdc_relay.h), and its AP-REQ is accepted by an
// in-process acceptor; a principal the KDC does not know is said as such.
TEST_F(KeyProcessKerberosTest, TheInitiatorGetsItsTicketsThroughWarddAndRunsInTheKeyProcess) {
  ASSERT_TRUE(keys_->use_keytab({keytab("a"), principal("a"), ""}));
  auto initiator_config = config("a", "b");
  initiator_config.keytab = dir_ / "wardd never opens this";
  const KeyProcessKerberosProvider initiator(initiator_config, *keys_);
  const ike::auth::KerberosProvider acceptor(config("b", "a"));
  std::string peer;
  EXPECT_EQ(run_exchange(initiator, acceptor, &peer), "");
  EXPECT_EQ(peer, principal("a"));
  EXPECT_FALSE(has_open(keys_->child_pid(), keytab("a")));

  const KeyProcessKerberosProvider lost(config("a", "nobody-here"), *keys_);
  const auto refused = run_exchange(lost, acceptor);
  EXPECT_NE(refused.find("no ticket for " + principal("nobody-here")), std::string::npos) << refused;
  EXPECT_NE(refused.find("not found in Kerberos database"), std::string::npos) << refused;
}

// The directory bind's TGT comes from the key process too: marshalled as the fetch process adopts
// it (KerberosClientCredentials::adopt), for the host's principal, valid now; a principal the
// keytab has no key for is refused.
TEST_F(KeyProcessKerberosTest, TheFetchTgtIsGotByTheKeyProcess) {
  ASSERT_TRUE(keys_->use_keytab({keytab("a"), principal("a"), ""}));
  auto tgt = keys_->tgt(principal("a"));
  ASSERT_TRUE(tgt) << tgt.error();
  const auto text = tgt->ticket.reveal();
  auto adopted = ldap::KerberosClientCredentials::adopt(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()),
                                                        "MEMORY:key-process-test-tgt");
  ASSERT_TRUE(adopted) << adopted.error().step << ": " << adopted.error().message;
  auto end = (*adopted)->initial_ticket_end();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, tgt->end);
  EXPECT_GT(tgt->end, static_cast<std::int64_t>(::time(nullptr)));
  auto refused = keys_->tgt(principal("b"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("no ticket-granting ticket for " + principal("b")), std::string::npos) << refused.error();
}

TEST_F(KeyProcessKerberosTest, AKeytabTheKeyProcessCannotUseIsRefusedNamingTheFileAndWhy) {
  const auto garbage = dir_ / "garbage.keytab";
  ASSERT_TRUE(test::write_file(garbage, "this is no keytab at all"));
  auto not_a_keytab = keys_->use_keytab({garbage, principal("b"), ""});
  ASSERT_FALSE(not_a_keytab);
  EXPECT_NE(not_a_keytab.error().find("keytab " + garbage.string() + " is not a keytab libkrb5 can read"), std::string::npos)
      << not_a_keytab.error();
  auto someone_elses = keys_->use_keytab({keytab("a"), principal("b"), ""});
  ASSERT_FALSE(someone_elses);
  EXPECT_NE(someone_elses.error().find("keytab " + keytab("a").string() + " has no key for " + principal("b")), std::string::npos)
      << someone_elses.error();
  auto missing = keys_->use_keytab({dir_ / "missing.keytab", principal("b"), ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("keytab " + (dir_ / "missing.keytab").string() + " cannot be read: No such file"), std::string::npos)
      << missing.error();
  const ike::auth::KerberosProvider initiator(config("a", "b"));
  const KeyProcessKerberosProvider acceptor(config("b", "a"), *keys_);
  const auto failed = run_exchange(initiator, acceptor);
  EXPECT_NE(failed.find("Kerberos: keytab " + (dir_ / "missing.keytab").string() + " cannot be read"), std::string::npos) << failed;
}

// A keytab replaced on disk (a new key version, as `adcli update` writes) is read again by the key
// process before the next acceptor exchange: the initiator's ticket is under the new key only.
TEST_F(KeyProcessKerberosTest, AKeytabReplacedOnDiskIsSentAgain) {
  const auto in_use = dir_ / "host.keytab";
  std::filesystem::copy_file(keytab("rotated"), in_use);
  ASSERT_TRUE(keys_->use_keytab({in_use, principal("rotated"), ""}));
  const ike::auth::KerberosProvider initiator(config("a", "rotated"));
  const KeyProcessKerberosProvider acceptor(config("rotated", "a"), *keys_);
  EXPECT_EQ(run_exchange(initiator, acceptor), "");
  ASSERT_TRUE(kdc_->kadmin("cpw -randkey " + principal("rotated", false)).has_value());
  const auto fresh = dir_ / "fresh.keytab";
  ASSERT_TRUE(kdc_->extract_keytab(principal("rotated", false), fresh).has_value());
  std::filesystem::rename(fresh, in_use);
  EXPECT_EQ(run_exchange(initiator, acceptor), "");
  // A third key version: the first keytab the key process read is dropped (emptied, closed).
  ASSERT_TRUE(kdc_->kadmin("cpw -randkey " + principal("rotated", false)).has_value());
  ASSERT_TRUE(kdc_->extract_keytab(principal("rotated", false), fresh).has_value());
  std::filesystem::rename(fresh, in_use);
  EXPECT_EQ(run_exchange(initiator, acceptor), "");
}

TEST_F(KeyProcessKerberosTest, AKilledKeyProcessIsReplacedAndAcceptsAgain) {
  ASSERT_TRUE(keys_->use_keytab({keytab("b"), principal("b"), ""}));
  const ike::auth::KerberosProvider initiator(config("a", "b"));
  const KeyProcessKerberosProvider acceptor(config("b", "a"), *keys_);
  ASSERT_EQ(run_exchange(initiator, acceptor), "");
  const pid_t first = keys_->child_pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return keys_->child_pid() > 0 && keys_->child_pid() != first; })) << log_text();
  EXPECT_EQ(run_exchange(initiator, acceptor), "");
  EXPECT_EQ(log_text().find("key-process-keytab-refused"), std::string::npos) << log_text();
}

// A realm the key process's Kerberos configuration does not name (as when an AD member's KDCs are
// found by DNS, which the key process cannot ask: it started before KRB5_CONFIG named this KDC),
// whose KDC clients reach over UDP first and which answers no more than 200 bytes over UDP (a real
// AD ticket with its PAC does not fit a datagram either): the key process still gets its tickets
// (its KDC messages go to wardd, which finds the KDC), and wardd's relay lets the KDC's
// RESPONSE_TOO_BIG through to its own libkrb5, which sends the message again over TCP.
TEST_F(KeyProcessTest, TheKdcRelayResendsOverTcpWhatDoesNotFitUdp) {
  test::KdcOptions options;
  options.realm = "UDP.WARD.TEST";
  options.udp_preference_limit = 65535;
  options.extra_kdcdefaults = " kdc_max_dgram_reply_size = 200\n";
  auto kdc = test::KdcInstance::start(options);
  ASSERT_TRUE(kdc) << kdc.error().to_string();
  const test::ScopedEnv krb5_config("KRB5_CONFIG", (*kdc)->krb5_config().string());
  for (const char* host : {"a", "b"}) {
    ASSERT_TRUE((*kdc)->add_principal("host/" + std::string(host) + ".ward.test"));
    ASSERT_TRUE((*kdc)->extract_keytab("host/" + std::string(host) + ".ward.test", dir_ / (std::string(host) + ".keytab")));
  }
  const std::string a = "host/a.ward.test@UDP.WARD.TEST", b = "host/b.ward.test@UDP.WARD.TEST";
  ASSERT_TRUE(keys_->use_keytab({dir_ / "a.keytab", a, ""}));
  ike::auth::KerberosConfig initiator_config;
  initiator_config.keytab = dir_ / "a.keytab";
  initiator_config.own_principal = a;
  initiator_config.peer_principal = [b](const IpAddress&) -> Expected<std::string, std::string> { return b; };
  ike::auth::KerberosConfig acceptor_config;
  acceptor_config.keytab = dir_ / "b.keytab";
  acceptor_config.own_principal = b;
  acceptor_config.peer_principal = [a](const IpAddress&) -> Expected<std::string, std::string> { return a; };
  acceptor_config.replay_cache = "none:";
  const KeyProcessKerberosProvider initiator(initiator_config, *keys_);
  const ike::auth::KerberosProvider acceptor(acceptor_config);
  EXPECT_EQ(KeyProcessKerberosTest::run_exchange(initiator, acceptor), "");
  // The KDC got each message twice, over UDP then TCP, and answered the second from its lookaside
  // cache: the relay's TCP retry is what got the tickets through.
  std::ifstream log((*kdc)->dir() / "krb5kdc.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("repeated (retransmitted?) request"), std::string::npos) << text;
}

// Not a timed test: prints what a Kerberos main mode's GSS-API steps cost (messages 3 to 6 of one
// side, with its TGT and service ticket as initiator) through the key process, against the same
// steps in process (what wardd did before), in the same run against the same KDC.
TEST_F(KeyProcessKerberosTest, FiguresKerberosStepsThroughTheKeyProcess) {
  constexpr int kExchanges = 20;
  const ike::auth::KerberosProvider local_a(config("a", "b")), local_b(config("b", "a"));
  const KeyProcessKerberosProvider keys_a(config("a", "b"), *keys_), keys_b(config("b", "a"), *keys_);
  auto per_exchange_ms = [](const ike::auth::AuthProvider& initiator, const ike::auth::AuthProvider& responder, bool& ok) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kExchanges; ++i) ok = run_exchange(initiator, responder).empty() && ok;
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kExchanges;
  };
  bool ok = true;
  const double in_process = per_exchange_ms(local_a, local_b, ok);
  ASSERT_TRUE(keys_->use_keytab({keytab("a"), principal("a"), ""}));
  const double initiator_apart = per_exchange_ms(keys_a, local_b, ok);
  ASSERT_TRUE(keys_->use_keytab({keytab("b"), principal("b"), ""}));
  const double acceptor_apart = per_exchange_ms(local_a, keys_b, ok);
  EXPECT_TRUE(ok);
  std::printf("Kerberos main mode (both sides' GSS steps, %d runs): %.2f ms in process; initiator in the key process %.2f ms (x%.2f); "
              "acceptor in the key process %.2f ms (x%.2f)\n",
              kExchanges, in_process, initiator_apart, initiator_apart / in_process, acceptor_apart, acceptor_apart / in_process);
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
