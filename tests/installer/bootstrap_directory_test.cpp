// installer/bootstrap-directory against a real slapd: a fresh database (no suffix entry, no Ward
// schema, the harness's "everyone reads" ACL) is bootstrapped twice over ldapi with SASL EXTERNAL
// as root, with the Legal example rewritten to the test domain. Then, over ldap:// with simple
// binds: the admin writes policies with the ward-dir binary and creates a computer account; that
// computer reads policies and GPO scoping but can write nothing; anonymous reads nothing.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/harness/slapd_instance.h"

namespace ward {
namespace {

const std::string kDomain = "DC=ward,DC=test";
const std::string kAdminDn = "CN=ward-admin,CN=Users," + kDomain;
const std::string kComputerDn = "CN=ws01,CN=Computers," + kDomain;
const std::string kIpSecurity = "CN=IP Security,CN=System," + kDomain;
const std::string kLegalComputer = "CN=legal-pc1,OU=Legal," + kDomain;
const std::string kLegalPolicyName = "Communication for the Legal Department";
const std::string kAdminPassword = "bootstrap-test-admin-pw";        // test-only credentials
const std::string kComputerPassword = "bootstrap-test-computer-pw";
constexpr int kLdapInsufficientAccess = 50;

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

using RunResult = test::CapturedRun;

RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& dir,
              const std::filesystem::path& input = "/dev/null") {
  return test::run_captured(argv, dir, input);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> bootstrap_argv(const std::string& uri, const std::string& domain,
                                        const std::filesystem::path& admin_password_file,
                                        const std::filesystem::path& examples = source_dir() /
                                                                                "schemas/examples/legal.ldif") {
  return {"/bin/bash",
          (source_dir() / "installer/bootstrap-directory").string(),
          "--uri",
          uri,
          "--domain",
          domain,
          "--schema",
          (source_dir() / "schemas/openldap/ward-ad-ipsec.ldif").string(),
          "--examples",
          examples.string(),
          "--admin-password-file",
          admin_password_file.string(),
          "--with-examples"};
}

// One slapd for the whole story (starting it and bootstrapping twice is most of the time).
class BootstrapDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "SASL EXTERNAL over ldapi maps only root to cn=config's manager";
    test::SlapdOptions options;
    options.suffix = "dc=ward,dc=test";
    options.root_dn = "cn=admin,dc=ward,dc=test";
    options.create_suffix_entry = false;  // the bootstrap creates the domain entry
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    slapd_ = std::move(*slapd);
    dir_ = slapd_->dir() / "bootstrap-test";
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(test::write_file(dir_ / "admin.pw", kAdminPassword + "\n"));  // the bootstrap drops the newline
    ASSERT_TRUE(test::write_file(dir_ / "admin.exact.pw", kAdminPassword));     // ldap tools' -y takes all
    ASSERT_TRUE(test::write_file(dir_ / "computer.pw", kComputerPassword));
  }

  RunResult bootstrap(const std::string& domain = kDomain) {
    return run(bootstrap_argv(slapd_->ldapi_uri(), domain, dir_ / "admin.pw"), dir_);
  }
  RunResult bootstrap_with_examples(const std::filesystem::path& examples) {
    return run(bootstrap_argv(slapd_->ldapi_uri(), kDomain, dir_ / "admin.pw", examples), dir_);
  }

  // ward-dir over ldap:// with a simple bind as `bind_dn`.
  RunResult ward_dir(const std::string& bind_dn, const std::string& password_file,
                     const std::vector<std::string>& words) {
    std::vector<std::string> argv{WARD_DIR_BINARY, "--uri", slapd_->ldap_uri(), "--bind-dn", bind_dn, "--password-file",
                                  (dir_ / password_file).string(), "--domain", kDomain};
    argv.insert(argv.end(), words.begin(), words.end());
    return run(argv, dir_);
  }

  // An OpenLDAP tool (ldapsearch, ldapmodify, ldapadd) over ldap:// with a simple bind, or
  // anonymously when bind_dn is empty; `ldif` goes to its stdin.
  RunResult ldap_tool(const std::string& tool, const std::string& bind_dn, const std::string& password_file,
                      const std::vector<std::string>& args, const std::string& ldif = "") {
    std::vector<std::string> argv{"/usr/bin/" + tool, "-x", "-H", slapd_->ldap_uri()};
    if (!bind_dn.empty()) argv.insert(argv.end(), {"-D", bind_dn, "-y", (dir_ / password_file).string()});
    argv.insert(argv.end(), args.begin(), args.end());
    const auto input = dir_ / "tool.ldif";
    EXPECT_TRUE(test::write_file(input, ldif));
    return run(argv, dir_, input);
  }

