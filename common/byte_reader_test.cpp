#include "common/byte_reader.h"

#include <array>

#include <gtest/gtest.h>

#include "common/byte_writer.h"

namespace ward {
namespace {

TEST(ByteReader, ReadsBothByteOrders) {
  const std::array<std::byte, 8> raw{std::byte{0x01}, std::byte{0x02}, std::byte{0x03}, std::byte{0x04},
                                     std::byte{0x05}, std::byte{0x06}, std::byte{0x07}, std::byte{0x08}};
  ByteReader reader(raw, "test");
  EXPECT_EQ(*reader.u16_be("a"), 0x0102);
  EXPECT_EQ(*reader.u16_le("b"), 0x0403);
  EXPECT_EQ(*reader.u32_be("c"), 0x05060708u);
  EXPECT_TRUE(reader.empty());
}

TEST(ByteReader, RefusesToReadPastTheEndAndNamesTheField) {
  const std::array<std::byte, 3> raw{};
  ByteReader reader(raw, "ESP header");
  ASSERT_TRUE(reader.u16_be("first").has_value());
  auto fail = reader.u32_be("sequence number");
  ASSERT_FALSE(fail.has_value());
  EXPECT_EQ(fail.error().offset, 2u);
  EXPECT_EQ(fail.error().field, "sequence number");
  EXPECT_EQ(fail.error().to_string(), "ESP header: sequence number at byte offset 2: needs 4 bytes, only 1 left");
  // A failed read consumes nothing.
  EXPECT_EQ(reader.remaining(), 1u);
}

TEST(ByteReader, SubReaderKeepsAbsoluteOffsets) {
  const std::array<std::byte, 6> raw{};
  ByteReader reader(raw, "blob");
  ASSERT_TRUE(reader.skip(2, "header").has_value());
  auto inner = reader.sub_reader(3, "payload");
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(inner->offset(), 2u);
  ASSERT_TRUE(inner->u16_le("x").has_value());
  auto fail = inner->u16_le("y");
  ASSERT_FALSE(fail.has_value());
  EXPECT_EQ(fail.error().offset, 4u);
  EXPECT_EQ(reader.remaining(), 1u);
}

TEST(ByteWriter, RoundTripsThroughTheReader) {
  ByteWriter writer;
  writer.u8(0xAB);
  const auto length_at = writer.reserve_u32();
  writer.u16_be(0x1234);
  writer.u64_le(0x1122334455667788ull);
  writer.patch_u32_le(length_at, static_cast<std::uint32_t>(writer.size() - length_at - 4));

  ByteReader reader(writer.data(), "round trip");
  EXPECT_EQ(*reader.u8("tag"), 0xAB);
  EXPECT_EQ(*reader.u32_le("length"), 10u);
  EXPECT_EQ(*reader.u16_be("value"), 0x1234);
  EXPECT_EQ(*reader.u64_le("wide"), 0x1122334455667788ull);
}

}  // namespace
}  // namespace ward
