// The IKE process's socket groups (socket_groups.h): a group arrives a socket at a time, in its
// order, and is taken whole in that order; a socket out of place spoils its group with a reason that
// names it, and a group that never became whole is not taken.
#include "agent/ikeproc/socket_groups.h"

#include <sys/eventfd.h>

#include <gtest/gtest.h>

namespace ward::agent::ikeproc {
namespace {

const IpAddress kLocal = *IpAddress::parse("10.20.1.1");

// A descriptor to stand for a socket (the groups only keep and hand them on), and its number.
std::pair<privsep::OwnedFd, int> descriptor() {
  privsep::OwnedFd fd(::eventfd(0, EFD_CLOEXEC));
  const int number = fd.get();
  return {std::move(fd), number};
}

SocketNote note(std::uint32_t engine, std::uint32_t engines, std::uint16_t port = 500) {
  return {kLocal, port, {engine}, {engines}};
}

TEST(SocketGroups, AGroupIsTakenWholeInItsOrder) {
  SocketGroups groups;
  std::vector<int> sent;
  for (std::uint32_t engine = 0; engine < 3; ++engine) {
    auto [fd, number] = descriptor();
    sent.push_back(number);
    ASSERT_TRUE(groups.add(note(engine, 3), std::move(fd)));
  }
  auto [nat, nat_number] = descriptor();
  ASSERT_TRUE(groups.add(note(0, 1, 4500), std::move(nat)));
  auto taken = groups.take(kLocal, 500);
  ASSERT_TRUE(taken) << taken.error();
  ASSERT_EQ(taken->size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*taken)[i].native_handle(), sent[i]) << i;
  auto taken_nat = groups.take(kLocal, 4500);
  ASSERT_TRUE(taken_nat) << taken_nat.error();
  EXPECT_EQ(taken_nat->front().native_handle(), nat_number);
  auto again = groups.take(kLocal, 500);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), "no socket for 10.20.1.1:500");
}

TEST(SocketGroups, ASocketOutOfPlaceSpoilsItsGroupUntilANewOneStarts) {
  SocketGroups groups;
  auto refused = groups.add(note(1, 2), descriptor().first);   // no group started
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "socket 1 of a group of 2 for 10.20.1.1:500 is not the next of a group wardd started");
  ASSERT_TRUE(groups.add(note(0, 2), descriptor().first));
  auto twice = groups.add(note(0, 3), descriptor().first);   // a new group of 3, then a place given twice
  ASSERT_TRUE(twice);
  ASSERT_TRUE(groups.add(note(2, 3), descriptor().first));
  auto repeated = groups.add(note(2, 3), descriptor().first);
  ASSERT_FALSE(repeated);
  EXPECT_NE(repeated.error().find("socket 2 of a group of 3"), std::string::npos) << repeated.error();
  ASSERT_TRUE(groups.add(note(1, 3), descriptor().first));
  auto spoiled = groups.take(kLocal, 500);
  ASSERT_FALSE(spoiled);
  EXPECT_EQ(spoiled.error(), repeated.error());
  // Another size than the group's is refused too; a first socket starts afresh.
  ASSERT_TRUE(groups.add(note(0, 2), descriptor().first));
  ASSERT_FALSE(groups.add(note(1, 3), descriptor().first));
  ASSERT_TRUE(groups.add(note(0, 2), descriptor().first));
  ASSERT_TRUE(groups.add(note(1, 2), descriptor().first));
  auto whole = groups.take(kLocal, 500);
  ASSERT_TRUE(whole) << whole.error();
  EXPECT_EQ(whole->size(), 2U);
}

TEST(SocketGroups, AGroupMissingASocketIsNotTaken) {
  SocketGroups groups;
  ASSERT_TRUE(groups.add(note(0, 2), descriptor().first));
  auto partial = groups.take(kLocal, 500);
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error(), "1 sockets of a group of 2 for 10.20.1.1:500");
}

}  // namespace
}  // namespace ward::agent::ikeproc
