// Unverified failures counted on their way to wardd: the first of a kind at once, its repeats as
// one count per interval; every other event at once.
#include "agent/ikeproc/alike_events.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "agent/ikeproc/wire_samples.h"

namespace ward::agent::ikeproc::alike_events_test {
namespace {

using namespace std::chrono_literals;
using ike::service::IkeEvent;

IkeEvent refused_main_mode_1(const std::string& peer, ike::service::FailureKind failure = ike::service::FailureKind::NoPolicy) {
  IkeEvent event;
  event.kind = IkeEvent::Kind::MainModeFailed;
  event.role = ike::auth::Role::Responder;
  event.peer = *IpAddress::parse(peer);
  event.reason = "no phase 1 policy for " + peer;
  event.failure = failure;
  event.unverified = true;
  return event;
}

struct Sent {
  std::mutex mutex;
  std::vector<IkeEvent> events;
  std::vector<AlikeEvents> alike;
  AlikeEventBatcher::SendEvent event_sink() {
    return [this](const IkeEvent& e) {
      const std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  AlikeEventBatcher::SendAlike alike_sink() {
    return [this](const AlikeEvents& a) {
      const std::lock_guard lock(mutex);
      alike.push_back(a);
    };
  }
  std::size_t alike_count() {
    const std::lock_guard lock(mutex);
    return alike.size();
  }
};

TEST(AlikeEvents, VerifiedEventsGoAtOnceEachAndUnverifiedOnesAreCountedAfterTheFirst) {
  Sent sent;
  AlikeEventBatcher batcher(sent.event_sink(), sent.alike_sink(), 1h);
  IkeEvent established;
  established.kind = IkeEvent::Kind::MainModeEstablished;
  established.peer = *IpAddress::parse("192.0.2.7");
  batcher.on_event(established);
  batcher.on_event(established);
  for (int i = 0; i < 100; ++i) batcher.on_event(refused_main_mode_1("10.99.0." + std::to_string(i + 1)));
  ASSERT_EQ(sent.events.size(), 3U) << "two verified, and the first unverified one";
  EXPECT_TRUE(sent.events[2].unverified);
  EXPECT_EQ(sent.events[2].peer.to_string(), "10.99.0.1");
  EXPECT_TRUE(sent.alike.empty()) << "the repeats wait for the interval";

  batcher.flush();
  ASSERT_EQ(sent.alike.size(), 1U);
  EXPECT_EQ(sent.alike[0].count.value, 99U);
  EXPECT_EQ(sent.alike[0].last.peer.to_string(), "10.99.0.100");
  EXPECT_EQ(sent.alike[0].last.reason, "no phase 1 policy for 10.99.0.100");

  batcher.on_event(refused_main_mode_1("10.99.1.1"));  // a new interval: the first goes at once again
  EXPECT_EQ(sent.events.size(), 4U);
  batcher.flush();
  EXPECT_EQ(sent.alike.size(), 1U) << "no repeats, no count";
}

TEST(AlikeEvents, KindsAreCountedApartAndTheRestGoesWhenTheBatcherEnds) {
  Sent sent;
  {
    AlikeEventBatcher batcher(sent.event_sink(), sent.alike_sink(), 1h);
    for (int i = 0; i < 3; ++i) batcher.on_event(refused_main_mode_1("10.99.0." + std::to_string(i + 1)));
    for (int i = 0; i < 5; ++i) {
      batcher.on_event(refused_main_mode_1("10.99.0." + std::to_string(i + 1), ike::service::FailureKind::NoProposalChosen));
    }
    auto other_role = refused_main_mode_1("10.99.0.9");
    other_role.role = ike::auth::Role::Initiator;
    batcher.on_event(other_role);
    EXPECT_EQ(sent.events.size(), 3U);
  }
  ASSERT_EQ(sent.alike.size(), 2U) << "sent by the destructor";
  std::uint32_t total = 0;
  for (const auto& a : sent.alike) total += a.count.value;
  EXPECT_EQ(total, 2U + 4U);
}

TEST(AlikeEvents, CountsGoOutEveryIntervalWithoutAnotherEvent) {
  Sent sent;
  AlikeEventBatcher batcher(sent.event_sink(), sent.alike_sink(), 20ms);
  for (int i = 0; i < 10; ++i) batcher.on_event(refused_main_mode_1("10.99.0." + std::to_string(i + 1)));
  for (int waited = 0; waited < 200 && sent.alike_count() == 0; ++waited) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(sent.alike_count(), 1U);
  EXPECT_EQ(sent.alike[0].count.value, 9U);
}

TEST(AlikeEvents, TooManyKindsAtOnceSendTheirCountsBeforeTheInterval) {
  Sent sent;
  AlikeEventBatcher batcher(sent.event_sink(), sent.alike_sink(), 1h);
  for (std::size_t k = 0; k < AlikeEventBatcher::kMaxKinds; ++k) {
    auto event = refused_main_mode_1("10.99.0.1");
    event.filter_id = static_cast<std::uint32_t>(k + 1);  // another kind each
    batcher.on_event(event);
    batcher.on_event(event);
  }
  // The last new kind filled the table: the counts of the others went then, and its repeat began
  // a new table (so it went at once).
  EXPECT_EQ(sent.alike.size(), AlikeEventBatcher::kMaxKinds - 1);
  EXPECT_EQ(sent.events.size(), AlikeEventBatcher::kMaxKinds + 1);
}

TEST(AlikeEvents, OnTheWireACountIsOneOrMoreOfUnverifiedEvents) {
  auto sample = samples::sample<AlikeEvents>();
  auto back = decode<AlikeEvents>(encode(sample));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->count.value, 4096U);
  EXPECT_EQ(back->last.reason, sample.last.reason);
  sample.count.value = 0;
  auto zero = decode<AlikeEvents>(encode(sample));
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().find("alike events: count at byte"), std::string::npos) << zero.error();
  EXPECT_NE(zero.error().find("0 out of range (1..1000000000)"), std::string::npos) << zero.error();
  sample.count.value = 2;
  sample.last.unverified = false;
  auto verified = decode<AlikeEvents>(encode(sample));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error(), "alike events: body at byte 0: a verified event counted as alike");
}

}  // namespace
}  // namespace ward::agent::ikeproc::alike_events_test
