// The committed seeds of ike_responder_fuzz replay to the end: each main mode is established and,
// where the seed has one, quick mode installs its two SAs. If the responder's randomness were not
// repeatable (or the exchange code changed what it sends), the fuzzer would only ever reach main
// mode 4: regenerate with ike_responder_corpus_gen.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "ike/fuzz/responder_replay.h"

namespace ward::ike::fuzz {
namespace {

std::vector<std::byte> read_seed(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto* begin = reinterpret_cast<const std::byte*>(bytes.data());
  return {begin, begin + bytes.size()};
}

TEST(IkeResponderSeeds, EverySeedReplaysToTheEnd) {
  const char* source = std::getenv("WARD_SOURCE_DIR");
  const std::filesystem::path corpus = std::filesystem::path(source ? source : ".") / "ike/fuzz/corpus";
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const auto name = entry.path().filename().string();
    const auto outcome = replay_to_responder(read_seed(entry.path()));
    ++seeds;
    EXPECT_TRUE(outcome.main_mode_established) << name;
    if (name.rfind("main-and-quick-mode", 0) == 0) {
      EXPECT_TRUE(outcome.quick_mode_done) << name;
      EXPECT_EQ(outcome.installed_sas, 2u) << name;
    }
    // The same input twice gives the same outcome: nothing but the input decides.
    const auto again = replay_to_responder(read_seed(entry.path()));
    EXPECT_EQ(again.quick_mode_done, outcome.quick_mode_done) << name;
  }
  EXPECT_GE(seeds, 3u);
}

}  // namespace
}  // namespace ward::ike::fuzz
