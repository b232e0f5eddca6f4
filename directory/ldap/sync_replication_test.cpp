// The sync watch against two real OpenLDAP providers replicating each other (multi-provider
// syncrepl): a change made on either provider reaches a watch on the other with its DN; a watch
// whose provider is killed resumes on the other from its cookie, told exactly what changed while
// it was away (modified and deleted entries by DN, no full reload); a cookie from before is
// accepted by either provider.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "directory/ldap/shared_session.h"
#include "directory/ldap/sync_state.h"
#include "tests/harness/replicated_slapd.h"

namespace ward::ldap {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 20s;
const std::string kSuffix = "dc=ward,dc=test";

test::ReplicatedSlapd* directory = nullptr;

class SyncReplication : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::SlapdOptions options;
    options.suffix = kSuffix;
    auto started = test::ReplicatedSlapd::start(options);
    ASSERT_TRUE(started) << started.error().to_string();
    directory = started->release();
    std::string ldif = "dn: ou=Watched," + kSuffix + "\nobjectClass: organizationalUnit\nou: Watched\n\n";
    for (int i = 0; i < 5; ++i) {
      ldif += "dn: cn=item" + std::to_string(i) + ",ou=Watched," + kSuffix +
              "\nobjectClass: organizationalRole\ncn: item" + std::to_string(i) + "\n\n";
    }
    ASSERT_TRUE(directory->provider(0).add_ldif_text(ldif));
    ASSERT_TRUE(directory->wait_converged(kWait));
  }
  static void TearDownTestSuite() {
    delete directory;
    directory = nullptr;
  }

  static SessionOptions admin_options(std::vector<std::string> uris) {
    SessionOptions options;
    options.uris = std::move(uris);
    options.bind = SimpleBind{directory->provider(0).options().root_dn,
                              model::Secret(directory->provider(0).options().root_password)};
    options.network_timeout = 2s;
    options.operation_timeout = 5s;
    return options;
  }

  static void modify_description(const std::string& uri, const std::string& dn, const std::string& text) {
    auto session = Session::connect(admin_options({uri}));
    ASSERT_TRUE(session) << session.error().to_string();
    auto done = (*session)->modify(dn, std::vector<Modification>{{Modification::Op::kReplace, "description", {text}}});
    ASSERT_TRUE(done) << done.error().to_string();
  }

  static SyncWatchRequest request() {
    SyncWatchRequest r;
    r.base = "ou=Watched," + kSuffix;
    return r;
  }

  // Polls until `done(state outcome so far)` or the deadline; the outcomes are merged.
  struct Watch {
    std::shared_ptr<Session> session;
    int msgid = 0;
    SyncWatchState state;
    SyncOutcome seen;
    std::size_t entry_messages = 0;
    bool lost = false;

    void start(const std::shared_ptr<Session>& s) {
      session = s;
      state.begin();
      auto id = session->start_sync(request(), state.cookie());
      ASSERT_TRUE(id) << id.error().to_string();
      msgid = *id;
      lost = false;
    }
    template <typename Done>
    bool poll_until(Done done) {
      const auto deadline = Clock::now() + kWait;
      while (Clock::now() < deadline) {
        auto got = session->poll_sync(msgid);
        if (!got) {
          lost = true;
          return done();
        }
        for (const auto& m : got->messages) entry_messages += m.kind == SyncMessage::Kind::kEntry ? 1 : 0;
        auto outcome = state.apply(got->messages);
        seen.refresh_done = seen.refresh_done || outcome.refresh_done;
        seen.unknown = seen.unknown || outcome.unknown;
        seen.changed_dns.insert(seen.changed_dns.end(), outcome.changed_dns.begin(), outcome.changed_dns.end());
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
      }
      return false;
    }
    bool saw(const std::string& dn) const {
      for (const auto& d : seen.changed_dns) {
        if (d == dn) return true;
      }
      return false;
    }
  };
};

TEST_F(SyncReplication, AChangeOnEitherProviderReachesAWatchOnTheOtherWithItsDn) {
  auto session = Session::connect(admin_options({directory->uris()[0]}));
  ASSERT_TRUE(session) << session.error().to_string();
  Watch watch;
  watch.start(std::shared_ptr<Session>(std::move(*session)));
  ASSERT_TRUE(watch.poll_until([&] { return watch.seen.refresh_done; }));
  EXPECT_TRUE(watch.seen.empty()) << "the initial content is not a change";
  EXPECT_EQ(watch.state.known_entries(), 6u);
  EXPECT_FALSE(watch.state.cookie().empty());

  const std::string item = "cn=item1,ou=Watched," + kSuffix;
  modify_description(directory->uris()[1], item, "edited on provider 2");
  ASSERT_TRUE(watch.poll_until([&] { return watch.saw(item); })) << "the change made on provider 2 never arrived";
  EXPECT_EQ(watch.seen.changed_dns.size(), 1u);
  EXPECT_FALSE(watch.seen.unknown);
}

TEST_F(SyncReplication, AWatchResumesOnTheOtherProviderFromItsCookieWhenItsProviderDies) {
  SharedSession shared(admin_options(directory->uris()));
  auto first = shared.acquire();
  ASSERT_TRUE(first) << first.error().to_string();
  const std::size_t dead = first->session->uri_index();
  const std::size_t alive = 1 - dead;
  Watch watch;
  watch.start(first->session);
  ASSERT_TRUE(watch.poll_until([&] { return watch.seen.refresh_done; }));
  const auto initial_entries = watch.entry_messages;
  watch.seen = {};

  directory->provider(dead).stop();
  ASSERT_TRUE(watch.poll_until([&] { return watch.lost; })) << "the watch did not notice its provider die";
  shared.discard(watch.session);

  // While the watch is away: one entry modified, one deleted, on the surviving provider.
  const std::string modified = "cn=item2,ou=Watched," + kSuffix;
  const std::string deleted = "cn=item3,ou=Watched," + kSuffix;
  modify_description(directory->uris()[alive], modified, "edited while the watch was away");
  {
    auto admin = Session::connect(admin_options({directory->uris()[alive]}));
    ASSERT_TRUE(admin) << admin.error().to_string();
    ASSERT_TRUE((*admin)->remove(deleted));
  }

  auto second = shared.acquire();
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->session->uri_index(), alive);
  watch.entry_messages = 0;
  watch.start(second->session);
  ASSERT_TRUE(watch.poll_until([&] { return watch.seen.refresh_done; }));
  EXPECT_TRUE(watch.saw(modified));
  EXPECT_TRUE(watch.saw(deleted));
  EXPECT_FALSE(watch.seen.unknown);
  EXPECT_EQ(watch.seen.changed_dns.size(), 2u) << "only what changed while away";
  EXPECT_LT(watch.entry_messages, initial_entries) << "resumed from the cookie, not reloaded";

  ASSERT_TRUE(directory->provider(dead).restart());
  ASSERT_TRUE(directory->wait_converged(kWait));
  // The dead provider is back and caught up: the same cookie resumes there too, with nothing new.
  auto back = Session::connect(admin_options({directory->uris()[dead]}));
  ASSERT_TRUE(back) << back.error().to_string();
  watch.seen = {};
  watch.start(std::shared_ptr<Session>(std::move(*back)));
  ASSERT_TRUE(watch.poll_until([&] { return watch.seen.refresh_done; }));
  EXPECT_TRUE(watch.seen.empty()) << watch.seen.changed_dns.size() << " changes reported on a caught-up provider";
}

}  // namespace
}  // namespace ward::ldap
