// Windows' default policies (tests/data/ad/windows-default-ipsec.ldif, the objects a Windows
// domain starts with) loaded into slapd with Ward's schema, edited with ward-dir, and written back
// byte-exact: the same checks as on the Samba AD DC (windows_write_back.h).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <sstream>

#include "tests/directory/windows_write_back.h"
#include "tests/harness/slapd_instance.h"

namespace ward {
namespace {

const std::string kDomain = "DC=samba,DC=example,DC=com";

std::filesystem::path source_dir() {
  const char* dir = std::getenv("WARD_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

// The file's entries as slapadd takes them: unfolded, with the cn their RDN names (AD does not
// list it), without AD's isCriticalSystemObject; after the containers they live in.
std::string windows_defaults_ldif() {
  std::istringstream in(test::read_text(source_dir() / "tests/data/ad/windows-default-ipsec.ldif"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == ' ' && !lines.empty()) lines.back() += line.substr(1);
    else lines.push_back(line);
  }
  std::string out = "dn: CN=System," + kDomain + "\nobjectClass: container\ncn: System\n\n" +
                    "dn: CN=IP Security,CN=System," + kDomain + "\nobjectClass: container\ncn: IP Security\n\n";
  for (const auto& line : lines) {
    if (line.rfind('#', 0) == 0 || line.rfind("isCriticalSystemObject:", 0) == 0) continue;
    out += line + "\n";
    if (line.rfind("dn: CN=", 0) == 0) out += "cn: " + line.substr(7, line.find(',') - 7) + "\n";
  }
  return out;
}

TEST(WindowsDefaultsOnSlapd, WriteBackIsByteExact) {
  auto dir = test::TempDir::create("ward-windows-slapd-test");
  ASSERT_TRUE(dir) << dir.error().to_string();
  const auto ldif = dir->path() / "windows-defaults.ldif";
  ASSERT_TRUE(test::write_file(ldif, windows_defaults_ldif()));
  test::SlapdOptions options;
  options.suffix = "dc=samba,dc=example,dc=com";
  options.root_dn = "cn=admin,dc=samba,dc=example,dc=com";
  options.extra_schemas = {source_dir() / "schemas/openldap/ward-ad-ipsec.ldif"};
  options.initial_ldif = {ldif};
  auto slapd = test::SlapdInstance::start(options);
  ASSERT_TRUE(slapd) << slapd.error().to_string();
  const auto password = dir->path() / "admin.password";
  ASSERT_TRUE(test::write_file(password, options.root_password + "\n"));
  ::chmod(password.c_str(), 0600);

  ldap::SessionOptions session_options;
  session_options.uris = {(*slapd)->ldap_uri()};
  session_options.bind = ldap::SimpleBind{options.root_dn, model::Secret(options.root_password)};
  auto admin = ldap::Session::connect(session_options);
  ASSERT_TRUE(admin) << admin.error().to_string();
  test::check_windows_write_back(**admin, kDomain, [&](const std::vector<std::string>& words) {
    std::vector<std::string> argv{WARD_DIR_BINARY, "--uri", (*slapd)->ldap_uri(), "--bind-dn", options.root_dn,
                                  "--password-file", password.string(), "--domain", kDomain};
    argv.insert(argv.end(), words.begin(), words.end());
    return test::run_captured(argv, dir->path());
  });
}

}  // namespace
}  // namespace ward
