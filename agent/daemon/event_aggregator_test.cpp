// Repeated events: one row and one log line, then the count written once per flush; windows; a
// bounded set of keys; unverified IKE failures from ever new addresses as one row, also when the
// IKE process counted them.
#include "agent/daemon/event_aggregator.h"

#include "agent/daemon/acquire_listener.h"
#include "agent/daemon/test_fixture.h"

namespace ward::agent::daemon::testing {
namespace {

using EventAggregatorTest = DaemonFixture;

EventOccurrence occurrence(const std::string& key, const std::string& reason) {
  EventOccurrence o;
  o.key = key;
  o.log_event = "ike-failure";
  o.fields = {{"reason", reason}};
  o.kind = cache::EventKind::IkeFailure;
  o.peer = "10.20.1.7";
  o.reason = reason;
  return o;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(EventAggregatorTest, RepeatsAreCountedAndWrittenOncePerFlush) {
  EventAggregator events(*cache_, log_, clock_);
  EXPECT_TRUE(events.record(occurrence("k", "no proposal chosen")));
  clock_.advance(std::chrono::seconds(5));
  for (int i = 0; i < 999; ++i) EXPECT_FALSE(events.record(occurrence("k", "no proposal chosen")));
  auto rows = this->events();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 1u) << "repeats wait for the flush";
  EXPECT_EQ(count_of(log_text_.str(), "event=ike-failure"), 1u);
  events.flush();
  rows = this->events();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 1000u);
  EXPECT_EQ(rows[0].last_at, rows[0].at + std::chrono::seconds(5));
  EXPECT_NE(log_text_.str().find("more_like_this=999"), std::string::npos) << log_text_.str();
  events.flush();  // nothing new: no write, no line
  EXPECT_EQ(count_of(log_text_.str(), "event=ike-failure"), 2u);

  // After the window a new row starts.
  clock_.advance(kAggregationWindow);
  EXPECT_TRUE(events.record(occurrence("k", "no proposal chosen")));
  EXPECT_EQ(this->events().size(), 2u);
}

TEST_F(EventAggregatorTest, AtMostAFixedNumberOfKeys) {
  EventAggregator events(*cache_, log_, clock_);
  for (std::size_t i = 0; i < 3 * kMaxAggregationKeys; ++i) {
    auto o = occurrence("key " + std::to_string(i), "reason " + std::to_string(i));
    o.store = false;
    (void)events.record(std::move(o));
  }
  EXPECT_EQ(events.keys(), kMaxAggregationKeys);
  EXPECT_EQ(events.counters().keys_evicted, 2 * kMaxAggregationKeys);
  clock_.advance(kAggregationWindow);
  events.flush();
  EXPECT_EQ(events.keys(), 0u) << "keys whose window is over are forgotten";
}

// A flood of refused main mode 1s from 10,000 forged addresses: one row counting them all, a
// couple of log lines, a bounded aggregator; verified failures stay per peer.
TEST_F(EventAggregatorTest, UnverifiedIkeFailuresFromManyAddressesAreOneRow) {
  AcquireRecorder recorder(*cache_, log_, clock_);
  for (std::uint32_t i = 0; i < 10000; ++i) {
    const auto peer = IpAddress::v4(0x0a140900u + i);
    ike::service::IkeEvent event{ike::service::IkeEvent::Kind::MainModeFailed, peer, ike::auth::Role::Responder, {}, 0, 0, 0,
                                 "no main mode policy for " + peer.to_string() + ": no negotiate rule covers 10.20.1.5 <-> " +
                                     peer.to_string()};
    event.unverified = true;
    recorder.on_ike_event(event);
  }
  recorder.flush();
  const auto rows = events();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 10000u);
  EXPECT_NE(rows[0].reason.find("unverified"), std::string::npos) << rows[0].reason;
  EXPECT_EQ(count_of(log_text_.str(), "event=ike-failure"), 2u) << "the first, then the count";
  EXPECT_EQ(recorder.events().keys(), 1u);

  ike::service::IkeEvent verified{ike::service::IkeEvent::Kind::MainModeFailed, *IpAddress::parse("10.20.1.7"),
                                  ike::auth::Role::Responder, "pre-shared key", 0, 0, 0, "AUTHENTICATION-FAILED"};
  recorder.on_ike_event(verified);
  verified.peer = *IpAddress::parse("10.20.1.8");
  recorder.on_ike_event(verified);
  EXPECT_EQ(events().size(), 3u);
}

// The IKE process sends the repeats of an unverified failure as one count (ikeproc's
// AlikeEventBatcher): they add up as if each had come alone, and one counted before any like it
// is stored once with the rest as its repeats.
TEST_F(EventAggregatorTest, CountedEventsAddUpAsTheEventsWould) {
  AcquireRecorder recorder(*cache_, log_, clock_);
  const auto peer = [](int i) { return *IpAddress::parse("10.99.0." + std::to_string(i)); };
  ike::service::IkeEvent event{ike::service::IkeEvent::Kind::MainModeFailed, peer(1), ike::auth::Role::Responder, {}, 0, 0, 0,
                               "no main mode policy for 10.99.0.1"};
  event.unverified = true;
  recorder.on_ike_event(event);
  event.peer = peer(200);
  event.reason = "no main mode policy for 10.99.0.200";
  recorder.on_ike_events(event, 4999);
  recorder.flush();
  auto rows = events();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 5000u);
  EXPECT_EQ(recorder.events().counters().recorded, 5000u);
  EXPECT_EQ(recorder.events().counters().aggregated, 4999u);
  EXPECT_NE(log_text_.str().find("more_like_this=4999"), std::string::npos) << log_text_.str();

  EventAggregator alone(*cache_, log_, clock_);
  EXPECT_TRUE(alone.record(occurrence("counted first", "no proposal chosen"), 7));
  alone.flush();
  rows = events();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].count, 7u);
  EXPECT_EQ(alone.counters().recorded, 7u);
  EXPECT_EQ(alone.counters().aggregated, 6u);
}

}  // namespace
}  // namespace ward::agent::daemon::testing
