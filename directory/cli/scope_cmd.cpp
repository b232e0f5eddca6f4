// ward-dir scope <computer>: which GPOs apply to a computer, which IPsec policy wins, and why
// each other GPO does not (directory/gpo/policy_results.h, the code wardd and the editor use):
// the site and where it came from, the scopes of management with blocked inheritance, links
// with their order and enforcement, GPO security filtering on Active Directory. "What if":
// --in CONTAINER places the computer elsewhere, --site DN sets its site.
#include <iostream>
#include <nlohmann/json.hpp>

#include "directory/cli/cli.h"
#include "directory/gpo/dn.h"
#include "directory/gpo/policy_results.h"

namespace ward::dircli {
namespace {

nlohmann::json optional_text(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

nlohmann::json to_json(const gpo::PolicyResults& results) {
  nlohmann::json applied = nlohmann::json::array();
  for (const auto& gpo : results.scope.scope.applied) {
    applied.push_back({{"gpo", gpo.gpo_dn}, {"display_name", gpo.display_name}, {"som", gpo.som_dn},
                       {"enforced", gpo.enforced}, {"ipsec_policy", optional_text(gpo.ipsec_policy_dn)}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& link : results.scope.scope.skipped) {
    skipped.push_back({{"gpo", link.gpo_dn}, {"som", link.som_dn}, {"reason", gpo::skip_reason_name(link.reason)},
                       {"detail", link.detail}});
  }
  nlohmann::json soms = nlohmann::json::array();
  for (const auto& som : results.soms) {
    soms.push_back({{"dn", som.dn}, {"kind", gpo::som_kind_name(som.kind)}, {"block_inheritance", som.block_inheritance},
                    {"links", som.links}});
  }
  nlohmann::json gpos = nlohmann::json::array();
  for (const auto& gpo : results.gpos) {
    gpos.push_back({{"name", gpo.name}, {"dn", gpo.dn}, {"som", gpo.som_dn}, {"som_kind", gpo::som_kind_name(gpo.som_kind)},
                    {"link_order", gpo.link_order}, {"enforced", gpo.enforced}, {"link_enabled", gpo.link_enabled},
                    {"applied", gpo.applied}, {"precedence", gpo.precedence}, {"wins", gpo.wins},
                    {"ipsec_policy", optional_text(gpo.ipsec_policy_dn)}, {"note", gpo.note}});
  }
  nlohmann::json winner;
  if (results.winner) {
    winner = {{"policy", results.winner->policy_dn}, {"gpo", results.winner->gpo_dn},
              {"display_name", results.winner->gpo_display_name}, {"som", results.winner->som_dn}};
  }
  return {{"directory", results.directory},
          {"computer", results.computer_dn},
          {"container", results.container_dn},
          {"modelled", results.modelled},
          {"account", results.account},
          {"security_filtering", results.security_filtering},
          {"site", {{"dn", results.site.dn}, {"from", results.site.from}}},
          {"soms", soms},
          {"gpos", gpos},
          {"applied", applied},
          {"skipped", skipped},
          {"winner", winner},
          {"round_trips", results.round_trips}};
}

void print_text(const gpo::PolicyResults& results) {
  std::cout << "Directory: " << results.directory << "\n";
  std::cout << "Computer: " << results.computer_dn << (results.account.empty() ? "" : " (" + results.account + ")") << "\n";
  if (results.modelled) std::cout << "Modelled: as if in " << results.container_dn << "\n";
  std::cout << "Site: " << (results.site.dn.empty() ? "(none)" : results.site.dn + " (" + results.site.from + ")") << "\n";
  std::cout << "Security filtering: "
            << (results.security_filtering ? "evaluated (the GPOs' DACLs against the computer's groups)"
                                           : "none (this directory keeps no security descriptors on GPOs)")
            << "\n";
  for (const auto& som : results.soms) {
    std::cout << "  " << gpo::som_kind_name(som.kind) << " " << som.dn << ": " << som.links << " link"
              << (som.links == 1 ? "" : "s") << (som.block_inheritance ? ", blocks inheritance" : "") << "\n";
  }
  for (const auto& gpo : results.gpos) {
    std::cout << "  " << (gpo.applied ? "applied" : "not applied") << ": "
              << (gpo.name.empty() ? gpo.dn : gpo.name) << " at " << gpo.som_dn;
    if (gpo.link_order > 0) std::cout << " (link order " << gpo.link_order << (gpo.enforced ? ", enforced" : "") << ")";
    if (gpo.applied) std::cout << " precedence " << gpo.precedence;
    if (!gpo.note.empty()) std::cout << ": " << gpo.note;
    std::cout << "\n";
  }
  if (results.winner) {
    std::cout << "IPsec policy: " << results.winner->policy_dn << "\n  from GPO " << results.winner->gpo_display_name
              << " linked at " << results.winner->som_dn << "\n";
  } else {
    std::cout << "IPsec policy: none\n";
  }
}

}  // namespace

int run_scope(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"site", "address", "in"});
  if (const auto bad = args.unknown({"site", "address", "in"}); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() != 1) return usage("scope <computer-dn | sAMAccountName> [--site DN] [--address IP]... [--in CONTAINER-DN]");
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;
  gpo::ResultsQuery query;
  const std::string& computer = pos[0];
  if (computer.find('=') == std::string::npos) {
    if (context.domain_dn.empty()) return usage("scope by sAMAccountName needs --domain");
    query.computer_account = computer;
    query.domain_dn = context.domain_dn;
  } else {
    query.computer_dn = computer;
    query.domain_dn = context.domain_dn.empty() ? gpo::domain_dn(computer) : context.domain_dn;
  }
  if (const auto site = args.value("site")) {
    query.site_dn = *site;
    query.site_given_as = "given with --site";
  }
  for (const auto& text : args.values("address")) {
    const auto address = IpAddress::parse(text);
    if (!address) return usage("--address '" + text + "' is not an IP address");
    query.addresses.push_back(*address);
  }
  if (!query.addresses.empty()) query.addresses_from = "address given with --address";
  if (const auto in = args.value("in")) query.placement_dn = *in;
  auto results = gpo::read_policy_results(*session, query);
  if (!results) return fail(results.error().to_string());
  if (context.json) {
    std::cout << to_json(*results).dump(2) << "\n";
  } else {
    print_text(*results);
  }
  return kExitOk;
}

}  // namespace ward::dircli
