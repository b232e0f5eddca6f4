// ward-dir scope <computer>: which GPOs apply to a computer and which IPsec policy wins.
#include <iostream>
#include <nlohmann/json.hpp>

#include "directory/cli/cli.h"
#include "directory/gpo/reader.h"

namespace ward::dircli {

int run_scope(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"site"});
  if (const auto bad = args.unknown({"site"}); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() != 1) return usage("scope <computer-dn | sAMAccountName> [--site DN]");
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;
  std::string computer = pos[0];
  if (computer.find('=') == std::string::npos) {
    if (context.domain_dn.empty()) return usage("scope by sAMAccountName needs --domain");
    auto found = gpo::find_computer_by_account(*session, context.domain_dn, computer);
    if (!found) return fail(found.error().to_string());
    computer = *found;
  }
  auto scope = gpo::read_computer_scope(*session, computer, args.value("site"));
  if (!scope) return fail(scope.error().to_string());

  if (context.json) {
    nlohmann::json applied = nlohmann::json::array();
    for (const auto& gpo : scope->scope.applied) {
      applied.push_back({{"gpo", gpo.gpo_dn}, {"display_name", gpo.display_name}, {"som", gpo.som_dn},
                         {"enforced", gpo.enforced},
                         {"ipsec_policy", gpo.ipsec_policy_dn ? nlohmann::json(*gpo.ipsec_policy_dn) : nlohmann::json()}});
    }
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& link : scope->scope.skipped) {
      skipped.push_back({{"gpo", link.gpo_dn}, {"som", link.som_dn}, {"reason", gpo::skip_reason_name(link.reason)}});
    }
    nlohmann::json winner;
    if (scope->winner) {
      winner = {{"policy", scope->winner->policy_dn}, {"gpo", scope->winner->gpo_dn},
                {"display_name", scope->winner->gpo_display_name}, {"som", scope->winner->som_dn}};
    }
    nlohmann::json out{{"computer", scope->computer_dn}, {"applied", applied}, {"skipped", skipped},
                       {"winner", winner}, {"round_trips", scope->round_trips}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Computer: " << scope->computer_dn << "\n";
  for (const auto& gpo : scope->scope.applied) {
    std::cout << "  applied: " << gpo.display_name << " from " << gpo.som_dn << (gpo.enforced ? " (enforced)" : "")
              << (gpo.ipsec_policy_dn ? " assigns " + *gpo.ipsec_policy_dn : std::string()) << "\n";
  }
  for (const auto& link : scope->scope.skipped) {
    std::cout << "  skipped: " << link.gpo_dn << " at " << link.som_dn << ": " << gpo::skip_reason_name(link.reason) << "\n";
  }
  if (scope->winner) {
    std::cout << "IPsec policy: " << scope->winner->policy_dn << "\n  from GPO " << scope->winner->gpo_display_name
              << " linked at " << scope->winner->som_dn << "\n";
  } else {
    std::cout << "IPsec policy: none\n";
  }
  return kExitOk;
}

}  // namespace ward::dircli
