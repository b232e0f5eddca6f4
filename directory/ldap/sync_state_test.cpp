// SyncCookie (multi-provider cookies merged per server id, no sid handed back) and SyncWatchState
// (sync messages -> changed DNs), on messages as poll_sync decodes them.
#include <gtest/gtest.h>

#include "directory/ldap/sync_state.h"

namespace ward::ldap {
namespace {

const std::string kCsn1a = "20261206025713.933156Z#000000#001#000000";
const std::string kCsn1b = "20261206025800.000001Z#000000#001#000000";
const std::string kCsn2 = "20261206025714.000000Z#000000#002#000000";

SyncMessage entry(SyncState state, std::string uuid, std::string dn, bool refreshing = false) {
  SyncMessage m;
  m.kind = SyncMessage::Kind::kEntry;
  m.state = state;
  m.uuid = std::move(uuid);
  m.entry.dn = std::move(dn);
  m.refreshing = refreshing;
  return m;
}

SyncMessage refresh_done(bool present_phase = false) {
  SyncMessage m;
  m.kind = SyncMessage::Kind::kRefreshDone;
  m.present_phase = present_phase;
  m.cookie = "rid=000,sid=001,csn=" + kCsn1a;
  return m;
}

TEST(SyncCookie, KeepsTheNewestCsnOfEachServerAndNoSid) {
  SyncCookie cookie;
  EXPECT_TRUE(cookie.merge("rid=000,sid=001,csn=" + kCsn1a + ";" + kCsn2));
  EXPECT_TRUE(cookie.merge("rid=000,sid=002,csn=" + kCsn1b));  // a persist-phase cookie: one CSN
  EXPECT_EQ(cookie.to_string(), "rid=000,csn=" + kCsn1b + ";" + kCsn2);
  EXPECT_TRUE(cookie.merge("rid=000,sid=001,csn=" + kCsn1a));  // read, but older: the newer CSN stays
  EXPECT_EQ(cookie.to_string(), "rid=000,csn=" + kCsn1b + ";" + kCsn2);
  EXPECT_FALSE(cookie.merge("rid=000,sid=001"));
  EXPECT_FALSE(cookie.merge("rid=000,csn=not a csn"));
  EXPECT_EQ(SyncCookie::parse(cookie.to_string()), cookie);
  EXPECT_FALSE(SyncCookie::parse("garbage"));
}

TEST(SyncWatchState, InitialContentIsNoChangeAndPersistChangesNameTheirDns) {
  SyncWatchState state;
  state.begin();
  auto first = state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), entry(SyncState::kAdd, "u2", "cn=b,dc=t", true),
                            refresh_done()});
  EXPECT_TRUE(first.empty());
  EXPECT_TRUE(first.refresh_done);
  EXPECT_EQ(state.known_entries(), 2u);
  EXPECT_FALSE(state.cookie().empty());

  auto modified = state.apply({entry(SyncState::kModify, "u1", "cn=a,dc=t")});
  EXPECT_EQ(modified.changed_dns, std::vector<std::string>{"cn=a,dc=t"});
  auto moved = state.apply({entry(SyncState::kModify, "u2", "cn=b,ou=new,dc=t")});
  EXPECT_EQ(moved.changed_dns, (std::vector<std::string>{"cn=b,ou=new,dc=t", "cn=b,dc=t"}));
  auto deleted = state.apply({entry(SyncState::kDelete, "u1", "cn=a,dc=t")});
  EXPECT_EQ(deleted.changed_dns, std::vector<std::string>{"cn=a,dc=t"});
  EXPECT_EQ(state.known_entries(), 1u);
}

TEST(SyncWatchState, AResumedRefreshReportsChangesAndDeletionsByUuid) {
  SyncWatchState state;
  state.begin();
  state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), entry(SyncState::kAdd, "u2", "cn=b,dc=t", true),
               entry(SyncState::kAdd, "u3", "cn=c,dc=t", true), refresh_done()});
  state.begin();  // reconnect, resumed from the cookie
  SyncMessage gone;
  gone.kind = SyncMessage::Kind::kIdSet;
  gone.deletes = true;
  gone.uuids = {"u2"};
  auto outcome = state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), gone, refresh_done()});
  EXPECT_EQ(outcome.changed_dns, (std::vector<std::string>{"cn=a,dc=t", "cn=b,dc=t"}));
  EXPECT_FALSE(outcome.unknown);

  state.begin();
  gone.uuids = {"never-seen"};
  EXPECT_TRUE(state.apply({gone, refresh_done()}).unknown);
}

TEST(SyncWatchState, APresentPhaseDeletesWhatItDoesNotMention) {
  SyncWatchState state;
  state.begin();
  state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), entry(SyncState::kAdd, "u2", "cn=b,dc=t", true),
               refresh_done()});
  state.begin();
  SyncMessage present;
  present.kind = SyncMessage::Kind::kIdSet;
  present.uuids = {"u1"};
  auto outcome = state.apply({present, refresh_done(true)});
  EXPECT_EQ(outcome.changed_dns, std::vector<std::string>{"cn=b,dc=t"});
  EXPECT_EQ(state.known_entries(), 1u);
}

TEST(SyncWatchState, AFullReloadAfterARefusedCookieIsAnUnknownChange) {
  SyncWatchState state;
  state.begin();
  state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), refresh_done()});
  state.forget_cookie();
  state.begin();
  auto outcome = state.apply({entry(SyncState::kAdd, "u1", "cn=a,dc=t", true), refresh_done()});
  EXPECT_TRUE(outcome.unknown);
}

}  // namespace
}  // namespace ward::ldap
