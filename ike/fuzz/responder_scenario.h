// What the IKE responder fuzz target and its corpus generator share: host B answering host A
// (ike/tests/exchange_support.h, as in ike_exchange_test), a preshared key, the proposals B
// accepts, and the input format: a sequence of datagrams from A, each a 16-bit big-endian length
// then that many bytes (a length past the end takes what is left).
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ike/sa/phase1_sa.h"
#include "ike/sa/quick_mode.h"

namespace ward::ike::fuzz {

inline constexpr std::string_view kPresharedKey = "correct horse battery staple";
inline constexpr std::uint64_t kResponderSeed = 0x5761726452657370ULL;  // "WardResp"
inline constexpr std::uint64_t kInitiatorSeed = 0x57617264496e6974ULL;  // "WardInit"

// Main mode proposals B accepts: Ward's default and a Windows classic.
inline std::vector<sa::Phase1Proposal> responder_phase1_proposals() {
  using namespace std::chrono_literals;
  return {{IkeEncryptionAlgorithm::AesCbc, 256, IkeHashAlgorithm::Sha2_256, IkeGroupDescription::Ecp256, 28800s},
          {IkeEncryptionAlgorithm::AesCbc, 128, IkeHashAlgorithm::Sha, IkeGroupDescription::Modp2048, 28800s}};
}

inline std::vector<sa::ProtectionSuite> responder_esp_proposals() {
  using driver::crypto::Cipher;
  using driver::crypto::Integrity;
  return {sa::EspProposal{Cipher::AesGcm256, Integrity::None},
          sa::EspProposal{Cipher::AesCbc128, Integrity::HmacSha256_128}};
}

inline std::vector<std::span<const std::byte>> split_datagrams(std::span<const std::byte> input) {
  std::vector<std::span<const std::byte>> out;
  while (input.size() >= 2) {
    std::size_t length = (std::to_integer<std::size_t>(input[0]) << 8) | std::to_integer<std::size_t>(input[1]);
    input = input.subspan(2);
    length = std::min(length, input.size());
    out.push_back(input.first(length));
    input = input.subspan(length);
  }
  return out;
}

inline void append_datagram(std::vector<std::byte>& out, std::span<const std::byte> datagram) {
  out.push_back(std::byte{static_cast<std::uint8_t>(datagram.size() >> 8)});
  out.push_back(std::byte{static_cast<std::uint8_t>(datagram.size())});
  out.insert(out.end(), datagram.begin(), datagram.end());
}

}  // namespace ward::ike::fuzz
