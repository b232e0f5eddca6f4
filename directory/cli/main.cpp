// ward-dir entry point: global connection options, then a command group and its words.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "directory/cli/cli.h"

namespace {

constexpr const char* kHelp = R"(usage: ward-dir [connection options] <command> ...

connection options (before the command):
  --uri URI              directory URI, repeatable (tried in order)
  --bind-dn DN --password-file FILE|-   simple bind; '-' reads the password from stdin
  --keytab FILE --principal NAME        SASL/GSSAPI bind from a keytab
  --gssapi [--principal NAME]           SASL/GSSAPI bind with your own tickets (kinit)
  --starttls --ca FILE   StartTLS (ldap://) with this CA bundle; --ca alone for ldaps://
  --domain DN            the domain, e.g. DC=example,DC=test
  --json                 machine-readable output for list, show and scope
  --sysvol-path DIR      Active Directory: the SysVol share as a local folder (on the DC, or
                         mounted); without it GPO files go over SMB to the DC (Kerberos)

commands:
  policy list | show <policy> | create <name> [--description T] | delete <policy> [--force]
         | set <policy> [--name N] [--description T] [--polling-minutes M]
         | import <file.json> [--update] | export <policy> <file.json> [--with-secrets]
  rule add <policy> --name N --filterlist L --filteraction A [--auth kerberos|psk-file:F|cert:CA]...
  rule set <policy> <rule> [--active yes|no] [--filteraction A]      rule delete <policy> <rule>
  filterlist add <policy> <name> --rule R --src ADDR --dst ADDR [filter options]   (R then uses the new list)
  filterlist delete <policy> <name>
  filter add <policy> <filterlist> --src ADDR --dst ADDR [--protocol N] [--srcport P] [--dstport P] [--no-mirror]
  filter delete <policy> <filterlist> <index>
  filteraction add <policy> <name> --rule R --action permit|block|negotiate [--esp CIPHER[:INTEGRITY]]...
                   [--inpass yes|no] [--soft yes|no] [--pfs yes|no]
  filteraction set <policy> <name> [--action ...] [--esp ...]... [--inpass yes|no] [--soft yes|no] [--pfs yes|no]
                   [--lifetime SECONDS[:KILOBYTES]]
  filteraction delete <policy> <name>
  gpo create <name> | link <gpo> <container-dn> [--enforced] [--disabled] | unlink <gpo> <container-dn>
      | assign <gpo> <policy> | unassign <gpo> | block-inheritance <container-dn> yes|no
  scope <computer-dn | sAMAccountName> [--site DN] [--address IP]... [--in CONTAINER-DN]
                                       the GPOs that apply, the winning IPsec policy and why each
                                       other GPO does not: site (msDS-SiteName, or the subnet of
                                       --address), blocked inheritance, enforced links, security
                                       filtering (AD); --in and --site model "what if"
  directory info                       OpenLDAP or Active Directory (from the root DSE), the domain
  directory grant-read [--to authenticated-users|domain-computers]
                                       AD: computers may read CN=IP Security (inheritable ACE)

A <policy> is its DN, {GUID} or name; a <gpo> its DN, {GUID} or display name.
Filter lists and actions are stored only while a rule uses them (AD's layout), so `add` attaches
the new one to an existing rule. Every edit is validated before anything is written.
Passwords and preshared keys are never taken from the command line (files or stdin).
)";

ward::Expected<std::string, std::string> read_password(const std::string& source) {
  if (source == "-") {
    std::string line;
    std::getline(std::cin, line);
    return line;
  }
  auto text = ward::dircli::read_text_file(source);
  if (!text) return text;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ward::dircli;
  std::vector<std::string> words(argv + 1, argv + argc);
  const std::vector<std::string> with_value{"uri", "bind-dn", "password-file", "keytab", "principal", "ca", "domain",
                                           "sysvol-path"};
  Context context;
  std::optional<std::string> bind_dn, password_file, keytab, principal;
  bool gssapi = false;
  std::size_t i = 0;
  for (; i < words.size() && words[i].rfind("--", 0) == 0; ++i) {
    std::string name = words[i].substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
      if (i + 1 >= words.size()) return usage("--" + name + " needs a value");
      value = words[++i];
    }
    if (name == "help") {
      std::cout << kHelp;
      return kExitOk;
    } else if (name == "password") {
      return usage("passwords are not taken from the command line: use --password-file FILE or -");
    } else if (name == "uri") {
      context.session_options.uris.push_back(*value);
    } else if (name == "bind-dn") {
      bind_dn = value;
    } else if (name == "password-file") {
      password_file = value;
    } else if (name == "keytab") {
      keytab = value;
    } else if (name == "principal") {
      principal = value;
    } else if (name == "ca") {
      context.session_options.ca_file = *value;
    } else if (name == "gssapi") {
      gssapi = true;
    } else if (name == "sysvol-path") {
      context.sysvol_path = *value;
    } else if (name == "domain") {
      context.domain_dn = *value;
    } else if (name == "starttls") {
      context.session_options.tls = ward::ldap::TlsMode::kStartTls;
    } else if (name == "json") {
      context.json = true;
    } else {
      return usage("unknown option --" + name);
    }
  }
  if ((bind_dn ? 1 : 0) + (keytab ? 1 : 0) + (gssapi ? 1 : 0) > 1) {
    return usage("--bind-dn, --keytab and --gssapi exclude each other");
  }
  if (bind_dn) {
    if (!password_file) return usage("--bind-dn needs --password-file FILE (or - for stdin)");
    auto password = read_password(*password_file);
    if (!password) return fail(password.error());
    context.session_options.bind = ward::ldap::SimpleBind{*bind_dn, ward::model::Secret(std::move(*password))};
  } else if (keytab) {
    if (!principal) return usage("--keytab needs --principal");
    context.session_options.bind = ward::ldap::GssapiBind{*keytab, *principal};
  } else if (gssapi) {
    context.session_options.bind = ward::ldap::GssapiBind{"", principal.value_or("")};
  }
  if (i >= words.size()) return usage("no command given");
  const std::string command = words[i];
  std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
  // --json may also follow the command.
  if (std::erase(rest, std::string("--json")) > 0) context.json = true;

  const std::map<std::string, int (*)(Context&, const std::vector<std::string>&)> commands{
      {"policy", run_policy}, {"rule", run_rule},   {"filterlist", run_filterlist}, {"filter", run_filter},
      {"filteraction", run_filteraction}, {"gpo", run_gpo}, {"scope", run_scope},
      {"directory", run_directory}};
  const auto found = commands.find(command);
  if (found == commands.end()) return usage("unknown command '" + command + "'");
  return found->second(context, rest);
}
