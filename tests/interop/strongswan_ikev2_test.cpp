// Ward's IKEv2 initiator (ike/v2) against strongSwan's charon (charon-systemd, kernel-libipsec) in
// another network namespace, joined by a veth pair. The exchange is driven by this test's UDP loop:
// ike/v2 is not wired into wardd yet (ike/v2/README.md). IKE_SA_INIT on UDP 500; charon with
// libipsec fakes a NAT (its NAT_DETECTION_SOURCE_IP does not match), so Ward must detect it and
// send IKE_AUTH on UDP 4500 behind the non-ESP marker (RFC 7296 2.23, RFC 3948 2.2). Checked:
//  - charon's `swanctl --list-sas` shows the IKE SA ESTABLISHED under the IKE SPIs Ward derived
//    and the CHILD_SA INSTALLED (TUNNEL-in-UDP) under the ESP SPIs Ward chose and received;
//  - the child keys: a packet Ward's SimDataplane protects with the CHILD_SA's outbound SaInstall,
//    sent to charon's port 4500, is counted by charon as decrypted (its `in` bytes grow);
//  - AES-CBC/HMAC-SHA2-256 with MODP-2048 and AES-GCM-16 with ECP-256 for the IKE SA;
//  - a wrong PSK: charon answers AUTHENTICATION_FAILED and Ward gets no CHILD_SA;
//  - charon initiating (`swanctl --initiate`) to Ward's responder units: the same checks;
//  - INFORMATIONAL: Ward's liveness check is answered; charon's DELETE of the CHILD_SA and of the
//    IKE SA (`swanctl --terminate`) are answered by Ward and charon's SA list empties;
//  - CREATE_CHILD_SA from Ward: the IKE SA rekeyed (charon lists the new IKE SPIs Ward derived, the
//    CHILD_SA under it, the old IKE SA deleted), then the CHILD_SA rekeyed with MODP-2048 PFS under
//    the new IKE SA (charon lists the new ESP SPIs and decrypts a packet under the new keys).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "driver/packet/test_packets.h"
#include "driver/sim/sim_dataplane.h"
#include "ike/net/udp_socket.h"
#include "ike/tests/exchange_support.h"
#include "ike/v2/create_child_sa.h"
#include "ike/v2/ike_auth.h"
#include "ike/v2/ike_rekey.h"
#include "ike/v2/informational.h"
#include "tests/harness/process.h"
#include "tests/netns/netns.h"

namespace ward::ike::v2 {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCharon = "/usr/sbin/charon-systemd";
constexpr const char* kSwanctl = "/usr/sbin/swanctl";
constexpr const char* kIp = "/usr/sbin/ip";
constexpr std::uint16_t kIkePort = 500;
constexpr std::uint16_t kNatTPort = 4500;
constexpr std::uint32_t kFilterId = 21;
const IpAddress kWard = *IpAddress::parse("10.77.0.1");
const IpAddress kCharonAddress = *IpAddress::parse("10.77.0.2");

std::string strongswan_conf(const std::filesystem::path& dir) {
  return "charon-systemd {\n  journal {\n    default = -1\n  }\n}\n"
         "charon {\n"
         "  load_modular = no\n"
         "  load = random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf pem pkcs1 pkcs8 x509 pubkey revocation "
         "constraints kernel-libipsec kernel-netlink socket-default vici updown\n"
         "  filelog {\n    charon {\n      path = " + (dir / "charon.log").string() +
         "\n      flush_line = yes\n      default = 1\n      ike = 2\n      cfg = 2\n      enc = 1\n    }\n  }\n"
         "  plugins {\n"
         "    vici {\n      socket = unix://" + (dir / "charon.vici").string() + "\n    }\n"
         "    kernel-libipsec {\n      allow_peer_ts = yes\n    }\n"
         "    kernel-netlink {\n      fwmark = !0x42\n    }\n"
         "    socket-default {\n      fwmark = 0x42\n    }\n"
         "  }\n}\n";
}

std::string swanctl_conf(const std::string& psk, const std::string& proposals, const std::string& esp_proposals) {
  return "connections {\n  ward {\n    version = 2\n    local_addrs = 10.77.0.2\n    remote_addrs = 10.77.0.1\n"
         "    proposals = " + proposals + "\n"
         "    local {\n      auth = psk\n      id = 10.77.0.2\n    }\n"
         "    remote {\n      auth = psk\n      id = 10.77.0.1\n    }\n"
         "    children {\n      ward {\n        local_ts = 10.77.0.2/32\n        remote_ts = 10.77.0.1/32\n"
         "        mode = tunnel\n        esp_proposals = " + esp_proposals + "\n      }\n    }\n  }\n}\n"
         "secrets {\n  ike-ward {\n    id-1 = 10.77.0.1\n    id-2 = 10.77.0.2\n    secret = \"" + psk + "\"\n  }\n}\n";
}

Bytes v4(const IpAddress& a) {
  Bytes b;
  for (std::size_t i = 0; i < 4; ++i) b.push_back(std::byte{a.bytes()[i]});
  return b;
}

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    s += kDigits[std::to_integer<unsigned>(b) >> 4];
    s += kDigits[std::to_integer<unsigned>(b) & 0xf];
  }
  return s;
}

