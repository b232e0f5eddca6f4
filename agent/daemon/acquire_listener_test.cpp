// Acquires with no IKE module: logged and recorded as ike-failure, once per peer and filter per
// kAcquireEventInterval.
#include "agent/daemon/acquire_listener.h"

#include "agent/daemon/test_fixture.h"

namespace ward::agent::daemon::testing {
namespace {

using AcquireRecorderTest = DaemonFixture;

TEST_F(AcquireRecorderTest, RecordsOncePerPeerAndFilterPerInterval) {
  AcquireRecorder recorder(*cache_, log_, clock_);
  driver::Acquire acquire;
  acquire.filter_id = 2;
  acquire.peer = *IpAddress::parse("10.20.1.7");
  acquire.source = *IpAddress::parse(kHostAddress);
  acquire.destination = acquire.peer;
  acquire.protocol = 6;
  acquire.destination_port = 445;
  recorder.on_acquire(acquire);
  recorder.on_acquire(acquire);
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].kind, cache::EventKind::IkeFailure);
  EXPECT_EQ(events()[0].peer, "10.20.1.7");
  EXPECT_EQ(events()[0].reason, kNoIkeReason);
  auto other = acquire;
  other.peer = *IpAddress::parse("10.20.1.8");
  recorder.on_acquire(other);
  EXPECT_EQ(events().size(), 2u);
  clock_.advance(kAcquireEventInterval);
  recorder.on_acquire(acquire);
  EXPECT_EQ(events().size(), 3u);
  EXPECT_NE(log_text_.str().find("event=acquire peer=10.20.1.7 filter_id=2"), std::string::npos) << log_text_.str();
}

}  // namespace
}  // namespace ward::agent::daemon::testing
