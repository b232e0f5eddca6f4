#include "common/errno_text.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace ward {
namespace {

TEST(ErrnoText, NamesWhatFailedAndTheReason) {
  EXPECT_EQ(errno_text("open /etc/ward/ward.conf", ENOENT), "open /etc/ward/ward.conf: No such file or directory");
  EXPECT_EQ(errno_text("bind 127.0.0.1:500", EADDRINUSE), "bind 127.0.0.1:500: Address already in use");
}

TEST(ErrnoText, TakesTheReasonFromErrnoByDefault) {
  errno = EACCES;
  EXPECT_EQ(errno_text("socket"), "socket: Permission denied");
}

}  // namespace
}  // namespace ward