std::string hex32(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

struct Outcome {
  std::optional<IkeSa> sa;
  std::optional<ChildSa> child;
  std::string failure;
  std::optional<NotifyType> tell;   // what Ward's initiator is to tell charon (RFC 7296 2.21.2)
};

class StrongSwanIkev2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
    for (const char* tool : {kCharon, kSwanctl}) {
      if (!std::filesystem::exists(tool)) GTEST_SKIP() << tool << " not installed";
    }
    ward_ns_.emplace("s2-ward");
    charon_ns_.emplace("s2-charon");
    ward::testing::connect_veth(*ward_ns_, "10.77.0.1/24", *charon_ns_, "10.77.0.2/24");
    auto d = test::TempDir::create("ward-ikev2-strongswan");
    ASSERT_TRUE(d) << d.error().to_string();
    dir_.emplace(std::move(*d));
    std::filesystem::create_directories(dir() / "swanctl");
    std::string failed;
    ward_ns_->run_inside([&] {
      auto ike = net::UdpSocket::bind(kWard, kIkePort);
      auto natt = net::UdpSocket::bind(kWard, kNatTPort);
      if (!ike || !natt) {
        failed = !ike ? ike.error() : natt.error();
        return;
      }
      ike_socket_.emplace(std::move(*ike));
      natt_socket_.emplace(std::move(*natt));
    });
    ASSERT_EQ(failed, "");
  }

  void TearDown() override { charon_.reset(); }

  const std::filesystem::path& dir() const { return dir_->path(); }

  void start_charon(const std::string& psk, const std::string& proposals, const std::string& esp_proposals) {
    ASSERT_TRUE(test::write_file(dir() / "strongswan.conf", strongswan_conf(dir())));
    ASSERT_TRUE(test::write_file(dir() / "swanctl" / "swanctl.conf", swanctl_conf(psk, proposals, esp_proposals)));
    const test::Environment env{{"STRONGSWAN_CONF", (dir() / "strongswan.conf").string()}};
    auto started = test::ChildProcess::spawn({kIp, "netns", "exec", charon_ns_->name(), kCharon}, env, dir() / "charon.out");
    ASSERT_TRUE(started) << started.error().to_string();
    charon_.emplace(std::move(*started));
    test::wait_for_unix_listener(dir() / "charon.vici", 10s);
    const auto loaded = swanctl({"--load-all"});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe() << charon_log();
  }

  std::vector<std::string> swanctl_argv(std::vector<std::string> args) const {
    std::vector<std::string> argv{kIp, "netns", "exec", charon_ns_->name(), "/usr/bin/env",
                                  "SWANCTL_DIR=" + (dir() / "swanctl").string(), kSwanctl};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--uri");
    argv.push_back("unix://" + (dir() / "charon.vici").string());
    return argv;
  }
  test::CapturedRun swanctl(std::vector<std::string> args) const { return test::run_captured(swanctl_argv(std::move(args)), dir()); }
  std::string charon_log() const { return "\ncharon log:\n" + test::file_tail(dir() / "charon.log", 4000); }

  // Sends `message` (on 4500 with the non-ESP marker once `floated`) and waits for the answer,
  // resending once a second, three times (the test's stand-in for the service's retransmission).
  Expected<Bytes, std::string> exchange(const Bytes& message, bool floated) {
    const auto& socket = floated ? *natt_socket_ : *ike_socket_;
    Bytes wire;
    if (floated) wire.assign(4, std::byte{0});   // non-ESP marker
    wire.insert(wire.end(), message.begin(), message.end());
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (auto sent = socket.send_to(kCharonAddress, floated ? kNatTPort : kIkePort, wire); !sent) return unexpected(sent.error());
      auto got = socket.receive(1000ms);
      if (!got) return unexpected(got.error());
      if (!*got) continue;
      Bytes bytes = std::move((*got)->bytes);
      if (floated) {
        if (bytes.size() < 4 || bytes[0] != std::byte{0} || bytes[1] != std::byte{0} || bytes[2] != std::byte{0} ||
            bytes[3] != std::byte{0}) {
          return unexpected(std::string("a datagram on 4500 without the non-ESP marker"));
        }
        bytes.erase(bytes.begin(), bytes.begin() + 4);
      }
      return bytes;
    }
    return unexpected(std::string("no answer from charon after three tries"));
  }

  Outcome initiate(const std::string& psk, std::vector<IkeProposal> proposals, std::vector<ChildProposal> esp,
                   const IpAddress& charon_id = kCharonAddress) {
    Outcome out;
    IkeSaInitConfig init{std::move(proposals), {kWard, kIkePort}, {kCharonAddress, kIkePort}};
    auto initiator = IkeSaInitInitiator::create(init);
    if (!initiator) {
      out.failure = initiator.error();
      return out;
    }
    for (int round = 0; round < 3 && !out.sa; ++round) {
      auto response = exchange(initiator->request(), false);
      if (!response) {
        out.failure = response.error();
        return out;
      }
      auto consumed = initiator->consume_response(*response);
      if (!consumed) {
        out.failure = consumed.error();
        return out;
      }
      if (*consumed) out.sa = std::move(**consumed);
    }
    if (!out.sa) {
      out.failure = "IKE_SA_INIT did not complete";
      return out;
    }
    AuthConfig auth{IdType::Ipv4Address, v4(kWard), SecureBytes(std::as_bytes(std::span(psk.data(), psk.size()))),
                    IdPayload{false, IdType::Ipv4Address, v4(charon_id)}, {}};
    ChildSaConfig child = child_config(std::move(esp), out.sa->nat_detected());
    auto spi = random_esp_spi();
    IkeAuthInitiator auth_initiator(*out.sa, auth, child, *spi);
    auto request = auth_initiator.build_request();
    if (!request) {
      out.failure = request.error();
      return out;
    }
    auto response = exchange(*request, out.sa->nat_detected());
    if (!response) {
      out.failure = "IKE_AUTH: " + response.error();
      return out;
    }
    auto made = auth_initiator.consume_response(*response);
    if (!made) {
      out.failure = made.error().text;
      out.tell = made.error().tell;
    } else {
      out.child = std::move(*made);
    }
    return out;
  }

  // Waits for one IKE datagram on `socket` (stripping the non-ESP marker on 4500).
  Expected<net::Datagram, std::string> receive(const net::UdpSocket& socket, bool floated) {
    auto got = socket.receive(3000ms);
    if (!got) return unexpected(got.error());
    if (!*got) return unexpected(std::string("nothing from charon within 3 s"));
    if (floated) {
      if ((*got)->bytes.size() < 4) return unexpected(std::string("a runt datagram on 4500"));
      (*got)->bytes.erase((*got)->bytes.begin(), (*got)->bytes.begin() + 4);
    }
    return std::move(**got);
  }
  Expected<void, std::string> reply(const net::UdpSocket& socket, const net::Datagram& to, const Bytes& message, bool floated) {
    Bytes wire;
    if (floated) wire.assign(4, std::byte{0});
    wire.insert(wire.end(), message.begin(), message.end());
    return socket.send_to(to.from, to.port, wire);
  }

  // charon initiates (`swanctl --initiate`); Ward's responder units answer IKE_SA_INIT on 500
  // and IKE_AUTH where charon sends it (4500 once charon floats).
  Outcome respond(const std::string& psk, std::vector<IkeProposal> proposals, std::vector<ChildProposal> esp) {
    Outcome out;
    auto initiating = test::ChildProcess::spawn(swanctl_argv({"--initiate", "--child", "ward", "--timeout", "5"}), {},
                                                dir() / "initiate.out");
    if (!initiating) {
      out.failure = initiating.error().to_string();
      return out;
    }
    auto request = receive(*ike_socket_, false);
    if (!request) {
      out.failure = "IKE_SA_INIT: " + request.error();
      return out;
    }
    IkeSaInitConfig init{std::move(proposals), {kWard, kIkePort}, {request->from, request->port}};
    auto answered = respond_ike_sa_init(init, request->bytes);
    if (!answered || !answered->sa) {
      out.failure = answered ? answered->refusal : answered.error();
      return out;
    }
    if (auto sent = reply(*ike_socket_, *request, answered->reply, false); !sent) {
      out.failure = sent.error();
      return out;
    }
    out.sa = std::move(answered->sa);
    const bool floated = out.sa->nat_detected();
    auto auth_request = receive(floated ? *natt_socket_ : *ike_socket_, floated);
    if (!auth_request) {
      out.failure = "IKE_AUTH: " + auth_request.error();
      return out;
    }
    AuthConfig auth{IdType::Ipv4Address, v4(kWard), SecureBytes(std::as_bytes(std::span(psk.data(), psk.size()))),
                    IdPayload{true, IdType::Ipv4Address, v4(kCharonAddress)}, {}};
    ChildSaConfig child = child_config(std::move(esp), floated);
    auto auth_reply = respond_ike_auth(*out.sa, auth, child, *random_esp_spi(), auth_request->bytes);
    if (!auth_reply) {
      out.failure = auth_reply.error();
      return out;
    }
    if (auto sent = reply(floated ? *natt_socket_ : *ike_socket_, *auth_request, auth_reply->reply, floated); !sent) {
      out.failure = sent.error();
      return out;
    }
    out.child = std::move(auth_reply->child);
    if (!out.child) out.failure = auth_reply->refusal;
    const auto until = std::chrono::steady_clock::now() + 6s;
    while (initiating->running() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    return out;
  }

  ChildSaConfig child_config(std::vector<ChildProposal> esp, bool udp_encapsulated) const {
    ChildSaConfig child;
    child.proposals = std::move(esp);
    child.local = TrafficSelector::of(IpPrefix::host(kWard));
    child.remote = TrafficSelector::of(IpPrefix::host(kCharonAddress));
    child.mode = driver::crypto::Mode::Tunnel;
    child.tunnel = driver::crypto::TunnelEndpoints{driver::crypto::IpAddress::v4(10, 77, 0, 1), driver::crypto::IpAddress::v4(10, 77, 0, 2)};
    if (udp_encapsulated) child.udp_encapsulation = driver::crypto::UdpEncapsulation{kNatTPort, kNatTPort};
    child.filter_id = kFilterId;
    child.peer = kCharonAddress;
    return child;
  }

  std::string list_sas_when(std::string_view text) {
    test::CapturedRun sas;
    const auto until = std::chrono::steady_clock::now() + 3s;
    do {
      sas = swanctl({"--list-sas"});
      if (sas.out.find(text) != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < until);
    return sas.out;
  }

  // Protects one packet Ward -> charon with the CHILD_SA's outbound SaInstall (SimDataplane, the
  // same ESP code wardd runs) and sends the UDP-encapsulated ESP to charon's port 4500.
  void send_protected_packet(const ChildSa& child) {
    ike::testing::NullDataplaneListener listener;
    driver::SimDataplane sim(listener);
    ASSERT_TRUE(sim.install_filter_table(ike::testing::negotiate_both_ways(kFilterId, IpPrefix::host(kWard),
                                                                          IpPrefix::host(kCharonAddress), 100, kCharonAddress)));
    ASSERT_TRUE(sim.add_sa(child.outbound));
    const auto packet = driver::testing::make_packet(kWard, kCharonAddress, 17, 5000, 9, 64);
    const auto sealed = sim.send(packet);
    ASSERT_EQ(sealed.disposition, driver::Disposition::AcceptModified);
    // IPv4 (20) | UDP (8) | ESP: the UDP payload goes out through our 4500 socket.
    ASSERT_GT(sealed.bytes.size(), 28u);
    ASSERT_EQ(sealed.bytes[9], std::byte{17});
    const std::span<const std::byte> esp(sealed.bytes.begin() + 28, sealed.bytes.end());
    ASSERT_TRUE(natt_socket_->send_to(kCharonAddress, kNatTPort, esp));
  }

  std::optional<ward::testing::Netns> ward_ns_, charon_ns_;
  std::optional<test::TempDir> dir_;
  std::optional<test::ChildProcess> charon_;
  std::optional<net::UdpSocket> ike_socket_, natt_socket_;
};

// charon's view of the IKE SA and CHILD_SA must carry the SPIs Ward has (the * marks charon's).
void expect_charon_shows(const std::string& sas, const IkeSa& sa, const ChildSa& child) {
  const std::string spis = sa.initiator ? hex(sa.spi_i) + "_i " + hex(sa.spi_r) + "_r*" : hex(sa.spi_i) + "_i* " + hex(sa.spi_r) + "_r";
  EXPECT_NE(sas.find("ESTABLISHED, IKEv2, " + spis), std::string::npos) << sas;
  EXPECT_NE(sas.find("INSTALLED, TUNNEL-in-UDP"), std::string::npos) << sas;
  EXPECT_TRUE(std::regex_search(sas, std::regex("in\\s+" + hex32(child.outbound_spi)))) << sas;
  EXPECT_TRUE(std::regex_search(sas, std::regex("out\\s+" + hex32(child.inbound_spi)))) << sas;
}

long long charon_in_bytes(const std::string& sas) {
  std::smatch m;
  static const std::regex kIn(R"(\bin\s+[0-9a-f]+,\s+(\d+) bytes)");
  return std::regex_search(sas, m, kIn) ? std::stoll(m[1]) : -1;
}

TEST_F(StrongSwanIkev2Test, WardInitiatesPskAesCbcSha256AndCharonInstallsTheChildSa) {
  start_charon("ward and charon agree", "aes128-sha256-modp2048", "aes128-sha256");
  const auto started = std::chrono::steady_clock::now();
  auto out = initiate("ward and charon agree", {IkeProposal{}},
                      {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}});
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(out.child) << out.failure << charon_log();
  std::printf("Ward -> charon: IKE_SA_INIT + IKE_AUTH (IKEv2, PSK, NAT-T) in %lld ms\n", static_cast<long long>(elapsed.count()));
  EXPECT_TRUE(out.sa->peer_behind_nat) << "charon with libipsec fakes a NAT";
  const auto sas = list_sas_when("INSTALLED");
  std::printf("swanctl --list-sas:\n%s\n", sas.c_str());
  expect_charon_shows(sas, *out.sa, *out.child);
  EXPECT_EQ(charon_in_bytes(sas), 0);
  // The child keys: what Ward's ESP protects, charon decrypts and counts.
  send_protected_packet(*out.child);
  EXPECT_GT(charon_in_bytes(list_sas_when(" 1 packets")), 0) << charon_log();
}

