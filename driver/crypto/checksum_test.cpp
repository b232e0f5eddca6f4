// ones_complement_sum adds 32-bit words in the host's byte order and swaps once at the end
// (RFC 1071 2(B)): it must agree, for every length, alignment and continued sum, with the plain
// definition (16-bit big-endian words, an odd last byte padded with zero), including which of the
// two one's complement zeros (0x0000, 0xFFFF) it returns.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "driver/crypto/ip_packet.h"

namespace ward::driver::crypto {
namespace {

std::uint32_t reference_sum(std::span<const std::byte> bytes, std::uint32_t initial) {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += (std::to_integer<std::uint32_t>(bytes[i]) << 8) | std::to_integer<std::uint32_t>(bytes[i + 1]);
  if (i < bytes.size()) sum += std::to_integer<std::uint32_t>(bytes[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum);
}

TEST(OnesComplementSum, AgreesWithTheDefinitionForEveryLengthAndOffset) {
  std::mt19937 random(17);
  std::vector<std::byte> buffer(1600);
  for (auto& b : buffer) b = std::byte(random() & 0xFF);
  for (std::size_t offset = 0; offset < 4; ++offset) {
    for (std::size_t length = 0; length + offset <= buffer.size(); length += (length < 80 ? 1 : 37)) {
      const auto bytes = std::span<const std::byte>(buffer).subspan(offset, length);
      for (const std::uint32_t initial : {0U, 1U, 0xfffeU, 0xffffU, 0x2fffdU}) {
        ASSERT_EQ(ones_complement_sum(bytes, initial), reference_sum(bytes, initial)) << "offset " << offset << " length " << length;
      }
    }
  }
}

TEST(OnesComplementSum, KeepsTheZerosApartAndCarriesEveryWord) {
  const std::vector<std::byte> zeros(64, std::byte{0});
  EXPECT_EQ(ones_complement_sum(zeros), 0U);
  const std::vector<std::byte> ones(64, std::byte{0xFF});  // every word 0xFFFF: negative zero
  EXPECT_EQ(ones_complement_sum(ones), 0xffffU);
  // 0x0001 + 0xFFFE + 0x8000 + 0x8000: carries out of both halves of a 32-bit word.
  const std::vector<std::byte> carries{std::byte{0x00}, std::byte{0x01}, std::byte{0xFF}, std::byte{0xFE},
                                       std::byte{0x80}, std::byte{0x00}, std::byte{0x80}, std::byte{0x00}};
  EXPECT_EQ(ones_complement_sum(carries), reference_sum(carries, 0));
  EXPECT_EQ(ones_complement_sum(carries), 0x0001U);
  // Large enough that the 64-bit accumulator's upper half is used.
  std::vector<std::byte> large(1 << 20, std::byte{0xFF});
  large[5] = std::byte{0x12};
  EXPECT_EQ(ones_complement_sum(large), reference_sum(large, 0));
}

}  // namespace
}  // namespace ward::driver::crypto
