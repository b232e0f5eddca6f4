// Writes the seed corpus of esp_ah_decap_fuzz: for every fuzz SA a few valid protected packets
// (selector byte + packet), plus plain IPv4/IPv6 packets for the header parser.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "driver/crypto/ah.h"
#include "driver/crypto/esp.h"
#include "driver/crypto/fuzz_sas.h"
#include "driver/crypto/test_packets.h"

namespace crypto = ward::driver::crypto;
namespace testing = ward::driver::crypto::testing;

namespace {

bool write_seed(const std::filesystem::path& file, std::uint8_t selector, const std::vector<std::byte>& packet) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  const char first = static_cast<char>(selector);
  out.write(&first, 1);
  out.write(reinterpret_cast<const char*>(packet.data()), static_cast<std::streamsize>(packet.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);
  const auto sas = crypto::fuzzing::fuzz_sas();
  const std::size_t payload_sizes[] = {0, 37, 200};
  int written = 0;
  for (std::size_t index = 0; index < sas.size(); ++index) {
    const auto& fuzz_sa = sas[index];
    for (const std::size_t payload_size : payload_sizes) {
      const auto payload = testing::pattern_bytes(payload_size, static_cast<std::uint8_t>(index));
      const auto plain = fuzz_sa.ipv6_packets
                             ? testing::make_ipv6_packet(testing::v6_address(1), testing::v6_address(2), 17, payload)
                             : testing::make_ipv4_packet(crypto::IpAddress::v4(192, 0, 2, 1),
                                                         crypto::IpAddress::v4(192, 0, 2, 2), 17, payload);
      std::vector<std::byte> wire;
      if (fuzz_sa.outbound.protocol == crypto::SecurityProtocol::Esp) {
        auto sa = crypto::EspSa::create(fuzz_sa.outbound);
        if (!sa) {
          std::fprintf(stderr, "%s\n", sa.error().c_str());
          return 1;
        }
        if (auto sealed = sa->encapsulate(plain, wire); !sealed) {
          std::fprintf(stderr, "cannot make a seed for %s: %s\n", fuzz_sa.name.c_str(),
                       std::string(crypto::name_of(sealed.error())).c_str());
          return 1;
        }
      } else {
        auto sa = crypto::AhSa::create(fuzz_sa.outbound);
        if (!sa) {
          std::fprintf(stderr, "%s\n", sa.error().c_str());
          return 1;
        }
        if (auto sealed = sa->encapsulate(plain, wire); !sealed) {
          std::fprintf(stderr, "cannot make a seed for %s: %s\n", fuzz_sa.name.c_str(),
                       std::string(crypto::name_of(sealed.error())).c_str());
          return 1;
        }
      }
      const auto name = fuzz_sa.name + "-" + std::to_string(payload_size);
      if (!write_seed(dir / name, static_cast<std::uint8_t>(index), wire)) return 1;
      ++written;
    }
  }
  const auto selector = static_cast<std::uint8_t>(sas.size());
  const auto payload = testing::pattern_bytes(24);
  write_seed(dir / "ip-parse-v4", selector,
             testing::make_ipv4_packet(crypto::IpAddress::v4(192, 0, 2, 1), crypto::IpAddress::v4(192, 0, 2, 2), 6,
                                       payload));
  write_seed(dir / "ip-parse-v6", selector,
             testing::make_ipv6_packet(testing::v6_address(1), testing::v6_address(2), 6, payload));
  written += 2;
  std::printf("wrote %d seeds to %s\n", written, dir.c_str());
  return 0;
}
