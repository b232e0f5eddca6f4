#include "directory/model/guid.h"

#include <gtest/gtest.h>

namespace ward::model {
namespace {

TEST(Guid, ParsesAndPrintsTheBracedForm) {
  const auto id = Guid::parse("{6a1e5c3f-72b7-11d2-acf0-0260b025cafe}");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->to_string(), "{6A1E5C3F-72B7-11D2-ACF0-0260B025CAFE}");
  EXPECT_EQ(id->bytes()[0], 0x6A);
  EXPECT_EQ(id->bytes()[15], 0xFE);
  EXPECT_EQ(Guid::parse("6A1E5C3F-72B7-11D2-ACF0-0260B025CAFE"), id);
}

TEST(Guid, RejectsMalformedText) {
  for (const char* bad : {"", "{}", "{6A1E5C3F-72B7-11D2-ACF0-0260B025CAF}", "{6A1E5C3F-72B7-11D2-ACF0-0260B025CAFEE}",
                          "{6A1E5C3F_72B7-11D2-ACF0-0260B025CAFE}", "{6A1E5C3G-72B7-11D2-ACF0-0260B025CAFE}",
                          "(6A1E5C3F-72B7-11D2-ACF0-0260B025CAFE)", "{2C4E2FD79-0389-4D6C-8794-55C4D444DB31}"}) {
    EXPECT_FALSE(Guid::parse(bad).has_value()) << bad;
  }
}

TEST(Guid, RandomGuidsAreVersion4AndDistinct) {
  const auto a = Guid::random();
  const auto b = Guid::random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.bytes()[6] >> 4, 4);
  EXPECT_EQ(a.bytes()[8] & 0xC0, 0x80);
  EXPECT_EQ(Guid::parse(a.to_string()), a);
}

}  // namespace
}  // namespace ward::model
