// Ward <-> Ward over real UDP port 500: two network namespaces joined by a veth pair, main mode
// and quick mode carried by the kernel, the resulting SAs installed into two SimDataplanes and a
// packet protected by one and accepted by the other; once with a pre-shared key, once with
// Kerberos against a krb5kdc on loopback (the GSS calls run in the test's own namespace, only the
// IKE sockets live in the two), once with RSA certificates. Skips without root / `ip`.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/auth/certificate_provider.h"
#include "ike/auth/kerberos_provider.h"
#include "ike/auth/preshared_key.h"
#include "ike/net/udp_socket.h"
#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"
#include "tests/harness/kdc_instance.h"
#include "tests/harness/test_ca.h"
#include "tests/netns/netns.h"

namespace ward::ike {
namespace {

using namespace std::chrono_literals;
using driver::crypto::Cipher;
using driver::crypto::Integrity;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
const IpAddress kA = ip("10.77.0.1");
const IpAddress kB = ip("10.77.0.2");
constexpr std::uint32_t kFilterId = 3;

struct NullListener : driver::DataplaneListener {
  void on_acquire(const driver::Acquire&) override {}
  void on_expiry(const driver::SaExpiry&) override {}
};

std::unique_ptr<net::UdpSocket> open_inside(const ward::testing::Netns& ns, const IpAddress& address) {
  std::unique_ptr<net::UdpSocket> socket;
  std::string error;
  ns.run_inside([&] {
    auto bound = net::UdpSocket::bind(address);
    if (bound) socket = std::make_unique<net::UdpSocket>(std::move(*bound));
    else error = bound.error();
  });
  EXPECT_TRUE(socket) << error;
  return socket;
}

// Sends `bytes` from `from` to `to_address`:500 and returns what arrives at `to`.
std::vector<std::byte> carry(const net::UdpSocket& from, const net::UdpSocket& to, const IpAddress& to_address,
                             const IpAddress& from_address, std::span<const std::byte> bytes) {
  EXPECT_TRUE(from.send_to(to_address, net::kIsakmpPort, bytes).has_value());
  auto got = to.receive(2000ms);
  EXPECT_TRUE(got.has_value() && got->has_value()) << "nothing arrived on UDP 500";
  if (!got || !*got) return {};
  EXPECT_EQ((*got)->from, from_address);
  EXPECT_EQ((*got)->port, net::kIsakmpPort);
  return std::move((*got)->bytes);
}

// Main mode and quick mode between the two namespaces with the given authentication, then a
// packet through the SAs. `a_sees` / `b_sees`: the peer identity each side must report.
void run_over_veth(const auth::AuthProvider& auth_a, const auth::AuthProvider& auth_b, const std::string& a_sees = {},
                   const std::string& b_sees = {}) {
  ward::testing::Netns host_a("ike-a"), host_b("ike-b");
  ward::testing::connect_veth(host_a, "10.77.0.1/24", host_b, "10.77.0.2/24");
  auto socket_a = open_inside(host_a, kA);
  auto socket_b = open_inside(host_b, kB);
  ASSERT_TRUE(socket_a && socket_b);

  std::chrono::steady_clock::time_point now{};
  const sa::Clock clock = [&] { return now; };
  auto config = [](const IpAddress& local, const IpAddress& peer) {
    sa::Phase1Config c;
    c.proposals = {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s}};
    c.local = local;
    c.peer = peer;
    return c;
  };

  // Main mode, every message through the kernel.
  auto initiator = sa::Phase1Sa::initiate(config(kA, kB), auth_a, clock);
  auto m1 = initiator->build_main_mode_1();
  ASSERT_TRUE(m1.has_value());
  std::vector<std::byte> m2;
  auto responded = sa::Phase1Sa::respond(config(kB, kA), auth_b, clock, carry(*socket_a, *socket_b, kB, kA, *m1), m2);
  ASSERT_TRUE(responded.has_value()) << responded.error();
  auto responder = std::move(*responded);
  const auto m3 = initiator->handle(carry(*socket_b, *socket_a, kA, kB, m2));
  const auto m4 = responder->handle(carry(*socket_a, *socket_b, kB, kA, m3));
  const auto m5 = initiator->handle(carry(*socket_b, *socket_a, kA, kB, m4));
  const auto m6 = responder->handle(carry(*socket_a, *socket_b, kB, kA, m5));
  initiator->handle(carry(*socket_b, *socket_a, kA, kB, m6));
  ASSERT_TRUE(initiator->established()) << initiator->failure();
  ASSERT_TRUE(responder->established()) << responder->failure();
  EXPECT_EQ(initiator->peer_identity(), a_sees);
  EXPECT_EQ(responder->peer_identity(), b_sees);

