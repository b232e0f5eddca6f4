// The TUN path's checksum rule on a real stack: transport-mode ESP in UDP whose inner UDP checksum
// was computed behind a NAT (over the peer's private address: stale for the addresses delivered)
// is decrypted without the RFC 3948 3.1.2 recompute (InnerChecksum::MarkedValidByCaller) and
// written to the TUN device by TunInjector, whose virtio-net header marks it checksum-valid: the
// socket receives it. The same bytes behind an unmarked virtio-net header are dropped by UDP
// (counted as a checksum error): the mark, not luck, lets the packet in. A tampered packet never
// gets that far: ESP's ICV drops it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/byte_writer.h"
#include "driver/crypto/esp.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/ip_packet.h"
#include "driver/crypto/test_packets.h"
#include "driver/crypto/test_sas.h"
#include "driver/nfqueue/tun_injector.h"
#include "tests/netns/netns.h"

namespace ward::driver {
namespace {

using Bytes = std::vector<std::byte>;
using ward::testing::Netns;

constexpr std::uint16_t kPort = 5001;
const crypto::IpAddress kPeerPrivate = crypto::IpAddress::v4(192, 168, 77, 2);
const crypto::IpAddress kPeerPublic = crypto::IpAddress::v4(10, 20, 7, 1);
const crypto::IpAddress kSelf = crypto::IpAddress::v4(10, 20, 7, 2);

// The UDP datagram the peer sends, its checksum over its private source address.
Bytes datagram_from_behind_the_nat(std::size_t data) {
  ByteWriter udp;
  udp.u16_be(40000);
  udp.u16_be(kPort);
  udp.u16_be(static_cast<std::uint16_t>(8 + data));
  udp.u16_be(0);
  udp.bytes(crypto::testing::pattern_bytes(data, 0x3c));
  udp.patch_u16_be(6, crypto::transport_checksum(kPeerPrivate, kSelf, crypto::kProtoUdp, udp.written()));
  return std::move(udp).take();
}

// The NAT's work on the ESP-in-UDP packet: the public source address and a new header checksum.
void translate_source(Bytes& wire) {
  const auto address = kPeerPublic.view();
  std::copy(address.begin(), address.end(), wire.begin() + 12);
  wire[10] = wire[11] = std::byte{0};
  const auto checksum = crypto::internet_checksum(std::span<const std::byte>(wire).first(20));
  wire[10] = std::byte(checksum >> 8);
  wire[11] = std::byte(checksum & 0xFF);
}

std::uint64_t udp_checksum_errors(const Netns& ns) {
  // Udp's InCsumErrors in the namespace's /proc/net/snmp (a header line of names, then values).
  std::uint64_t errors = ~std::uint64_t{0};
  ns.run_inside([&] {
    std::ifstream in("/proc/thread-self/net/snmp");
    std::string names, values;
    while (std::getline(in, names) && names.rfind("Udp:", 0) != 0) {}
    std::getline(in, values);
    std::istringstream name_stream(names), value_stream(values);
    std::string name, value;
    while (name_stream >> name && value_stream >> value) {
      if (name == "InCsumErrors") errors = std::stoull(value);
    }
  });
  return errors;
}

// A TUN device of the test's own with virtio-net headers, up, reverse-path filter off: the control
// that writes with a header of zeros (no checksum information).
int open_plain_vnet_tun(const Netns& ns, std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq request{};
  std::strncpy(request.ifr_name, "wtest%d", IFNAMSIZ - 1);
  request.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &request) != 0) {
    close(fd);
    return -1;
  }
  name = request.ifr_name;
  if (ns.exec("ip link set " + name + " up && sysctl -qw net.ipv4.conf." + name + ".rp_filter=0") != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(TunChecksumNetns, StaleInnerChecksumIsAcceptedOnlyWithTheMarkAndTamperingIsDroppedByTheIcv) {
  std::string why;
  if (!ward::testing::can_use_network_namespaces(&why)) GTEST_SKIP() << why;
  Netns a("tuncsum-a");
  Netns b("tuncsum-b");
  ward::testing::connect_veth(a, kPeerPublic.to_string() + "/24", b, kSelf.to_string() + "/24");

  crypto::testing::SaShape shape;
  shape.udp = true;  // transport mode, ESP in UDP 4500, AES-GCM-128
  const auto outbound_params = crypto::testing::outbound_params(shape);
  auto outbound = crypto::EspSa::create(outbound_params);
  auto inbound = crypto::EspSa::create(crypto::fuzzing::inbound_of(outbound_params));
  ASSERT_TRUE(outbound && inbound);

  const Bytes sent_udp = datagram_from_behind_the_nat(200);
  Bytes wire;
  ASSERT_TRUE(outbound->encapsulate(crypto::testing::make_ipv4_packet(kPeerPrivate, kSelf, crypto::kProtoUdp, sent_udp), wire));
  translate_source(wire);
  Bytes tampered = wire;
  tampered[tampered.size() - 30] ^= std::byte{0x01};

  Bytes delivered;
  const auto dropped = inbound->decapsulate(tampered, delivered, crypto::InnerChecksum::MarkedValidByCaller);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error(), crypto::DropReason::IcvMismatch);
  ASSERT_TRUE(inbound->decapsulate(wire, delivered, crypto::InnerChecksum::MarkedValidByCaller));
  ASSERT_EQ(Bytes(delivered.begin() + 20, delivered.end()), sent_udp) << "the inner checksum must be left as sent";

  int receiver = -1;
  b.run_inside([&] {
    receiver = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(kPort);
    address.sin_addr.s_addr = htonl(0x0A140702);  // 10.20.7.2
    if (bind(receiver, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      close(receiver);
      receiver = -1;
    }
  });
  ASSERT_GE(receiver, 0) << std::strerror(errno);
  const timeval timeout{0, 300000};  // a negative answer below waits this long
  ASSERT_EQ(setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
  std::array<std::byte, 2048> buffer{};

  // The control first: the same bytes with an unmarked header are a checksum error.
  std::string plain_name;
  int plain_tun = -1;
  b.run_inside([&] { plain_tun = open_plain_vnet_tun(b, plain_name); });
  ASSERT_GE(plain_tun, 0) << "a TUN device with virtio-net headers";
  const auto errors_before = udp_checksum_errors(b);
  Bytes unmarked(10, std::byte{0});
  unmarked.insert(unmarked.end(), delivered.begin(), delivered.end());
  ASSERT_EQ(::write(plain_tun, unmarked.data(), unmarked.size()), static_cast<ssize_t>(unmarked.size())) << std::strerror(errno);
  EXPECT_LT(recv(receiver, buffer.data(), buffer.size(), 0), 0) << "an unmarked stale checksum must not reach the socket";
  EXPECT_EQ(udp_checksum_errors(b), errors_before + 1);
  close(plain_tun);

  std::unique_ptr<TunInjector> tun;
  std::string error;
  b.run_inside([&] {
    auto opened = TunInjector::open();
    if (opened) {
      tun = std::move(*opened);
    } else {
      error = opened.error();
    }
  });
  ASSERT_TRUE(tun) << error;
  const std::array<std::span<const std::byte>, 1> packets{delivered};
  EXPECT_EQ(tun->inject(packets), 0U);
  const ssize_t received = recv(receiver, buffer.data(), buffer.size(), 0);
  ASSERT_EQ(received, 200) << "the marked packet must reach the socket";
  EXPECT_TRUE(std::equal(buffer.begin(), buffer.begin() + 200, sent_udp.begin() + 8));
  EXPECT_EQ(udp_checksum_errors(b), errors_before + 1);
  close(receiver);
}

}  // namespace
}  // namespace ward::driver
