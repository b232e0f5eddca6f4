// The IKEv2 responder fuzz target's seeds replay to the end: IKE_SA_INIT accepted, IKE_AUTH
// authenticated with its CHILD_SA, the DELETEs and CREATE_CHILD_SA rekeys (of the CHILD_SA, of the
// IKE SA and then the CHILD_SA again under its new keys) answered, so mutations of them reach real keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "ike/fuzz/ikev2_scenario.h"

namespace ward::ike::fuzz {
namespace {

std::vector<std::byte> read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::vector<std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), reinterpret_cast<const std::byte*>(bytes.data()) + bytes.size());
}

TEST(Ikev2ResponderReplay, EverySeedAuthenticatesAndAgreesTheChildSa) {
  const std::filesystem::path dir = IKEV2_CORPUS_DIR;
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++seeds;
    const auto outcome = replay_to_ikev2_responder(read(entry.path()));
    EXPECT_TRUE(outcome.started) << entry.path();
    EXPECT_TRUE(outcome.established) << entry.path();
    EXPECT_TRUE(outcome.child) << entry.path();
    const auto name = entry.path().filename().string();
    EXPECT_EQ(outcome.closed, name == "then-delete-ike-sa.bin") << entry.path();
    EXPECT_EQ(outcome.child_rekeyed, name == "then-rekey-child.bin" || name == "then-rekey-ike-sa.bin") << entry.path();
    EXPECT_EQ(outcome.ike_rekeyed, name == "then-rekey-ike-sa.bin") << entry.path();
  }
  EXPECT_EQ(seeds, 5U);
}

TEST(Ikev2ResponderReplay, AFlippedByteInIkeAuthIsDroppedWithoutAnSa) {
  auto seed = read(std::filesystem::path(IKEV2_CORPUS_DIR) / "ike-sa-init-and-auth.bin");
  ASSERT_GT(seed.size(), 40U);
  seed[seed.size() - 20] ^= std::byte{0x01};   // inside IKE_AUTH's SK payload
  const auto outcome = replay_to_ikev2_responder(seed);
  EXPECT_TRUE(outcome.started);
  EXPECT_FALSE(outcome.established);
}

}  // namespace
}  // namespace ward::ike::fuzz
