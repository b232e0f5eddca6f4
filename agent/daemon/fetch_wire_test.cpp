// The directory fetcher's message bodies (fetch_wire.h): what is encoded decodes alike, and an
// answer that is short, long or out of range is refused naming the field and byte offset (wardd
// reads what a possibly compromised fetcher sends).
#include "agent/daemon/fetch_wire.h"

#include <tuple>
#include <utility>

#include "agent/daemon/fetch_wire_samples.h"

#include <gtest/gtest.h>

namespace ward::agent::daemon::fetchproc {
namespace {

using ikeproc::decode;
using ikeproc::encode;

template <std::size_t... I>
void every_body_round_trips(std::index_sequence<I...>) {
  (
      [] {
        using T = std::tuple_element_t<I, samples::Bodies>;
        const auto body = encode(samples::sample<T>());
        auto back = decode<T>(body);
        ASSERT_TRUE(back) << "body " << I << ": " << back.error();
        EXPECT_EQ(encode(*back), body) << "body " << I;
      }(),
      ...);
}

TEST(FetchWire, EveryBodyRoundTripsToTheSameBytes) {
  every_body_round_trips(std::make_index_sequence<std::tuple_size_v<samples::Bodies>>{});
}

TEST(FetchWire, AnAnswerKeepsEverythingWarddUses) {
  const auto answer = samples::sample<FetchAnswer>();
  auto back = decode<FetchAnswer>(encode(answer));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->policy_json, answer.policy_json);
  EXPECT_EQ(back->source, answer.source);
  EXPECT_EQ(back->report, answer.report);
  EXPECT_EQ(back->problems, answer.problems);
  ASSERT_EQ(back->log.size(), 1u);
  EXPECT_EQ(back->log[0].event, "directory-fetch");
  EXPECT_EQ(back->log[0].fields[1].value, "11");
}

TEST(FetchWire, ATruncatedAnswerNamesTheFieldAndByte) {
  auto body = encode(samples::sample<FetchAnswer>());
  body.resize(20);   // serial (8), outcome (8), then 4 bytes of the policy JSON's length
  auto back = decode<FetchAnswer>(body);
  ASSERT_FALSE(back);
  const auto length = std::to_string(samples::sample<FetchAnswer>().policy_json.size());
  EXPECT_EQ(back.error(), "fetch answer: policy_json at byte 16: count " + length + " exceeds the body");
}

TEST(FetchWire, AnOutOfRangeOutcomeOrTrailingBytesAreRefused) {
  auto body = encode(samples::sample<FetchAnswer>());
  body[8] = 4;   // Outcome has 0..3
  auto back = decode<FetchAnswer>(body);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error(), "fetch answer: outcome at byte 8: value out of range");

  FetchAnswer answer = samples::sample<FetchAnswer>();
  auto encoded = encode(answer);
  encoded.push_back(0);
  auto longer = decode<FetchAnswer>(encoded);
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().find("1 bytes left over"), std::string::npos) << longer.error();
}

TEST(FetchWire, ALogCountLargerThanTheBodyIsRefusedBeforeAnyAllocation) {
  FetchAnswer answer;
  auto body = encode(answer);
  // The log's count is the last u32: claim four billion events.
  body[body.size() - 4] = 0xff;
  body[body.size() - 3] = 0xff;
  body[body.size() - 2] = 0xff;
  body[body.size() - 1] = 0xff;
  auto back = decode<FetchAnswer>(body);
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().find("log at byte " + std::to_string(body.size() - 4) + ": count 4294967295 exceeds the body"),
            std::string::npos)
      << back.error();
}

TEST(FetchWire, AWatchNoteWithAnUnknownReasonOrACountBeyondTheBodyIsRefused) {
  auto body = encode(samples::sample<WatchChange>());
  body[0] = 4;   // WatchReason has 0..3
  auto back = decode<WatchChange>(body);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error(), "watch change: reason at byte 0: value out of range");

  WatchChange change;
  auto short_body = encode(change);
  short_body[8] = 0xff;   // the DN list's count (after the reason's 8 bytes), with no DN behind it
  auto refused = decode<WatchChange>(short_body);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("watch change: dns at byte 8: count 255 exceeds the body"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace ward::agent::daemon::fetchproc
