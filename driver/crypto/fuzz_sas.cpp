#include "driver/crypto/fuzz_sas.h"

#include <array>
#include <cstdint>

#include "driver/crypto/test_packets.h"

namespace ward::driver::crypto::fuzzing {

namespace {

SecureBytes key_of(std::size_t length, std::uint8_t seed) {
  return SecureBytes(testing::pattern_bytes(length, seed));
}

SaParams esp(std::uint32_t spi, Cipher cipher, Integrity integrity, Mode mode, bool v6, bool esn) {
  SaParams params;
  params.protocol = SecurityProtocol::Esp;
  params.spi = spi;
  params.direction = Direction::Outbound;
  params.mode = mode;
  params.cipher = cipher;
  params.integrity = integrity;
  switch (cipher) {
    case Cipher::AesGcm128: params.encryption_key = key_of(kAes128KeyLength + kGcmSaltLength, 1); break;
    case Cipher::AesGcm256: params.encryption_key = key_of(kAes256KeyLength + kGcmSaltLength, 2); break;
    case Cipher::AesCbc128: params.encryption_key = key_of(kAes128KeyLength, 3); break;
    case Cipher::AesCbc256: params.encryption_key = key_of(kAes256KeyLength, 4); break;
    case Cipher::TripleDesCbc: params.encryption_key = key_of(kTripleDesKeyLength, 5); break;
    case Cipher::Null: break;
  }
  switch (integrity) {
    case Integrity::HmacSha1_96: params.integrity_key = key_of(kHmacSha1KeyLength, 6); break;
    case Integrity::HmacSha256_128: params.integrity_key = key_of(kHmacSha256KeyLength, 7); break;
    case Integrity::HmacMd5_96: params.integrity_key = key_of(kHmacMd5KeyLength, 8); break;
    case Integrity::None: break;
  }
  params.extended_sequence_numbers = esn;
  if (mode == Mode::Tunnel) {
    params.tunnel = v6 ? TunnelEndpoints{testing::v6_address(0xa1), testing::v6_address(0xa2)}
                       : TunnelEndpoints{IpAddress::v4(10, 0, 0, 1), IpAddress::v4(10, 0, 0, 2)};
  }
  return params;
}

SaParams ah(std::uint32_t spi, Integrity integrity, Mode mode, bool v6, bool esn) {
  SaParams params = esp(spi, Cipher::Null, integrity, mode, v6, esn);
  params.protocol = SecurityProtocol::Ah;
  return params;
}

}  // namespace

std::vector<FuzzSa> fuzz_sas() {
  std::vector<FuzzSa> sas;
  sas.push_back({"esp-gcm128-transport-v4", esp(0x1001, Cipher::AesGcm128, Integrity::None, Mode::Transport, false, false), false});
  sas.push_back({"esp-gcm256-tunnel-v6-esn", esp(0x1002, Cipher::AesGcm256, Integrity::None, Mode::Tunnel, true, true), true});
  sas.push_back({"esp-cbc128-sha1-transport-v6", esp(0x1003, Cipher::AesCbc128, Integrity::HmacSha1_96, Mode::Transport, true, false), true});
  sas.push_back({"esp-cbc256-sha256-tunnel-v4-esn", esp(0x1004, Cipher::AesCbc256, Integrity::HmacSha256_128, Mode::Tunnel, false, true), false});
  sas.push_back({"esp-null-sha256-transport-v4", esp(0x1005, Cipher::Null, Integrity::HmacSha256_128, Mode::Transport, false, false), false});
  auto udp = esp(0x1006, Cipher::AesGcm128, Integrity::None, Mode::Transport, false, false);
  udp.udp_encapsulation = UdpEncapsulation{kNatTraversalPort, kNatTraversalPort};
  sas.push_back({"esp-gcm128-udp-transport-v4", std::move(udp), false});
  auto udp6 = esp(0x1007, Cipher::AesCbc128, Integrity::HmacSha1_96, Mode::Tunnel, true, false);
  udp6.udp_encapsulation = UdpEncapsulation{4501, kNatTraversalPort};
  sas.push_back({"esp-cbc128-sha1-udp-tunnel-v6", std::move(udp6), true});
  sas.push_back({"ah-sha1-transport-v4", ah(0x2001, Integrity::HmacSha1_96, Mode::Transport, false, false), false});
  sas.push_back({"ah-sha256-tunnel-v6-esn", ah(0x2002, Integrity::HmacSha256_128, Mode::Tunnel, true, true), true});
  sas.push_back({"ah-sha256-transport-v6", ah(0x2003, Integrity::HmacSha256_128, Mode::Transport, true, false), true});
  return sas;
}

SaParams inbound_of(const SaParams& outbound) {
  SaParams inbound = outbound;
  inbound.direction = Direction::Inbound;
  if (inbound.tunnel) std::swap(inbound.tunnel->local, inbound.tunnel->remote);
  if (inbound.udp_encapsulation) {
    std::swap(inbound.udp_encapsulation->local_port, inbound.udp_encapsulation->remote_port);
  }
  return inbound;
}

}  // namespace ward::driver::crypto::fuzzing
