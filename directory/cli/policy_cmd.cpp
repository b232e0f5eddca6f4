// ward-dir policy list | show | create | delete | import | export
#include <iostream>
#include <nlohmann/json.hpp>

#include "directory/cli/cli.h"
#include "directory/model/policy_json.h"
#include "directory/model/validation.h"
#include "directory/store/policy_store.h"

namespace ward::dircli {
namespace {

int policy_list(Context& context, ldap::Session& session) {
  if (context.domain_dn.empty()) return usage("policy list needs --domain");
  auto policies = store::list_policies(session, context.domain_dn);
  if (!policies) return fail(policies.error());
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& policy : *policies) {
      nlohmann::json gpos = nlohmann::json::array();
      for (const auto& a : policy.assigned_by) gpos.push_back({{"gpo", a.gpo_dn}, {"display_name", a.gpo_display_name}});
      out.push_back({{"dn", policy.dn}, {"name", policy.name}, {"id", policy.id}, {"description", policy.description},
                     {"assigned_by", gpos}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& policy : *policies) {
    std::cout << policy.name << "  " << policy.id << "\n  " << policy.dn << "\n";
    if (policy.assigned_by.empty()) std::cout << "  assigned by: (no GPO)\n";
    for (const auto& a : policy.assigned_by) std::cout << "  assigned by: " << a.gpo_display_name << " (" << a.gpo_dn << ")\n";
  }
  return kExitOk;
}

Expected<model::Policy, int> read_json_policy(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return unexpected(fail(text.error()));
  auto policy = model::policy_from_json(*text);
  if (!policy) {
    for (const auto& problem : policy.error()) std::cerr << "ward-dir: " << path << ": " << problem.to_string() << "\n";
    return unexpected(kExitFailed);
  }
  const auto problems = model::validate(*policy);
  for (const auto& problem : problems) std::cerr << "ward-dir: " << path << ": " << problem.to_string() << "\n";
  if (model::has_errors(problems)) return unexpected(fail("policy in '" + path + "' is invalid; directory untouched"));
  return std::move(*policy);
}

}  // namespace

int run_policy(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"description", "name", "polling-minutes"});
  if (const auto bad = args.unknown({"description", "name", "polling-minutes", "force", "update", "with-secrets"}); !bad.empty()) {
    return usage(bad);
  }
  const auto& pos = args.positional();
  if (pos.empty()) return usage("policy needs a subcommand: list, show, create, set, delete, import, export");
  const std::string& verb = pos[0];
  auto* session = context.connect();
  if (session == nullptr) return kExitFailed;

  if (verb == "list") return policy_list(context, *session);
  if (verb == "show" || verb == "export") {
    if (pos.size() != (verb == "show" ? 2u : 3u)) return usage("policy " + verb + " <policy>" + (verb == "export" ? " <file>" : ""));
    auto dn = resolve_policy(context, pos[1]);
    if (!dn) return fail(dn.error());
    auto stored = store::read_policy(*session, *dn);
    if (!stored) return fail(stored.error());
    const auto secrets = args.flag("with-secrets") ? model::SecretHandling::Include : model::SecretHandling::Redact;
    const std::string json = model::policy_to_json(stored->policy, verb == "show" ? model::SecretHandling::Redact : secrets);
    if (verb == "export") {
      if (auto written = write_private_file(pos[2], json); !written) return fail(written.error());
      return kExitOk;
    }
    if (context.json) {
      std::cout << json << "\n";
      return kExitOk;
    }
    const auto& p = stored->policy;
    std::cout << "Policy " << p.name << " " << p.id.to_string() << "\n  DN: " << *dn << "\n";
    if (!p.description.empty()) std::cout << "  " << p.description << "\n";
    for (const auto& rule : p.rules) {
      const auto* list = rule.filter_list ? p.find_filter_list(*rule.filter_list) : nullptr;
      const auto* action = p.find_filter_action(rule.filter_action);
      std::cout << "  rule " << (rule.default_response ? "(default response)" : rule.name)
                << (rule.active ? "" : " [inactive]") << ": " << (list ? list->name : "-") << " -> "
                << (action ? action->name : "?") << "\n";
    }
    return kExitOk;
  }
  if (verb == "create") {
    if (pos.size() != 2 || context.domain_dn.empty()) return usage("policy create <name> (with --domain)");
    model::Policy policy;
    policy.id = model::Guid::random();
    policy.key_exchange.id = model::Guid::random();
    policy.key_exchange.methods = {model::KeyExchangeMethod{}};
    policy.name = pos[1];
    policy.description = args.value("description").value_or("");
    const auto problems = model::validate(policy);
    for (const auto& problem : problems) std::cerr << "ward-dir: " << problem.to_string() << "\n";
    if (model::has_errors(problems)) return fail("policy not created");
    auto dn = store::write_policy(*session, context.domain_dn, policy);
    if (!dn) return fail(dn.error());
    std::cout << *dn << "\n";
    return kExitOk;
  }
  if (verb == "import") {
    if (pos.size() != 2 || context.domain_dn.empty()) return usage("policy import <file.json> (with --domain)");
    auto policy = read_json_policy(pos[1]);
    if (!policy) return policy.error();
    if (args.flag("update")) {
      auto updated = store::update_policy(*session, context.domain_dn, *policy);
      if (!updated) return fail(updated.error());
      note_rewritten(*updated, *policy);
      std::cout << store::policy_dn(*policy, context.domain_dn) << "\n";
      return kExitOk;
    }
    auto dn = store::write_policy(*session, context.domain_dn, *policy);
    if (!dn) return fail(dn.error());
    std::cout << *dn << "\n";
    return kExitOk;
  }
  if (verb == "set") {
    if (pos.size() != 2) return usage("policy set <policy> [--name N] [--description T] [--polling-minutes M]");
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      if (const auto name = args.value("name")) policy.name = *name;
      if (const auto description = args.value("description")) policy.description = *description;
      if (const auto minutes = args.value("polling-minutes")) {
        if (minutes->empty() || minutes->size() > 6 || minutes->find_first_not_of("0123456789") != std::string::npos) {
          return "policy '" + policy.name + "': --polling-minutes wants a number of minutes, got '" + *minutes + "'";
        }
        policy.polling_interval_minutes = static_cast<std::uint32_t>(std::stoul(*minutes));
      }
      return {};
    });
  }
  if (verb == "delete") {
    if (pos.size() != 2 || context.domain_dn.empty()) return usage("policy delete <policy> [--force] (with --domain)");
    auto dn = resolve_policy(context, pos[1]);
    if (!dn) return fail(dn.error());
    if (auto deleted = store::delete_policy(*session, context.domain_dn, *dn, args.flag("force")); !deleted) {
      return fail(deleted.error());
    }
    return kExitOk;
  }
  return usage("unknown policy subcommand '" + verb + "'");
}

}  // namespace ward::dircli
