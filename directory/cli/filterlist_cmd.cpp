// ward-dir filterlist add | delete. The directory form keeps only filter lists a rule uses, so
// `add` creates the list with its first filter and points an existing rule (--rule) at it.
#include "directory/cli/filter_spec.h"

namespace ward::dircli {

int run_filterlist(Context& context, const std::vector<std::string>& words) {
  auto with_value = kFilterOptions;
  with_value.push_back("rule");
  const Args args(words, with_value);
  if (const auto bad = args.unknown(with_value); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() != 3) return usage("filterlist add|delete <policy> <name> ...");
  const std::string& verb = pos[0];
  if (verb == "add") {
    if (!args.value("rule")) return usage("filterlist add <policy> <name> --rule R --src A --dst B [...]");
    auto filter = parse_filter(args);
    if (!filter) return usage(filter.error());
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      if (find_filter_list(policy, pos[2]) != nullptr) return "filter list '" + pos[2] + "' exists already";
      auto* rule = find_rule(policy, *args.value("rule"));
      if (rule == nullptr) return "policy '" + policy.name + "': no rule '" + *args.value("rule") + "'";
      model::FilterList list;
      list.id = model::Guid::random();
      list.name = pos[2];
      list.filters = {*filter};
      rule->filter_list = list.id;
      policy.filter_lists.push_back(std::move(list));
      return {};
    });
  }
  if (verb == "delete") {
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      const auto* list = find_filter_list(policy, pos[2]);
      if (list == nullptr) return "policy '" + policy.name + "': no filter list '" + pos[2] + "'";
      for (const auto& rule : policy.rules) {
        if (rule.filter_list == list->id) {
          return "filter list '" + list->name + "' is used by rule '" + rule.name + "': delete the rule first";
        }
      }
      const auto id = list->id;
      std::erase_if(policy.filter_lists, [&](const auto& l) { return l.id == id; });
      return {};
    });
  }
  return usage("unknown filterlist subcommand '" + verb + "'");
}

}  // namespace ward::dircli