  // Quick mode.
  NullListener listener;
  driver::SimDataplane sim_a(listener, {}, [&] { return now; });
  driver::SimDataplane sim_b(listener, {}, [&] { return now; });
  const auto pa = IpPrefix::host(kA);
  const auto pb = IpPrefix::host(kB);
  const driver::FilterTable table{{
      driver::DriverFilter{kFilterId, pa, pb, 0, PortRange::any(), PortRange::any(), driver::FilterAction::Negotiate, 1, {}},
      driver::DriverFilter{kFilterId, pb, pa, 0, PortRange::any(), PortRange::any(), driver::FilterAction::Negotiate, 1, {}}}};
  ASSERT_TRUE(sim_a.install_filter_table(table).has_value());
  ASSERT_TRUE(sim_b.install_filter_table(table).has_value());
  auto quick = [](const IpAddress& local, const IpAddress& peer) {
    sa::QuickModeConfig c;
    c.proposals = {sa::EspProposal{Cipher::AesGcm128, Integrity::None}};
    c.pfs_group = IkeGroupDescription::Ecp256;
    c.local = sa::TrafficSelector{IpPrefix::host(local)};
    c.remote = sa::TrafficSelector{IpPrefix::host(peer)};
    c.filter_id = kFilterId;
    c.peer = peer;
    return c;
  };
  auto qi = sa::QuickModeExchange::initiate(*initiator, quick(kA, kB), sim_a, clock);
  auto q1 = qi->build_quick_mode_1();
  ASSERT_TRUE(q1.has_value());
  std::vector<std::byte> q2;
  auto qr = sa::QuickModeExchange::respond(*responder, quick(kB, kA), sim_b, clock, carry(*socket_a, *socket_b, kB, kA, *q1), q2);
  ASSERT_TRUE(qr.has_value()) << qr.error();
  const auto q3 = qi->handle(carry(*socket_b, *socket_a, kA, kB, q2));
  (*qr)->handle(carry(*socket_a, *socket_b, kB, kA, q3));
  ASSERT_TRUE(qi->done()) << qi->failure();
  ASSERT_TRUE((*qr)->done()) << (*qr)->failure();

  const auto packet = driver::testing::make_packet(kA, kB, 17, 5000, 53, 64);
  const auto sealed = sim_a.send(packet);
  ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
  const auto opened = sim_b.receive(sealed.bytes);
  ASSERT_EQ(opened.disposition, driver::Disposition::AcceptModified);
  EXPECT_EQ(opened.bytes, packet);
}

TEST(IkeOverUdp, WardToWardAcrossAVethPair) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  const auth::PresharedKeyProvider psk_a(auth::preshared_key_from_text("veth secret"));
  const auth::PresharedKeyProvider psk_b(auth::preshared_key_from_text("veth secret"));
  run_over_veth(psk_a, psk_b);
}

TEST(IkeOverUdp, WardToWardWithKerberosAcrossAVethPair) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  auto kdc = test::KdcInstance::start({});
  ASSERT_TRUE(kdc.has_value()) << kdc.error().to_string();
  test::ScopedEnv krb5_config("KRB5_CONFIG", (*kdc)->krb5_config().string());
  const auto dir = (*kdc)->dir();
  for (const char* host : {"host/a.veth.test", "host/b.veth.test"}) ASSERT_TRUE((*kdc)->add_principal(host).has_value());
  ASSERT_TRUE((*kdc)->extract_keytab("host/a.veth.test", dir / "a.keytab").has_value());
  ASSERT_TRUE((*kdc)->extract_keytab("host/b.veth.test", dir / "b.keytab").has_value());
  const std::string a = "host/a.veth.test@" + (*kdc)->realm();
  const std::string b = "host/b.veth.test@" + (*kdc)->realm();
  auto names = [&](const IpAddress& peer) -> Expected<std::string, std::string> {
    if (peer == kA) return a;
    if (peer == kB) return b;
    return unexpected("unknown peer " + peer.to_string());
  };
  const auth::KerberosProvider kerberos_a({dir / "a.keytab", a, "", names, "file2:" + (dir / "rcache-a").string()});
  const auth::KerberosProvider kerberos_b({dir / "b.keytab", b, "", names, "file2:" + (dir / "rcache-b").string()});
  run_over_veth(kerberos_a, kerberos_b, b, a);
}

TEST(IkeOverUdp, WardToWardWithRsaCertificatesAcrossAVethPair) {
  // Certificates from an openssl-made RSA root; CERT + SIG make messages 5/6 over a kilobyte.
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  auto dir = test::TempDir::create("ward-veth-cert");
  ASSERT_TRUE(dir.has_value()) << dir.error().to_string();
  auto ca = test::make_rsa_ca(dir->path(), "root", "/O=Ward/CN=Veth Root");
  ASSERT_TRUE(ca.has_value()) << ca.error().to_string();
  auto credentials = [&](const char* name, const char* address) {
    auto cert = test::issue_rsa_certificate(*ca, dir->path(), name, std::string("/O=Ward/CN=") + name,
                                            test::RsaCertificateOptions{{std::string("IP:") + address}, "", "", 10, {}});
    EXPECT_TRUE(cert.has_value()) << cert.error().to_string();
    auto loaded = auth::CertificateCredentials::load({cert->certificate, cert->private_key, ca->certificate});
    EXPECT_TRUE(loaded.has_value()) << loaded.error();
    return *loaded;
  };
  auto cert_a = auth::CertificateProvider::create(credentials("a.veth.test", "10.77.0.1"), "CN=Veth Root, O=Ward");
  auto cert_b = auth::CertificateProvider::create(credentials("b.veth.test", "10.77.0.2"), "CN=Veth Root, O=Ward");
  ASSERT_TRUE(cert_a.has_value() && cert_b.has_value());
  run_over_veth(**cert_a, **cert_b, "CN=b.veth.test,O=Ward", "CN=a.veth.test,O=Ward");
}

}  // namespace
}  // namespace ward::ike