TEST_F(StrongSwanIkev2Test, WardInitiatesWithAesGcmAndEcp256) {
  start_charon("ward and charon agree", "aes256gcm16-prfsha384-ecp256", "aes128gcm16");
  auto out = initiate("ward and charon agree",
                      {IkeProposal{EncryptionId::AesGcm16, 256, IntegrityId::None, PrfId::HmacSha2_384, IkeGroupDescription::Ecp256}},
                      {ChildProposal{driver::crypto::Cipher::AesGcm128, driver::crypto::Integrity::None}});
  ASSERT_TRUE(out.child) << out.failure << charon_log();
  const auto sas = list_sas_when("INSTALLED");
  expect_charon_shows(sas, *out.sa, *out.child);
  EXPECT_NE(sas.find("AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_256"), std::string::npos) << sas;
  send_protected_packet(*out.child);
  EXPECT_GT(charon_in_bytes(list_sas_when(" 1 packets")), 0) << charon_log();
}

TEST_F(StrongSwanIkev2Test, WrongPresharedKeyIsRefusedByCharon) {
  start_charon("charon's key", "aes128-sha256-modp2048", "aes128-sha256");
  auto out = initiate("ward's key", {IkeProposal{}},
                      {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}});
  EXPECT_FALSE(out.child);
  EXPECT_NE(out.failure.find("AUTHENTICATION_FAILED"), std::string::npos) << out.failure << charon_log();
  EXPECT_EQ(swanctl({"--list-sas"}).out.find("ESTABLISHED"), std::string::npos);
}

