// ike_flood: the attacker of the IKE flood test and harness (tests/agent/wardd_flood_*): main mode
// 1s from forged source addresses and garbage datagrams, at fixed rates, to one IKE responder.
//
//   ike_flood --target ADDRESS [--port 500] --spoof PREFIX [--spoof PREFIX ...]
//             [--mm1-rate N] [--garbage-rate N] [--seconds S]
//
// Root (a raw socket: IPv4 headers written here, source addresses drawn at random from the
// --spoof prefixes in turn, each kind of datagram rotating through them on its own). Each main mode 1 is a real one (Phase1Sa's own encoding, AES-256/
// SHA-256/ECP-256 and 3DES/SHA-1/group 2 transforms, PSK) with a fresh random initiator cookie;
// garbage is half random bytes of random length, half an ISAKMP header with random cookies (a
// main mode 3 whose responder cookie we never made) and random payload bytes. Paced per
// millisecond; SIGTERM ends it early. Prints what it sent on exit. Run it only against your own
// test namespaces.
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <span>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/ip.h"
#include "ike/auth/preshared_key.h"
#include "ike/sa/phase1_sa.h"

namespace {

using namespace ward;

volatile sig_atomic_t stop_requested = 0;
void request_stop(int) { stop_requested = 1; }
using namespace std::chrono_literals;

struct Options {
  IpAddress target;
  std::uint16_t port = 500;
  std::vector<IpPrefix> spoof;
  double mm1_rate = 0;
  double garbage_rate = 0;
  double seconds = 10;
};

constexpr const char* kUsage =
    "usage: ike_flood --target ADDRESS [--port 500] --spoof PREFIX [--spoof PREFIX ...]\n"
    "                 [--mm1-rate N] [--garbage-rate N] [--seconds S]\n";

bool parse_number(const std::string& text, double& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= 0;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  bool have_target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--target") {
      auto a = IpAddress::parse(value);
      if (!a || a->family() != IpFamily::V4) return std::nullopt;
      o.target = *a;
      have_target = true;
    } else if (key == "--port") {
      double p = 0;
      if (!parse_number(value, p) || p < 1 || p > 65535) return std::nullopt;
      o.port = static_cast<std::uint16_t>(p);
    } else if (key == "--spoof") {
      auto p = IpPrefix::parse(value);
      if (!p || p->family() != IpFamily::V4) return std::nullopt;
      o.spoof.push_back(*p);
    } else if (key == "--mm1-rate") {
      if (!parse_number(value, o.mm1_rate)) return std::nullopt;
    } else if (key == "--garbage-rate") {
      if (!parse_number(value, o.garbage_rate)) return std::nullopt;
    } else if (key == "--seconds") {
      if (!parse_number(value, o.seconds)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (argc % 2 != 1 || !have_target || o.spoof.empty()) return std::nullopt;
  return o;
}

// A main mode 1 as Ward's initiator builds it, to patch cookies into.
std::vector<std::byte> main_mode_1_template(const IpAddress& target) {
  static const ike::auth::PresharedKeyProvider psk(ike::auth::preshared_key_from_text("flood"));
  ike::sa::Phase1Config c;
  c.proposals = {{ike::IkeEncryptionAlgorithm::AesCbc, 256, ike::IkeHashAlgorithm::Sha2_256, ike::IkeGroupDescription::Ecp256,
                  28800s},
                 {ike::IkeEncryptionAlgorithm::TripleDesCbc, 0, ike::IkeHashAlgorithm::Sha, ike::IkeGroupDescription::Modp1024,
                  28800s}};
  c.allow_legacy = true;
  c.local = *IpAddress::parse("10.0.0.1");
  c.peer = target;
  auto initiator = ike::sa::Phase1Sa::initiate(c, psk, [] { return std::chrono::steady_clock::now(); });
  auto message = initiator->build_main_mode_1();
  if (!message) {
    std::fprintf(stderr, "ike_flood: cannot build main mode 1: %s\n", message.error().c_str());
    std::exit(1);
  }
  return *message;
}

class Sender {
 public:
  Sender(const Options& options) : options_(options), random_(std::random_device{}()) {
    fd_ = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);   // IP_HDRINCL implied
    if (fd_ < 0) {
      std::perror("ike_flood: raw socket (needs root)");
      std::exit(1);
    }
    std::memset(&to_, 0, sizeof to_);
    to_.sin_family = AF_INET;
    std::memcpy(&to_.sin_addr, options.target.bytes().data(), 4);
  }
  ~Sender() { ::close(fd_); }

  // `sequence` numbers the datagrams of one kind: it picks the prefix, so main mode 1s and garbage
  // each rotate through every prefix whatever the ratio of their rates.
  void send(std::span<const std::byte> payload, std::uint64_t sequence) {
    std::array<std::byte, 20 + 8 + 2048> packet{};
    const std::size_t size = std::min(payload.size(), packet.size() - 28);
    const auto& prefix = options_.spoof[sequence % options_.spoof.size()];
    const std::uint32_t host_bits = prefix.length() >= 32 ? 0 : static_cast<std::uint32_t>(random_()) >> prefix.length();
    const std::uint32_t source = htonl(prefix.address().v4_host_order() | host_bits);
    ip ip_header{};
    ip_header.ip_v = 4;
    ip_header.ip_hl = 5;
    ip_header.ip_ttl = 64;
    ip_header.ip_p = IPPROTO_UDP;
    ip_header.ip_len = htons(static_cast<std::uint16_t>(28 + size));
    std::memcpy(&ip_header.ip_src, &source, 4);
    std::memcpy(&ip_header.ip_dst, options_.target.bytes().data(), 4);
    udphdr udp{};
    udp.source = htons(options_.port);
    udp.dest = htons(options_.port);
    udp.len = htons(static_cast<std::uint16_t>(8 + size));
    udp.check = 0;   // IPv4: no checksum
    std::memcpy(packet.data(), &ip_header, sizeof ip_header);
    std::memcpy(packet.data() + 20, &udp, sizeof udp);
    std::memcpy(packet.data() + 28, payload.data(), size);
    if (::sendto(fd_, packet.data(), 28 + size, 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) < 0) {
      if (errors_++ == 0) std::perror("ike_flood: sendto (the first error; the others are counted)");
    } else {
      ++sent_;
    }
  }

  std::uint64_t random() { return random_(); }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t errors() const { return errors_; }

 private:
  const Options& options_;
  std::mt19937_64 random_;
  int fd_ = -1;
  sockaddr_in to_{};
  std::uint64_t sent_ = 0;
  std::uint64_t errors_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse(argc, argv);
  if (!options) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // SIGTERM or SIGINT end the flood early, with the report.
  ::signal(SIGTERM, request_stop);
  ::signal(SIGINT, request_stop);
  auto main_mode_1 = main_mode_1_template(options->target);
  Sender sender(*options);
  std::vector<std::byte> garbage(512);
  const auto started = std::chrono::steady_clock::now();
  const auto until = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(options->seconds));
  double mm1_owed = 0;
  double garbage_owed = 0;
  std::uint64_t mm1 = 0;
  std::uint64_t junk = 0;
  auto tick = started;
  while (tick < until && stop_requested == 0) {
    tick += 1ms;
    mm1_owed += options->mm1_rate / 1000.0;
    garbage_owed += options->garbage_rate / 1000.0;
    for (; mm1_owed >= 1; mm1_owed -= 1, ++mm1) {
      const auto cookie = sender.random();
      std::memcpy(main_mode_1.data(), &cookie, 8);   // a fresh initiator cookie
      sender.send(main_mode_1, mm1);
    }
    for (; garbage_owed >= 1; garbage_owed -= 1, ++junk) {
      const std::size_t size = 1 + sender.random() % garbage.size();
      for (std::size_t i = 0; i < size; i += 8) {
        const auto r = sender.random();
        std::memcpy(garbage.data() + i, &r, std::min<std::size_t>(8, size - i));
      }
      if ((junk & 1) == 0 && size >= 28) {
        garbage[16] = std::byte{0x01};   // next payload: SA
        garbage[17] = std::byte{0x10};   // ISAKMP 1.0
        garbage[18] = std::byte{0x02};   // identity protection (main mode)
        garbage[19] = std::byte{0x00};
        garbage[20] = garbage[21] = garbage[22] = garbage[23] = std::byte{0};
        const auto length = htonl(static_cast<std::uint32_t>(size));
        std::memcpy(garbage.data() + 24, &length, 4);
      }
      sender.send(std::span<const std::byte>(garbage.data(), size), junk);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < tick) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick - now).count();
      timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      nanosleep(&wait, nullptr);
    }
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("ike_flood: %llu main mode 1 + %llu garbage datagrams in %.2f s (%.0f + %.0f per second), %llu send errors\n",
              static_cast<unsigned long long>(mm1), static_cast<unsigned long long>(junk), elapsed,
              static_cast<double>(mm1) / elapsed, static_cast<double>(junk) / elapsed,
              static_cast<unsigned long long>(sender.errors()));
  return 0;
}
