// ward-dir filteraction add | set | delete. The directory form keeps only filter actions a rule
// uses, so `add` points an existing rule (--rule) at the new action.
#include <optional>

#include "directory/cli/cli.h"
#include "directory/model/names.h"

namespace ward::dircli {
namespace {

const std::vector<std::string> kOptions{"action", "esp", "inpass", "soft", "pfs", "rule", "description", "lifetime"};

// --lifetime SECONDS[:KILOBYTES]: the quick mode SA lifetimes of every security method.
std::string apply_lifetime(const std::string& text, model::FilterAction& action) {
  const auto colon = text.find(':');
  const auto number = [](const std::string& digits) -> std::optional<std::uint32_t> {
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return static_cast<std::uint32_t>(std::stoul(digits));
  };
  const auto seconds = number(text.substr(0, colon));
  const auto kilobytes = colon == std::string::npos ? std::optional<std::uint32_t>() : number(text.substr(colon + 1));
  if (!seconds || (colon != std::string::npos && !kilobytes)) {
    return "filter action '" + action.name + "': --lifetime wants SECONDS or SECONDS:KILOBYTES, got '" + text + "'";
  }
  for (auto& method : action.security_methods) {
    method.lifetime_seconds = *seconds;
    if (kilobytes) method.lifetime_kilobytes = *kilobytes;
  }
  return {};
}

// --esp CIPHER[:INTEGRITY], e.g. aes256-gcm or aes256-cbc:sha256; repeatable, in preference order.
Expected<model::SecurityMethod, std::string> parse_esp(const std::string& text) {
  const auto colon = text.find(':');
  const auto cipher = model::from_name<model::Cipher>(text.substr(0, colon));
  if (!cipher) return unexpected("--esp '" + text + "': cipher is one of " + model::accepted_names<model::Cipher>());
  model::SecurityMethod method;
  model::EspTransform esp{*cipher, model::Integrity::None};
  if (colon != std::string::npos) {
    const auto integrity = model::from_name<model::Integrity>(text.substr(colon + 1));
    if (!integrity) {
      return unexpected("--esp '" + text + "': integrity is one of " + model::accepted_names<model::Integrity>());
    }
    esp.integrity = *integrity;
  }
  method.esp = esp;
  return method;
}

// Applies --action/--esp/--inpass/--soft/--pfs/--description to `action`; error text or empty.
std::string apply(const Args& args, model::FilterAction& action) {
  if (const auto kind = args.value("action")) {
    const auto parsed = model::from_name<model::ActionKind>(*kind);
    if (!parsed) return "filter action '" + action.name + "': --action is one of " + model::accepted_names<model::ActionKind>();
    action.kind = *parsed;
    if (action.kind != model::ActionKind::Negotiate) action.security_methods.clear();
  }
  const auto esp = args.values("esp");
  if (!esp.empty()) action.security_methods.clear();
  for (const auto& text : esp) {
    auto method = parse_esp(text);
    if (!method) return "filter action '" + action.name + "': " + method.error();
    action.security_methods.push_back(*method);
  }
  for (const auto& [option, field] : {std::pair{"inpass", &action.accept_unsecured},
                                      std::pair{"soft", &action.fallback_to_unsecured},
                                      std::pair{"pfs", &action.quick_mode_pfs}}) {
    if (const auto text = args.value(option)) {
      const auto value = parse_yes_no(*text);
      if (!value) return "filter action '" + action.name + "': --" + option + " wants yes or no";
      *field = *value;
    }
  }
  if (const auto text = args.value("description")) action.description = *text;
  if (const auto text = args.value("lifetime")) return apply_lifetime(*text, action);
  return {};
}

}  // namespace

int run_filteraction(Context& context, const std::vector<std::string>& words) {
  const Args args(words, kOptions);
  if (const auto bad = args.unknown(kOptions); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() != 3) return usage("filteraction add|set|delete <policy> <name> ...");
  const std::string& verb = pos[0];
  if (verb == "add") {
    if (!args.value("rule") || !args.value("action")) {
      return usage("filteraction add <policy> <name> --rule R --action permit|block|negotiate [...]");
    }
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      if (find_filter_action(policy, pos[2]) != nullptr) return "filter action '" + pos[2] + "' exists already";
      auto* rule = find_rule(policy, *args.value("rule"));
      if (rule == nullptr) return "policy '" + policy.name + "': no rule '" + *args.value("rule") + "'";
      model::FilterAction action;
      action.id = model::Guid::random();
      action.name = pos[2];
      if (auto problem = apply(args, action); !problem.empty()) return problem;
      rule->filter_action = action.id;
      policy.filter_actions.push_back(std::move(action));
      return {};
    });
  }
  if (verb == "set") {
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      auto* action = find_filter_action(policy, pos[2]);
      if (action == nullptr) return "policy '" + policy.name + "': no filter action '" + pos[2] + "'";
      return apply(args, *action);
    });
  }
  if (verb == "delete") {
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      const auto* action = find_filter_action(policy, pos[2]);
      if (action == nullptr) return "policy '" + policy.name + "': no filter action '" + pos[2] + "'";
      for (const auto& rule : policy.rules) {
        if (rule.filter_action == action->id) {
          return "filter action '" + action->name + "' is used by rule '" + rule.name + "': delete the rule first";
        }
      }
      const auto id = action->id;
      std::erase_if(policy.filter_actions, [&](const auto& a) { return a.id == id; });
      return {};
    });
  }
  return usage("unknown filteraction subcommand '" + verb + "'");
}

}  // namespace ward::dircli
