// ward-dir directory info | grant-read
#include <iostream>
#include <nlohmann/json.hpp>

#include "directory/cli/cli.h"
#include "directory/ldap/root_dse.h"
#include "directory/store/ip_security_access.h"

namespace ward::dircli {

int run_directory(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"to"});
  if (const auto bad = args.unknown({"to"}); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() != 1) return usage("directory needs a subcommand: info, grant-read");
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;

  if (pos[0] == "info") {
    auto root = ldap::read_root_dse(*session);
    if (!root) return fail("root DSE: " + root.error().to_string());
    if (context.json) {
      std::cout << nlohmann::json{{"kind", ldap::directory_kind_name(root->kind)},
                                  {"uri", session->uri()},
                                  {"naming_contexts", root->naming_contexts},
                                  {"default_naming_context", root->default_naming_context},
                                  {"dns_host_name", root->dns_host_name}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    std::cout << ldap::directory_kind_name(root->kind) << " at " << session->uri() << "\n";
    if (!root->dns_host_name.empty()) std::cout << "  domain controller: " << root->dns_host_name << "\n";
    if (!root->default_naming_context.empty()) std::cout << "  domain: " << root->default_naming_context << "\n";
    for (const auto& context_dn : root->naming_contexts) std::cout << "  naming context: " << context_dn << "\n";
    return kExitOk;
  }
  if (pos[0] == "grant-read") {
    if (context.domain_dn.empty()) return usage("directory grant-read needs --domain");
    const std::string to = args.value("to").value_or("authenticated-users");
    store::ReadGrantee grantee;
    if (to == "authenticated-users") grantee = store::ReadGrantee::kAuthenticatedUsers;
    else if (to == "domain-computers") grantee = store::ReadGrantee::kDomainComputers;
    else return usage("--to is authenticated-users or domain-computers");
    auto granted = store::grant_ip_security_read(*session, context.domain_dn, grantee);
    if (!granted) return fail(granted.error());
    std::cout << (granted->changed ? "granted" : "already granted") << ": read (inherited) on " << granted->container_dn
              << " to " << granted->trustee_sid << "\n";
    return kExitOk;
  }
  return usage("unknown directory subcommand '" + pos[0] + "'");
}

}  // namespace ward::dircli