  // ldapsearch over ldapi as root (SASL EXTERNAL), e.g. in cn=config.
  RunResult root_search(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/ldapsearch", "-Q", "-Y", "EXTERNAL", "-H", slapd_->ldapi_uri(),
                                  "-LLL", "-o", "ldif-wrap=no"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, dir_);
  }

  std::unique_ptr<test::SlapdInstance> slapd_;
  std::filesystem::path dir_;
};

TEST_F(BootstrapDirectory, TwiceThenAdminWritesAndComputerOnlyReads) {
  // 1. Two runs; the second changes nothing.
  const auto first = bootstrap();
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  const auto second = bootstrap();
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_TRUE(contains(first.out, "loaded Ward's schema")) << first.out;
  EXPECT_TRUE(contains(first.out, "created: " + kDomain)) << first.out;
  EXPECT_TRUE(contains(first.out, "admin password set")) << first.out;
  EXPECT_TRUE(contains(first.out, "equality indexes added: objectClass cn ou dc member sAMAccountName dNSHostName "
                                  "ipsecOwnersReference"))
      << first.out;
  EXPECT_TRUE(contains(second.out, "Ward's schema is already loaded")) << second.out;
  EXPECT_TRUE(contains(second.out, "the indexes are in place")) << second.out;
  EXPECT_FALSE(contains(second.out, "created:")) << second.out;
  EXPECT_TRUE(contains(second.out, "the admin has a password (kept")) << second.out;
  EXPECT_TRUE(contains(second.out, "examples: 0 entries added")) << second.out;

  // cn=config holds the schema once and exactly the three access rules.
  const auto schemas = root_search({"-b", "cn=schema,cn=config", "(cn=*ward-ad-ipsec)", "1.1"});
  ASSERT_EQ(schemas.exit_code, 0) << schemas.describe();
  EXPECT_NE(schemas.out.find("dn:"), std::string::npos) << schemas.out;
  EXPECT_EQ(schemas.out.find("dn:"), schemas.out.rfind("dn:")) << schemas.out;
  const auto access = root_search({"-b", "olcDatabase={1}mdb,cn=config", "-s", "base", "olcAccess"});
  ASSERT_EQ(access.exit_code, 0) << access.describe();
  EXPECT_TRUE(contains(access.out, "olcAccess: {2}to dn.subtree=")) << access.out;
  EXPECT_FALSE(contains(access.out, "olcAccess: {3}")) << access.out;
  // The admin's password is stored hashed by slapd, not as given.
  const auto password = root_search({"-b", kAdminDn, "-s", "base", "(objectClass=*)", "userPassword"});
  ASSERT_EQ(password.exit_code, 0) << password.describe();
  EXPECT_TRUE(contains(password.out, "userPassword:: e1NTSEF9"));  // base64 of "{SSHA}"; the value is not printed

  // 2. The admin writes with ward-dir: the Legal policy out and deleted (assignment included) ...
  const auto exported_file = dir_ / "legal-export.json";
  const auto exported = ward_dir(kAdminDn, "admin.pw", {"policy", "export", kLegalPolicyName, exported_file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.describe();
  const auto deleted = ward_dir(kAdminDn, "admin.pw", {"policy", "delete", kLegalPolicyName, "--force"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.describe();
  const auto gone = ward_dir(kAdminDn, "admin.pw", {"policy", "list"});
  ASSERT_EQ(gone.exit_code, 0) << gone.describe();
  EXPECT_FALSE(contains(gone.out, kLegalPolicyName)) << gone.out;

  // 3. ... creates a computer account that binds with a password ...
  const auto added = ldap_tool("ldapadd", kAdminDn, "admin.exact.pw", {},
                               "dn: " + kComputerDn +
                                   "\nobjectClass: computer\nobjectClass: simpleSecurityObject\ncn: ws01\n"
                                   "sAMAccountName: WS01$\nuserPassword: " +
                                   kComputerPassword + "\n");
  ASSERT_EQ(added.exit_code, 0) << added.describe();

  // 4. ... which may not add the (now absent) policy ...
  const auto rogue_import = ward_dir(kComputerDn, "computer.pw", {"policy", "import", exported_file.string()});
  EXPECT_EQ(rogue_import.exit_code, 1) << rogue_import.describe();
  EXPECT_TRUE(contains(rogue_import.err, "nsufficient access")) << rogue_import.describe();
  const auto still_gone = ward_dir(kAdminDn, "admin.pw", {"policy", "list"});
  EXPECT_EQ(still_gone.out, gone.out);

  // 5. ... and then the admin imports it back and assigns it to the Legal GPO again.
  const auto imported = ward_dir(kAdminDn, "admin.pw", {"policy", "import", exported_file.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();
  const auto assigned = ward_dir(kAdminDn, "admin.pw", {"gpo", "assign", "Legal IPsec", kLegalPolicyName});
  ASSERT_EQ(assigned.exit_code, 0) << assigned.describe();

  // 6. The computer reads the policies and GPO scoping (OUs, gPLinks, GPOs, the winning policy) ...
  const auto listed = ward_dir(kComputerDn, "computer.pw", {"policy", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  EXPECT_TRUE(contains(listed.out, kLegalPolicyName)) << listed.out;
  const auto scope = ward_dir(kComputerDn, "computer.pw", {"scope", kLegalComputer});
  ASSERT_EQ(scope.exit_code, 0) << scope.describe();
  EXPECT_TRUE(contains(scope.out, "IPsec policy: cn=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE}") ||
              contains(scope.out, "IPsec policy: CN=ipsecPolicy{FFB80A58-8E3E-49D6-B37D-3E545E1CD1DE}"))
      << scope.out;

  // 7. ... but may neither delete a policy nor change a GPO link.
  const auto rogue_delete = ward_dir(kComputerDn, "computer.pw", {"policy", "delete", kLegalPolicyName, "--force"});
  EXPECT_EQ(rogue_delete.exit_code, 1) << rogue_delete.describe();
  EXPECT_TRUE(contains(rogue_delete.err, "nsufficient access")) << rogue_delete.describe();
  const auto relink = ldap_tool("ldapmodify", kComputerDn, "computer.pw", {},
                                "dn: " + kDomain + "\nchangetype: modify\nreplace: gPLink\ngPLink: []\n");
  EXPECT_EQ(relink.exit_code, kLdapInsufficientAccess) << relink.describe();
  const auto after = ward_dir(kAdminDn, "admin.pw", {"scope", kLegalComputer});
  EXPECT_EQ(after.out, scope.out);

  // 8. Passwords stay hidden from the computer; anonymous reads nothing.
  const auto secret = ldap_tool("ldapsearch", kComputerDn, "computer.pw",
                                {"-LLL", "-b", kAdminDn, "-s", "base", "(objectClass=*)", "userPassword"});
  ASSERT_EQ(secret.exit_code, 0) << secret.describe();
  EXPECT_TRUE(contains(secret.out, "dn:")) << secret.out;
  EXPECT_FALSE(contains(secret.out, "userPassword")) << secret.out;
  const auto anonymous = ldap_tool("ldapsearch", "", "", {"-LLL", "-b", kIpSecurity, "-s", "one", "(objectClass=*)", "1.1"});
  EXPECT_TRUE(anonymous.exit_code == 0 || anonymous.exit_code == 32) << anonymous.describe();  // 32: no such object
  EXPECT_FALSE(contains(anonymous.out, "dn:")) << anonymous.out;

  // 9. A failing step is named with its DN.
  const auto wrong = bootstrap("DC=elsewhere,DC=test");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.describe();
  EXPECT_TRUE(contains(wrong.err, "step 2/10 (find the database) failed on \"cn=config\"")) << wrong.err;
  EXPECT_TRUE(contains(wrong.err, "DC=elsewhere,DC=test")) << wrong.err;
  // An example entry the server refuses (after one that exists) is named by its DN.
  ASSERT_TRUE(test::write_file(dir_ / "broken.ldif", "dn: OU=Legal,DC=example,DC=test\nobjectClass: organizationalUnit\n"
                                                     "ou: Legal\n\ndn: OU=Broken,DC=example,DC=test\n"
                                                     "objectClass: organizationalUnit\nou: Broken\nnoSuchAttribute: x\n"));
  const auto broken = bootstrap_with_examples(dir_ / "broken.ldif");
  EXPECT_EQ(broken.exit_code, 1) << broken.describe();
  EXPECT_TRUE(contains(broken.err, "step 10/10 (load the examples) failed on \"OU=Broken,DC=ward,DC=test\"")) << broken.err;
  EXPECT_TRUE(contains(broken.err, "(1 entries refused)")) << broken.err;
}

// Two fresh slapds bootstrapped as replicating providers (--replicate-with, --server-id): the
// first creates the domain, the second (empty) pulls it before its own steps look, so nothing is
// created twice; a second run changes nothing; an entry the admin adds on either provider appears
// on the other; the replication account (and its password) came with the domain.
TEST(BootstrapDirectoryReplication, TwoProvidersReplicateEachOther) {
  if (::geteuid() != 0) GTEST_SKIP() << "SASL EXTERNAL over ldapi maps only root to cn=config's manager";
  std::vector<std::unique_ptr<test::SlapdInstance>> providers;
  for (int i = 0; i < 2; ++i) {
    test::SlapdOptions options;
    options.suffix = "dc=ward,dc=test";
    options.root_dn = "cn=admin,dc=ward,dc=test";
    options.create_suffix_entry = false;
    auto slapd = test::SlapdInstance::start(options);
    ASSERT_TRUE(slapd) << slapd.error().to_string();
    providers.push_back(std::move(*slapd));
  }
  const auto dir = providers[0]->dir() / "bootstrap-test";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(test::write_file(dir / "admin.pw", kAdminPassword + "\n"));
  ASSERT_TRUE(test::write_file(dir / "admin.exact.pw", kAdminPassword));
  ASSERT_TRUE(test::write_file(dir / "replicator.pw", "bootstrap-test-replicator-pw"));  // test-only
  const auto bootstrap = [&](std::size_t self) {
    auto argv = bootstrap_argv(providers[self]->ldapi_uri(), kDomain, dir / "admin.pw");
    argv.insert(argv.end(), {"--replicate-with", providers[1 - self]->ldap_uri(), "--server-id", std::to_string(self + 1),
                             "--replicator-password-file", (dir / "replicator.pw").string()});
    return run(argv, dir);
  };
  const auto first = bootstrap(0);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_TRUE(contains(first.out, "step 6/10: provider 1 replicates with " + providers[1]->ldap_uri())) << first.out;
  const auto second = bootstrap(1);
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_TRUE(contains(second.out, "step 6/10: provider 2 replicates with " + providers[0]->ldap_uri())) << second.out;
  EXPECT_FALSE(contains(second.out, "created:")) << "the second provider created entries of its own:\n" << second.out;
  const auto again = bootstrap(1);
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_FALSE(contains(again.out, "created:")) << again.out;

  const auto search = [&](std::size_t provider, const std::string& base) {
    return run({"/usr/bin/ldapsearch", "-x", "-H", providers[provider]->ldap_uri(), "-D", kAdminDn, "-y",
                (dir / "admin.exact.pw").string(), "-LLL", "-b", base, "-s", "base", "(objectClass=*)", "1.1"},
               dir);
  };
  const auto add_ou = [&](std::size_t provider, const std::string& name) {
    const auto input = dir / ("add-" + name + ".ldif");
    EXPECT_TRUE(test::write_file(input, "dn: OU=" + name + "," + kDomain + "\nobjectClass: organizationalUnit\nou: " + name + "\n"));
    return run({"/usr/bin/ldapadd", "-x", "-H", providers[provider]->ldap_uri(), "-D", kAdminDn, "-y",
                (dir / "admin.exact.pw").string(), "-f", input.string()},
               dir);
  };
  const auto appears = [&](std::size_t provider, const std::string& dn) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (search(provider, dn).exit_code == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  for (std::size_t writer = 0; writer < 2; ++writer) {
    const std::string name = "Written-On-" + std::to_string(writer + 1);
    const auto added = add_ou(writer, name);
    ASSERT_EQ(added.exit_code, 0) << added.describe();
    EXPECT_TRUE(appears(1 - writer, "OU=" + name + "," + kDomain)) << name << " did not reach the other provider";
  }
  // The replication account's password arrived with it: it binds on the provider that did not set it.
  const auto replicator = run({"/usr/bin/ldapwhoami", "-x", "-H", providers[1]->ldap_uri(), "-D",
                               "CN=ward-replicator,CN=Users," + kDomain, "-y", (dir / "replicator.pw").string()},
                              dir);
  EXPECT_EQ(replicator.exit_code, 0) << replicator.describe();
}

// Without a slapd: the connect step names the URI; usage errors exit 2.
TEST(BootstrapDirectoryErrors, NamesTheStepAndRefusesPasswordsOnTheCommandLine) {
  auto dir = test::TempDir::create("ward-bootstrap-errors");
  ASSERT_TRUE(dir) << dir.error().to_string();
  ASSERT_TRUE(test::write_file(dir->path() / "admin.pw", kAdminPassword));
  const std::string uri = "ldapi://" + std::string("%2Fnonexistent%2Fward-test.sock");
  const auto refused = run(bootstrap_argv(uri, kDomain, dir->path() / "admin.pw"), dir->path());
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_TRUE(contains(refused.err, "step 1/10 (connect) failed on \"" + uri + "\"")) << refused.err;
  const auto usage =
      run({"/bin/bash", (source_dir() / "installer/bootstrap-directory").string(), "--password", "x"}, dir->path());
  EXPECT_EQ(usage.exit_code, 2) << usage.describe();
  EXPECT_TRUE(contains(usage.err, "passwords are not taken from the command line")) << usage.err;
}

}  // namespace
}  // namespace ward
