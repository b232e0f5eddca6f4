// policy_list_bench: how long the editor's policy list takes to refresh from a real slapd holding
// the Legal scenario and N more policies (default 500, each a copy of the Legal policy with fresh
// ids). A harness printing figures, not a test; run it by hand:
//
//   build/default/gui/bench/policy_list_bench [--policies N] [--runs R]
//
// It prints, as the median of R refreshes with their LDAP round trips:
//   full read      every policy read in full (store::list_policies, then store::read_policy for
//                  each): the cost of a refresh that learns every rule count from the policies
//   editor list    LdapPolicyStore::list(), as the editor's Refresh calls it (first and later)
//   after an edit  LdapPolicyStore::list() after one policy's description changed
// and the ratios against "full read", measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "directory/model/fresh_ids.h"
#include "directory/model/policy_json.h"
#include "directory/store/ldif.h"
#include "directory/store/policy_store.h"
#include "gui/ldap_policy_store.h"
#include "tests/harness/slapd_instance.h"

using namespace ward;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDomain = "DC=example,DC=test";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Figure {
  double median_ms = 0;
  std::uint64_t round_trips = 0;
};

// The median of `runs` calls of run(i) (after prepare(i), which is not timed) and the round trips
// one call made on `session`.
template <typename Prepare, typename Run>
Figure measure(int runs, ldap::Session& session, Prepare prepare, Run run) {
  std::vector<double> times;
  std::uint64_t trips = 0;
  for (int i = 0; i < runs; ++i) {
    prepare(i);
    const auto before = session.round_trips();
    const auto start = Clock::now();
    run(i);
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    trips = session.round_trips() - before;
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], trips};
}

void print(const char* what, const Figure& figure, const Figure& baseline) {
  std::printf("%-26s %9.1f ms  %6llu round trips  %6.2fx of full read\n", what, figure.median_ms,
              static_cast<unsigned long long>(figure.round_trips), figure.median_ms / baseline.median_ms);
}

}  // namespace

int main(int argc, char** argv) {
  int count = 500;
  int runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--policies") count = std::atoi(argv[i + 1]);
    else if (flag == "--runs") runs = std::atoi(argv[i + 1]);
  }
  const char* source_env = std::getenv("WARD_SOURCE_DIR");
  const std::filesystem::path source = source_env != nullptr ? source_env : WARD_SOURCE_DIR_DEFAULT;
  auto dir = test::TempDir::create("policy-list-bench");
  if (!dir) {
    std::cerr << dir.error().to_string() << "\n";
    return 1;
  }
  auto legal = model::policy_from_json(read_file(source / "schemas/examples/legal-policy.json"));
  if (!legal) return 1;
  std::ofstream ldif(dir->path() / "more.ldif");
  for (int i = 0; i < count; ++i) {
    auto copy = model::with_fresh_ids(*legal);
    copy.name = "Policy " + std::to_string(i + 1);
    auto text = store::policy_ldif(copy, kDomain);
    if (!text) {
      std::cerr << text.error().to_string() << "\n";
      return 1;
    }
    ldif << "\n" << *text;
  }
  ldif.close();

  test::SlapdOptions options;
  options.suffix = "dc=example,dc=test";
  options.root_dn = "cn=admin,dc=example,dc=test";
  options.create_suffix_entry = false;
  options.extra_schemas = {source / "schemas/openldap/ward-ad-ipsec.ldif"};
  options.initial_ldif = {source / "schemas/examples/legal.ldif", dir->path() / "more.ldif"};
  const auto started = Clock::now();
  auto slapd = test::SlapdInstance::start(options);
  if (!slapd) {
    std::cerr << slapd.error().to_string() << "\n";
    return 1;
  }
  std::printf("slapd with %d + 2 policies loaded and started in %.1f s\n", count,
              std::chrono::duration<double>(Clock::now() - started).count());

  ldap::SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri()};
  session_options.bind = ldap::SimpleBind{options.root_dn, model::Secret(options.root_password)};
  auto baseline_session = ldap::Session::connect(session_options);
  auto editor_session = ldap::Session::connect(session_options);
  if (!baseline_session || !editor_session) return 1;
  ldap::Session& checker = **baseline_session;

  const auto nothing = [](int) {};
  const Figure full = measure(runs, checker, nothing, [&](int) {
    auto listed = store::list_policies(checker, kDomain);
    if (!listed) std::abort();
    for (const auto& policy : *listed) {
      if (!store::read_policy(checker, policy.dn)) std::abort();
    }
  });

  gui::LdapPolicyStore store(std::move(*editor_session), kDomain);
  ldap::Session& editor = store.session();
  std::size_t rows = 0;
  const Figure first = measure(1, editor, nothing, [&](int) { rows = store.list()->size(); });
  const Figure later = measure(runs, editor, nothing, [&](int) {
    if (!store.list()) std::abort();
  });
  auto listed = store::list_policies(checker, kDomain);
  const auto edit = [&](int i) {  // another administrator's edit, on another connection
    auto stored = store::read_policy(checker, listed->front().dn);
    stored->policy.description = "edited " + std::to_string(i);
    if (!store::update_policy(checker, kDomain, stored->policy)) std::abort();
  };
  const Figure edited = measure(runs, editor, edit, [&](int) {
    if (!store.list()) std::abort();
  });
  std::printf("%zu policies listed\n", rows);
  print("full read (baseline)", full, full);
  print("editor list, first", first, full);
  print("editor list, later", later, full);
  print("editor list, after an edit", edited, full);
  return 0;
}