// RFC 7296 2.21.2: charon's AUTH checks out but its ID is not the one Ward expects, so Ward's
// initiator tells charon AUTHENTICATION_FAILED in an INFORMATIONAL (message 2) and charon, which
// counted its IKE_SA established, deletes it.
TEST_F(StrongSwanIkev2Test, WardTellsCharonAuthenticationFailedWhenCharonsIdFailsItsCheck) {
  start_charon("ward and charon agree", "aes128-sha256-modp2048", "aes128-sha256");
  auto out = initiate("ward and charon agree", {IkeProposal{}},
                      {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}},
                      *IpAddress::parse("192.0.2.99"));
  ASSERT_FALSE(out.child);
  ASSERT_TRUE(out.sa);
  ASSERT_EQ(out.tell, NotifyType::AuthenticationFailed) << out.failure << charon_log();
  auto told = error_request(*out.sa, 2, *out.tell);
  ASSERT_TRUE(told) << told.error();
  auto answer = exchange(*told, out.sa->nat_detected());
  ASSERT_TRUE(answer) << answer.error() << charon_log();
  // charon reads the notify as the end of the IKE_SA: "parsed INFORMATIONAL request 2 [
  // N(AUTH_FAILED) ]", "received DELETE for IKE_SA ward[1]", "IKE_SA deleted".
  const auto until = std::chrono::steady_clock::now() + 3s;
  std::string log;
  while (std::chrono::steady_clock::now() < until) {
    log = test::read_text(dir() / "charon.log");
    if (log.find("IKE_SA deleted") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(log.find("parsed INFORMATIONAL request 2 [ N(AUTH_FAILED) ]"), std::string::npos) << charon_log();
  EXPECT_NE(log.find("IKE_SA deleted"), std::string::npos) << charon_log();
  EXPECT_EQ(swanctl({"--list-sas"}).out.find("ESTABLISHED"), std::string::npos) << charon_log();
}

TEST_F(StrongSwanIkev2Test, InformationalLivenessAndCharonsDeletes) {
  start_charon("ward and charon agree", "aes128-sha256-modp2048", "aes128-sha256");
  auto out = initiate("ward and charon agree", {IkeProposal{}},
                      {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}});
  ASSERT_TRUE(out.child) << out.failure << charon_log();
  ASSERT_TRUE(out.sa->nat_detected());
  ASSERT_NE(list_sas_when("INSTALLED").find("INSTALLED"), std::string::npos);

  // Ward's liveness check (its message 2, after IKE_AUTH's 1).
  auto ping = liveness_request(*out.sa, 2);
  ASSERT_TRUE(ping);
  auto pong = exchange(*ping, true);
  ASSERT_TRUE(pong) << pong.error() << charon_log();
  auto answered = consume_informational_response(*out.sa, 2, *pong);
  ASSERT_TRUE(answered) << answered.error();
  EXPECT_TRUE(answered->empty());

  // charon deletes the CHILD_SA (its first request: message 0), naming its inbound SPI.
  auto terminating = test::ChildProcess::spawn(swanctl_argv({"--terminate", "--child", "ward", "--timeout", "5"}), {},
                                               dir() / "terminate-child.out");
  ASSERT_TRUE(terminating);
  auto request = receive(*natt_socket_, true);
  ASSERT_TRUE(request) << request.error() << charon_log();
  auto answer = answer_informational(*out.sa, request->bytes, {{out.child->outbound_spi, out.child->inbound_spi}});
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ(answer->message_id, 0u);
  EXPECT_EQ(answer->deleted_outbound_spis, std::vector<std::uint32_t>{out.child->outbound_spi});
  ASSERT_TRUE(reply(*natt_socket_, *request, answer->reply, true));
  const auto until = std::chrono::steady_clock::now() + 6s;
  while (terminating->running() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
  EXPECT_NE(test::read_text(dir() / "terminate-child.out").find("terminate completed successfully"), std::string::npos)
      << test::read_text(dir() / "terminate-child.out");
  auto sas = swanctl({"--list-sas"}).out;
  EXPECT_NE(sas.find("ESTABLISHED"), std::string::npos) << sas;
  EXPECT_EQ(sas.find("INSTALLED"), std::string::npos) << sas << charon_log();

  // charon deletes the IKE SA (message 1).
  auto closing = test::ChildProcess::spawn(swanctl_argv({"--terminate", "--ike", "ward", "--timeout", "5"}), {},
                                           dir() / "terminate-ike.out");
  ASSERT_TRUE(closing);
  request = receive(*natt_socket_, true);
  ASSERT_TRUE(request) << request.error() << charon_log();
  answer = answer_informational(*out.sa, request->bytes, {});
  ASSERT_TRUE(answer) << answer.error();
  EXPECT_EQ(answer->message_id, 1u);
  EXPECT_TRUE(answer->delete_ike_sa);
  ASSERT_TRUE(reply(*natt_socket_, *request, answer->reply, true));
  const auto until_closed = std::chrono::steady_clock::now() + 6s;
  while (closing->running() && std::chrono::steady_clock::now() < until_closed) std::this_thread::sleep_for(20ms);
  EXPECT_NE(test::read_text(dir() / "terminate-ike.out").find("terminate completed successfully"), std::string::npos)
      << test::read_text(dir() / "terminate-ike.out");
  EXPECT_EQ(swanctl({"--list-sas"}).out.find("ESTABLISHED"), std::string::npos) << charon_log();
}

TEST_F(StrongSwanIkev2Test, CharonInitiatesToWardsResponder) {
  start_charon("ward and charon agree", "aes128-sha256-modp2048", "aes128-sha256");
  auto out = respond("ward and charon agree", {IkeProposal{}},
                     {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}});
  ASSERT_TRUE(out.child) << out.failure << "\nswanctl --initiate:\n" << test::read_text(dir() / "initiate.out") << charon_log();
  EXPECT_TRUE(out.sa->peer_behind_nat) << "charon with libipsec fakes a NAT";
  const auto sas = list_sas_when("INSTALLED");
  std::printf("swanctl --list-sas:\n%s\n", sas.c_str());
  expect_charon_shows(sas, *out.sa, *out.child);
  send_protected_packet(*out.child);
  EXPECT_GT(charon_in_bytes(list_sas_when(" 1 packets")), 0) << charon_log();
}

