// ward-dir rule add | set | delete: edit a policy's rules through the model.
#include <algorithm>

#include "directory/cli/cli.h"

namespace ward::dircli {
namespace {

// --auth kerberos | cert:<CA subject> | psk-file:<file> (the key is read from the file).
Expected<model::AuthMethod, std::string> parse_auth(const std::string& text) {
  if (text == "kerberos") return model::AuthMethod::kerberos();
  if (text.rfind("cert:", 0) == 0) return model::AuthMethod::certificate(text.substr(5));
  if (text.rfind("psk-file:", 0) == 0) {
    auto key = read_text_file(text.substr(9));
    if (!key) return unexpected(key.error());
    while (!key->empty() && (key->back() == '\n' || key->back() == '\r')) key->pop_back();
    return model::AuthMethod::preshared(std::move(*key));
  }
  return unexpected("--auth '" + text + "': want kerberos, cert:<CA name> or psk-file:<file>");
}

}  // namespace

int run_rule(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"name", "filterlist", "filteraction", "auth", "active", "description"});
  if (const auto bad = args.unknown({"name", "filterlist", "filteraction", "auth", "active", "description"});
      !bad.empty()) {
    return usage(bad);
  }
  const auto& pos = args.positional();
  if (pos.size() < 2) return usage("rule add|set|delete <policy> ...");
  const std::string& verb = pos[0];
  std::vector<model::AuthMethod> auth;
  for (const auto& text : args.values("auth")) {
    auto method = parse_auth(text);
    if (!method) return usage(method.error());
    auth.push_back(std::move(*method));
  }
  if (verb == "add") {
    if (pos.size() != 2 || !args.value("name") || !args.value("filterlist") || !args.value("filteraction")) {
      return usage("rule add <policy> --name N --filterlist L --filteraction A [--auth ...]");
    }
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      const auto* list = find_filter_list(policy, *args.value("filterlist"));
      const auto* action = find_filter_action(policy, *args.value("filteraction"));
      if (list == nullptr) return "policy '" + policy.name + "': no filter list '" + *args.value("filterlist") + "'";
      if (action == nullptr) return "policy '" + policy.name + "': no filter action '" + *args.value("filteraction") + "'";
      if (find_rule(policy, *args.value("name")) != nullptr) return "rule '" + *args.value("name") + "' exists already";
      model::Rule rule;
      rule.id = model::Guid::random();
      rule.name = *args.value("name");
      rule.description = args.value("description").value_or("");
      rule.filter_list = list->id;
      rule.filter_action = action->id;
      rule.auth_methods = auth.empty() ? std::vector<model::AuthMethod>{model::AuthMethod::kerberos()} : auth;
      // Before the default response rule, which Windows keeps last.
      auto at = std::find_if(policy.rules.begin(), policy.rules.end(), [](const auto& r) { return r.default_response; });
      policy.rules.insert(at, std::move(rule));
      return {};
    });
  }
  if (pos.size() != 3) return usage("rule " + verb + " <policy> <rule>");
  if (verb == "set") {
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      auto* rule = find_rule(policy, pos[2]);
      if (rule == nullptr) return "policy '" + policy.name + "': no rule '" + pos[2] + "'";
      if (const auto active = args.value("active")) {
        const auto value = parse_yes_no(*active);
        if (!value) return "rule '" + rule->name + "': --active wants yes or no";
        rule->active = *value;
      }
      if (const auto name = args.value("filteraction")) {
        const auto* action = find_filter_action(policy, *name);
        if (action == nullptr) return "policy '" + policy.name + "': no filter action '" + *name + "'";
        rule->filter_action = action->id;
      }
      if (const auto name = args.value("filterlist")) {
        const auto* list = find_filter_list(policy, *name);
        if (list == nullptr) return "policy '" + policy.name + "': no filter list '" + *name + "'";
        rule->filter_list = list->id;
      }
      if (const auto text = args.value("description")) rule->description = *text;
      if (!auth.empty()) rule->auth_methods = auth;
      return {};
    });
  }
  if (verb == "delete") {
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      const auto* rule = find_rule(policy, pos[2]);
      if (rule == nullptr) return "policy '" + policy.name + "': no rule '" + pos[2] + "'";
      const auto id = rule->id;
      std::erase_if(policy.rules, [&](const auto& r) { return r.id == id; });
      return {};
    });
  }
  return usage("unknown rule subcommand '" + verb + "'");
}

}  // namespace ward::dircli
