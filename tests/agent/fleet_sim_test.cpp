// A small fleet (40 simulated hosts: wardd's DirectorySource + ChangeWatcher each, simple-bound
// computer accounts) against two real OpenLDAP providers replicating each other, through the
// fleet simulator's library (tools/fleet-sim):
//  (a) targeted refresh: an edit of the Legal policy is applied by every host it is assigned to
//      and fetched by no other host (they receive the notification and ignore it by DN);
//  (b) a GPO link change on one branch OU moves exactly that OU's hosts to the linked GPO;
//  (c) failover and cookie resume: provider 1 killed 300 ms after an edit made on provider 2;
//      every affected host applies it, no fetch finds the directory unavailable, the watches of
//      provider 1 resume on provider 2 from their cookies, and no unaffected host fetches (a
//      watch that had to reload everything would refetch).
// Latencies are printed, not asserted (the simulator prints the figures at scale).
#include <gtest/gtest.h>

#include <iostream>

#include "tools/fleet-sim/fleet_run.h"

namespace ward::fleet {
namespace {

using namespace std::chrono_literals;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

TEST(FleetSim, TargetedRefreshLinkChangeAndFailoverWithCookieResumeOnTwoProviders) {
  FleetOptions options;
  options.layout = {40, 12, 4};
  options.tuning.debounce = 200ms;
  options.tuning.jitter = 500ms;
  options.tuning.poll_interval = 200ms;
  options.apply_timeout = 30s;
  auto fleet = Fleet::start(source_dir(), options, std::cout);
  ASSERT_TRUE(fleet) << fleet.error();

  const auto edit = (*fleet)->policy_edit("policy edit", 1);
  print(std::cout, edit);
  EXPECT_EQ(edit.affected, 12u);
  EXPECT_EQ(edit.applied, edit.affected);
  EXPECT_EQ(edit.unaffected_fetches, 0u) << "hosts the edit cannot affect fetched";
  EXPECT_EQ(edit.round_trips_per_unaffected, 0.0) << "unaffected hosts sent LDAP operations";

  const auto link = (*fleet)->link_change("link change", 1, 0);
  print(std::cout, link);
  EXPECT_GT(link.affected, 0u);
  EXPECT_EQ(link.applied, link.affected);
  EXPECT_EQ(link.unaffected_fetches, 0u);

  const auto failover = (*fleet)->policy_edit("policy edit, provider 1 killed", 1, 300ms, 0);
  print(std::cout, failover);
  EXPECT_EQ(failover.affected, 12u + link.affected) << "the Legal hosts and the newly linked branch";
  EXPECT_EQ(failover.applied, failover.affected) << "a host missed the change across the failover";
  EXPECT_EQ(failover.unavailable_fetches, 0u) << "a fetch found no directory although provider 2 was up";
  EXPECT_GT(failover.watches_lost, 0u);
  EXPECT_EQ(failover.watches_resumed, failover.watches_lost) << "every lost watch resumes from its cookie";
  EXPECT_EQ(failover.unaffected_fetches, 0u) << "a resumed watch refetched without a relevant change";
}

}  // namespace
}  // namespace ward::fleet
