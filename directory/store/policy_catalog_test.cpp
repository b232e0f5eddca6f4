// PolicyCatalog against a real slapd holding the Legal scenario (schemas/examples/legal.ldif):
// what it lists equals what read_policy says of each policy, and a refresh after a change reads
// and maps only what changed.
#include "directory/store/policy_catalog.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "directory/adblob/ad_object.h"
#include "directory/model/fresh_ids.h"
#include "directory/model/policy_json.h"
#include "directory/store/policy_store.h"
#include "tests/harness/slapd_instance.h"

namespace ward::store {
namespace {

const std::string kDomain = "DC=example,DC=test";

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

class PolicyCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::SlapdOptions options;
    options.suffix = "dc=example,dc=test";
    options.root_dn = "cn=admin,dc=example,dc=test";
    options.create_suffix_entry = false;
    options.extra_schemas = {source_dir() / "schemas/openldap/ward-ad-ipsec.ldif"};
    options.initial_ldif = {source_dir() / "schemas/examples/legal.ldif"};
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = std::move(*slapd);
    ldap::SessionOptions session;
    session.uris = {slapd_->ldap_uri()};
    session.bind = ldap::SimpleBind{options.root_dn, model::Secret(options.root_password)};
    auto editor = ldap::Session::connect(session);
    auto other = ldap::Session::connect(session);
    ASSERT_TRUE(editor && other);
    editor_ = std::move(*editor);
    other_ = std::move(*other);
  }

  // Each entry's rule count and problem are what read_policy gives for that policy.
  void expect_as_read(const std::vector<CatalogEntry>& entries) {
    for (const auto& entry : entries) {
      auto read = read_policy(*other_, entry.summary.dn);
      if (read) {
        EXPECT_FALSE(entry.problem) << entry.summary.name << ": " << entry.problem->to_string();
        EXPECT_EQ(entry.rule_count, read->policy.rules.size()) << entry.summary.name;
      } else {
        ASSERT_TRUE(entry.problem) << entry.summary.name << " reads in full with an error: " << read.error().to_string();
        EXPECT_EQ(entry.problem->to_string(), read.error().to_string());
      }
    }
  }

  const CatalogEntry* named(const std::vector<CatalogEntry>& entries, const std::string& name) {
    for (const auto& entry : entries) {
      if (entry.summary.name == name) return &entry;
    }
    return nullptr;
  }

  std::unique_ptr<test::SlapdInstance> slapd_;
  std::unique_ptr<ldap::Session> editor_, other_;
};

TEST_F(PolicyCatalogTest, RefreshesReadOnlyWhatChanged) {
  PolicyCatalog catalog(kDomain);
  auto first = catalog.refresh(*editor_);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_TRUE(catalog.last_refresh().full);
  ASSERT_EQ(first->size(), 2u);
  expect_as_read(*first);
  const auto* legal = named(*first, "Communication for the Legal Department");
  ASSERT_NE(legal, nullptr);
  EXPECT_EQ(legal->rule_count, 2u);
  ASSERT_EQ(legal->summary.assigned_by.size(), 1u);
  EXPECT_EQ(legal->summary.assigned_by[0].gpo_display_name, "Legal IPsec");
  const std::size_t all_objects = catalog.last_refresh().objects_read;
  EXPECT_GT(all_objects, 10u);

  // Nothing changed: three round trips (the policies, the GPOs, the changed objects) and nothing
  // mapped again.
  auto again = catalog.refresh(*editor_);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(catalog.last_refresh().full);
  EXPECT_EQ(catalog.last_refresh().policies_mapped, 0u);
  EXPECT_EQ(catalog.last_refresh().round_trips, 3u);
  EXPECT_LT(catalog.last_refresh().objects_read, all_objects);
  EXPECT_EQ(again->size(), 2u);

  // Another administrator adds a filter to one of Legal's lists (the filter object changes,
  // nothing else): only Legal is mapped again, in the same second as the refresh before.
  auto stored = read_policy(*other_, legal->summary.dn);
  ASSERT_TRUE(stored) << stored.error().to_string();
  model::Policy edited = stored->policy;
  auto filter = edited.filter_lists.front().filters.front();
  filter.id = model::Guid::random();
  filter.destination_ports = PortRange::single(8443);
  edited.filter_lists.front().filters.push_back(filter);
  ASSERT_TRUE(update_policy(*other_, kDomain, edited));
  auto after_edit = catalog.refresh(*editor_);
  ASSERT_TRUE(after_edit) << after_edit.error().to_string();
  EXPECT_EQ(catalog.last_refresh().policies_mapped, 1u);
  expect_as_read(*after_edit);

  // A rule more: the count follows.
  auto rule = edited.rules.front();
  rule.id = model::Guid::random();
  rule.name = "Another rule";
  edited.rules.push_back(rule);
  ASSERT_TRUE(update_policy(*other_, kDomain, edited));
  auto more = catalog.refresh(*editor_);
  ASSERT_TRUE(more) << more.error().to_string();
  EXPECT_EQ(named(*more, edited.name)->rule_count, 3u);
  EXPECT_EQ(catalog.last_refresh().policies_mapped, 1u);

  // A new policy shows, a deleted one goes.
  auto copy = model::with_fresh_ids(edited);
  copy.name = "Copy";
  auto copy_dn = write_policy(*other_, kDomain, copy);
  ASSERT_TRUE(copy_dn) << copy_dn.error().to_string();
  auto with_copy = catalog.refresh(*editor_);
  ASSERT_TRUE(with_copy) << with_copy.error().to_string();
  ASSERT_NE(named(*with_copy, "Copy"), nullptr);
  EXPECT_EQ(named(*with_copy, "Copy")->rule_count, 3u);
  EXPECT_EQ(catalog.last_refresh().policies_mapped, 1u);
  ASSERT_TRUE(delete_policy(*other_, kDomain, *copy_dn, false));
  auto without = catalog.refresh(*editor_);
  ASSERT_TRUE(without) << without.error().to_string();
  EXPECT_EQ(named(*without, "Copy"), nullptr);
  expect_as_read(*without);
}

// An object whose blob no longer decodes makes its policy unreadable, with read_policy's words.
TEST_F(PolicyCatalogTest, ABrokenObjectShowsAsTheProblemReadPolicyReports) {
  PolicyCatalog catalog(kDomain);
  auto first = catalog.refresh(*editor_);
  ASSERT_TRUE(first) << first.error().to_string();
  const auto* legal = named(*first, "Communication for the Legal Department");
  ASSERT_NE(legal, nullptr);
  auto stored = read_policy(*other_, legal->summary.dn);
  ASSERT_TRUE(stored);
  std::string filter_dn;
  for (const auto& object : stored->objects) {
    if (object.object_class == adblob::AdClass::Filter) filter_dn = object.dn;
  }
  ASSERT_FALSE(filter_dn.empty());
  ASSERT_TRUE(other_->modify(filter_dn, {{ldap::Modification::Op::kReplace, "ipsecData", {std::string("\x01\x02\x03", 3)}}}));
  auto broken = catalog.refresh(*editor_);
  ASSERT_TRUE(broken) << broken.error().to_string();
  const auto* now = named(*broken, legal->summary.name);
  ASSERT_NE(now, nullptr);
  EXPECT_TRUE(now->problem);
  expect_as_read(*broken);
}

}  // namespace
}  // namespace ward::store