// The refusal the other way round from WrongPresharedKeyIsRefusedByCharon: charon initiates with
// another key, Ward's responder answers IKE_AUTH with AUTHENTICATION_FAILED and charon names it.
TEST_F(StrongSwanIkev2Test, WrongPresharedKeyIsRefusedByWard) {
  start_charon("charon's key", "aes128-sha256-modp2048", "aes128-sha256");
  auto out = respond("ward's key", {IkeProposal{}},
                     {ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}});
  EXPECT_FALSE(out.child);
  EXPECT_NE(out.failure.find("does not verify"), std::string::npos) << out.failure << charon_log();
  EXPECT_NE(test::read_text(dir() / "charon.log").find("received AUTHENTICATION_FAILED notify error"), std::string::npos)
      << charon_log();
  EXPECT_EQ(swanctl({"--list-sas"}).out.find("ESTABLISHED"), std::string::npos);
}

// Ward rekeys the IKE SA, then the CHILD_SA under the new IKE SA with PFS (ike_rekey.h,
// create_child_sa.h, as Ikev2Sa sends them), each followed by the DELETE of what it replaced.
TEST_F(StrongSwanIkev2Test, WardRekeysTheIkeSaThenTheChildSaWithPfsUnderIt) {
  start_charon("ward and charon agree", "aes128-sha256-modp2048", "aes128-sha256-modp2048");
  const std::vector<ChildProposal> esp{ChildProposal{driver::crypto::Cipher::AesCbc128, driver::crypto::Integrity::HmacSha256_128}};
  auto out = initiate("ward and charon agree", {IkeProposal{}}, esp);
  ASSERT_TRUE(out.child) << out.failure << charon_log();
  ASSERT_NE(list_sas_when("INSTALLED").find("INSTALLED"), std::string::npos);

  // The IKE SA (Ward's message 2; the new SA's IDs start at 0).
  auto rekey = IkeRekeyInitiator::create(*out.sa);
  ASSERT_TRUE(rekey) << rekey.error();
  auto request = rekey->build_request(*out.sa, 2);
  ASSERT_TRUE(request) << request.error();
  auto response = exchange(*request, true);
  ASSERT_TRUE(response) << response.error() << charon_log();
  auto opened = open_protected(*out.sa, *response);
  ASSERT_TRUE(opened) << opened.error();
  auto next = rekey->consume_response(*out.sa, opened->payloads);
  ASSERT_TRUE(next) << next.error() << charon_log();
  auto bye = delete_ike_sa_request(*out.sa, 3);
  ASSERT_TRUE(bye);
  auto gone = exchange(*bye, true);
  ASSERT_TRUE(gone) << gone.error() << charon_log();
  ASSERT_TRUE(consume_informational_response(*out.sa, 3, *gone));
  auto sas = list_sas_when(hex(next->spi_i) + "_i");
  std::printf("swanctl --list-sas after the IKE SA's rekey:\n%s\n", sas.c_str());
  EXPECT_NE(sas.find(hex(next->spi_i) + "_i " + hex(next->spi_r) + "_r"), std::string::npos) << sas << charon_log();
  EXPECT_EQ(sas.find(hex(out.sa->spi_i) + "_i"), std::string::npos) << "the old IKE SA is gone:\n" << sas;
  EXPECT_NE(sas.find("in  " + hex32(out.child->outbound_spi)), std::string::npos) << "the CHILD_SA moved with it:\n" << sas;

  // The CHILD_SA under the new IKE SA (its message 0), with a MODP-2048 exchange.
  ChildSaConfig child = child_config(esp, true);
  child.local = out.child->local;
  child.remote = out.child->remote;
  child.pfs_group = IkeGroupDescription::Modp2048;
  auto child_rekey = ChildRekeyInitiator::create(child, out.child->inbound_spi, *random_esp_spi());
  ASSERT_TRUE(child_rekey) << child_rekey.error();
  request = child_rekey->build_request(*next, 0);
  ASSERT_TRUE(request) << request.error();
  response = exchange(*request, true);
  ASSERT_TRUE(response) << response.error() << charon_log();
  opened = open_protected(*next, *response);
  ASSERT_TRUE(opened) << opened.error();
  auto successor = child_rekey->consume_response(*next, opened->payloads);
  ASSERT_TRUE(successor) << successor.error() << charon_log();
  EXPECT_EQ(successor->pfs, IkeGroupDescription::Modp2048);
  bye = delete_child_sa_request(*next, 1, {out.child->inbound_spi});
  ASSERT_TRUE(bye);
  gone = exchange(*bye, true);
  ASSERT_TRUE(gone) << gone.error() << charon_log();
  ASSERT_TRUE(consume_informational_response(*next, 1, *gone));
  sas = list_sas_when("out " + hex32(successor->inbound_spi));
  std::printf("swanctl --list-sas after the CHILD_SA's rekey:\n%s\n", sas.c_str());
  EXPECT_NE(sas.find("MODP_2048"), std::string::npos) << sas;
  EXPECT_NE(sas.find("in  " + hex32(successor->outbound_spi)), std::string::npos) << sas;
  EXPECT_NE(sas.find("out " + hex32(successor->inbound_spi)), std::string::npos) << sas;
  // charon decrypts a packet under the new keys (its counter of the new inbound SA, not the old
  // one it lists as DELETED for a while).
  send_protected_packet(*successor);
  const std::string inbound = "in  " + hex32(successor->outbound_spi) + ",";
  const auto line_of = [&](const std::string& list) {
    const auto at = list.find(inbound);
    return at == std::string::npos ? std::string() : list.substr(at, list.find('\n', at) - at);
  };
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (line_of(sas).find(" 1 packets") == std::string::npos && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    sas = swanctl({"--list-sas"}).out;
  }
  EXPECT_NE(line_of(sas).find(" 1 packets"), std::string::npos) << sas << charon_log();
}

}  // namespace
}  // namespace ward::ike::v2
