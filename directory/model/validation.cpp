#include "directory/model/validation.h"

#include <algorithm>
#include <map>
#include <set>

#include "directory/model/limits.h"
#include "directory/model/names.h"
#include "directory/model/offer_strength.h"

namespace ward::model {

std::string Problem::to_string() const {
  std::string text = severity == Severity::Error ? "error: " : "warning: ";
  text += object;
  if (!field.empty()) text += ", field " + field;
  text += ": " + message;
  return text;
}

bool has_errors(const std::vector<Problem>& problems) noexcept {
  return std::any_of(problems.begin(), problems.end(), [](const Problem& p) { return p.severity == Severity::Error; });
}

namespace {

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

class Checker {
 public:
  explicit Checker(const Policy& policy) : policy_(policy) {}

  std::vector<Problem> run() {
    check_policy();
    check_key_exchange();
    check_unique_ids();
    for (const auto& list : policy_.filter_lists) check_filter_list(list);
    for (const auto& action : policy_.filter_actions) check_filter_action(action);
    for (const auto& rule : policy_.rules) check_rule(rule);
    check_references_used();
    return std::move(problems_);
  }

 private:
  void error(const std::string& object, std::string field, std::string message) {
    problems_.push_back({Severity::Error, object, std::move(field), std::move(message)});
  }
  void warning(const std::string& object, std::string field, std::string message) {
    problems_.push_back({Severity::Warning, object, std::move(field), std::move(message)});
  }

  std::string policy_object() const { return "policy " + quoted(policy_.name); }

  void check_policy() {
    const auto object = policy_object();
    if (policy_.name.empty()) error(object, "name", "must not be empty");
    if (policy_.id.is_nil()) error(object, "id", "must be a non-nil GUID");
    if (policy_.polling_interval_minutes < limits::kMinPollingIntervalMinutes ||
        policy_.polling_interval_minutes > limits::kMaxPollingIntervalMinutes) {
      error(object, "polling_interval_minutes",
            std::to_string(policy_.polling_interval_minutes) + " is outside " +
                std::to_string(limits::kMinPollingIntervalMinutes) + ".." +
                std::to_string(limits::kMaxPollingIntervalMinutes));
    }
    if (policy_.rules.empty()) error(object, "rules", "a policy needs at least one rule");
  }

  // Weak offers (offer_strength.h) are skipped, as Windows does, with a warning naming the offer;
  // only an object left with no usable offer gets a further warning: its traffic is blocked.
  void check_key_exchange() {
    const auto object = "key exchange settings of " + policy_object();
    const auto& settings = policy_.key_exchange;
    if (settings.id.is_nil()) error(object, "id", "must be a non-nil GUID");
    if (settings.methods.empty()) error(object, "methods", "at least one key exchange security method is needed");
    std::size_t usable = 0;
    for (std::size_t i = 0; i < settings.methods.size(); ++i) {
      const auto& method = settings.methods[i];
      const auto field = "methods[" + std::to_string(i) + "]";
      bool malformed = false;
      if (method.cipher == Cipher::None || method.cipher == Cipher::Aes128Gcm || method.cipher == Cipher::Aes256Gcm) {
        error(object, field + ".cipher",
              std::string(name_of(method.cipher)) + " cannot protect IKEv1 main mode; use a CBC cipher");
        malformed = true;
      }
      if (method.integrity == Integrity::None) {
        error(object, field + ".integrity", "main mode needs an integrity algorithm");
        malformed = true;
      }
      if (const auto weak = weak_offer_reason(method, policy_.allow_legacy_algorithms)) {
        warning(object, field, skipped_text(offer_text(method, i), *weak));
      } else if (!malformed) {
        ++usable;
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (settings.methods[j] == method) warning(object, field, "repeats methods[" + std::to_string(j) + "]");
      }
    }
    if (!settings.methods.empty() && usable == 0) {
      warning(object, "methods", "no usable key exchange method is left: every rule that negotiates blocks the traffic its filters cover (fail closed)");
    }
    if (settings.lifetime_minutes < limits::kMinMainModeLifetimeMinutes ||
        settings.lifetime_minutes > limits::kMaxMainModeLifetimeMinutes) {
      error(object, "lifetime_minutes",
            std::to_string(settings.lifetime_minutes) + " is outside " +
                std::to_string(limits::kMinMainModeLifetimeMinutes) + ".." +
                std::to_string(limits::kMaxMainModeLifetimeMinutes));
    }
    if (settings.master_key_pfs && settings.quick_mode_limit > 1) {
      warning(object, "quick_mode_limit", "master key PFS makes every quick mode start a new main mode; the limit of " +
                                              std::to_string(settings.quick_mode_limit) + " has no effect");
    }
  }

  void check_unique_ids() {
    std::map<Guid, std::string> seen;
    auto note = [&](const Guid& id, const std::string& object) {
      if (id.is_nil()) {
        error(object, "id", "must be a non-nil GUID");
        return;
      }
      const auto [it, inserted] = seen.emplace(id, object);
      if (!inserted) error(object, "id", id.to_string() + " is already used by " + it->second);
    };
    note(policy_.id, policy_object());
    note(policy_.key_exchange.id, "key exchange settings of " + policy_object());
    for (const auto& list : policy_.filter_lists) {
      note(list.id, "filter list " + quoted(list.name));
      for (const auto& filter : list.filters) note(filter.id, "filter " + filter.id.to_string() + " in filter list " + quoted(list.name));
    }
    for (const auto& action : policy_.filter_actions) note(action.id, action_object(action));
    for (const auto& rule : policy_.rules) note(rule.id, rule_object(rule));

    check_unique_names(policy_.filter_lists, "filter list", [](const FilterList&) { return false; });
    check_unique_names(policy_.filter_actions, "filter action",
                       [&](const FilterAction& action) { return policy_.is_default_response_action(action); });
    check_unique_names(policy_.rules, "rule", [](const Rule& rule) { return rule.default_response; });
  }

  std::string rule_object(const Rule& rule) const { return "rule " + quoted(display_name(rule)); }
  std::string action_object(const FilterAction& action) const { return "filter action " + quoted(display_name(policy_, action)); }

  // `may_be_unnamed`: Windows' default response rule and its action carry no name (FINDINGS.md).
  template <class T, class Unnamed>
  void check_unique_names(const std::vector<T>& items, const std::string& kind, Unnamed may_be_unnamed) {
    std::set<std::string> names;
    for (const auto& item : items) {
      if (item.name.empty() && may_be_unnamed(item)) continue;
      if (item.name.empty()) {
        error(kind + " " + item.id.to_string(), "name", "must not be empty");
      } else if (!names.insert(item.name).second) {
        error(kind + " " + quoted(item.name), "name", "another " + kind + " in this policy has the same name");
      }
    }
  }

  static bool valid_dns_name(const std::string& name) {
    if (name.empty() || name.size() > limits::kMaxDnsNameLength) return false;
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
      if (i == name.size() || name[i] == '.') {
        const auto length = i - label_start;
        if (length == 0 || length > limits::kMaxDnsLabelLength) return false;
        if (name[label_start] == '-' || name[i - 1] == '-') return false;
        label_start = i + 1;
        continue;
      }
      const char c = name[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    return true;
  }

  void check_address(const std::string& object, const std::string& field, const AddressSpec& spec) {
    switch (spec.kind) {
      case AddressKind::Host:
        if (!spec.prefix || !spec.prefix->is_host()) error(object, field + ".address", "a host needs one full address");
        break;
      case AddressKind::Subnet:
        if (!spec.prefix) error(object, field + ".subnet", "a subnet needs an address and prefix length");
        else if (spec.prefix->is_any()) warning(object, field + ".subnet", "a /0 subnet is the same as any address");
        break;
      case AddressKind::DnsName:
        if (!valid_dns_name(spec.dns_name)) error(object, field + ".dns_name", quoted(spec.dns_name) + " is not a valid DNS name");
        break;
      case AddressKind::MyAddress:
      case AddressKind::Any:
      case AddressKind::DnsServers:
      case AddressKind::WinsServers:
      case AddressKind::DhcpServer:
      case AddressKind::DefaultGateway:
        break;
    }
    const bool takes_prefix = spec.kind == AddressKind::Host || spec.kind == AddressKind::Subnet;
    if (!takes_prefix && spec.prefix) error(object, field + ".address", "is set but address type " + std::string(name_of(spec.kind)) + " takes none");
    if (spec.kind != AddressKind::DnsName && !spec.dns_name.empty()) {
      error(object, field + ".dns_name", "is set but address type " + std::string(name_of(spec.kind)) + " takes none");
    }
  }

  void check_filter_list(const FilterList& list) {
    const auto object = "filter list " + quoted(list.name);
    if (list.filters.empty()) error(object, "filters", "a filter list needs at least one filter");
    for (std::size_t i = 0; i < list.filters.size(); ++i) {
      const auto& filter = list.filters[i];
      const auto field = "filters[" + std::to_string(i) + "]";
      check_address(object, field + ".source", filter.source);
      check_address(object, field + ".destination", filter.destination);
      if (filter.source.kind == AddressKind::MyAddress && filter.destination.kind == AddressKind::MyAddress) {
        error(object, field, "source and destination cannot both be my address");
      }
      if (filter.source.prefix && filter.destination.prefix &&
          filter.source.prefix->family() != filter.destination.prefix->family()) {
        error(object, field, "source " + filter.source.prefix->to_string() + " and destination " +
                                 filter.destination.prefix->to_string() + " are of different IP versions");
      }
      const bool has_ports = filter.protocol == ip_protocol::kTcp || filter.protocol == ip_protocol::kUdp;
      for (const auto& [ports, name] : {std::pair{filter.source_ports, "source_ports"}, std::pair{filter.destination_ports, "destination_ports"}}) {
        if (ports.first > ports.last) {
          error(object, field + "." + name, "range " + std::to_string(ports.first) + "-" + std::to_string(ports.last) + " is reversed");
        }
        if (!has_ports && !ports.is_any()) {
          error(object, field + "." + name, "ports apply to TCP (6) and UDP (17) only, not protocol " + std::to_string(filter.protocol));
        }
      }
    }
  }

  // Returns whether the method is usable (well formed and not weak).
  bool check_security_method(const std::string& object, const std::string& field, const SecurityMethod& method, std::size_t index) {
    const auto errors_before = problems_.size();
    if (!method.ah && !method.esp) error(object, field, "a security method needs AH, ESP or both");
    if (method.ah) {
      if (method.ah->integrity == Integrity::None) error(object, field + ".ah.integrity", "AH needs an integrity algorithm");
    }
    if (method.esp) {
      const auto& esp = *method.esp;
      const bool gcm = esp.cipher == Cipher::Aes128Gcm || esp.cipher == Cipher::Aes256Gcm;
      if (gcm && esp.integrity != Integrity::None) {
        error(object, field + ".esp.integrity", "AES-GCM provides integrity itself; set integrity to none");
      }
      if (!gcm && esp.integrity == Integrity::None) {
        error(object, field + ".esp.integrity",
              esp.cipher == Cipher::None ? "ESP without encryption needs an integrity algorithm"
                                         : "encryption without integrity is open to active attacks; choose an integrity algorithm");
      }
    }
    if (method.lifetime_seconds < limits::kMinQuickModeLifetimeSeconds ||
        method.lifetime_seconds > limits::kMaxQuickModeLifetimeSeconds) {
      error(object, field + ".lifetime_seconds",
            std::to_string(method.lifetime_seconds) + " is outside " + std::to_string(limits::kMinQuickModeLifetimeSeconds) +
                ".." + std::to_string(limits::kMaxQuickModeLifetimeSeconds));
    }
    if (method.lifetime_kilobytes < limits::kMinQuickModeLifetimeKilobytes) {
      error(object, field + ".lifetime_kilobytes",
            std::to_string(method.lifetime_kilobytes) + " is below the minimum of " +
                std::to_string(limits::kMinQuickModeLifetimeKilobytes));
    }
    const bool malformed = problems_.size() != errors_before;
    if (const auto weak = weak_offer_reason(method, policy_.allow_legacy_algorithms)) {
      warning(object, field, skipped_text(offer_text(method, index), *weak));
      return false;
    }
    return !malformed;
  }

  void check_filter_action(const FilterAction& action) {
    const auto object = action_object(action);
    if (action.kind == ActionKind::Negotiate) {
      if (action.security_methods.empty()) error(object, "security_methods", "a negotiate action needs at least one security method");
      std::size_t usable = 0;
      for (std::size_t i = 0; i < action.security_methods.size(); ++i) {
        if (check_security_method(object, "security_methods[" + std::to_string(i) + "]", action.security_methods[i], i)) ++usable;
      }
      if (!action.security_methods.empty() && usable == 0) {
        warning(object, "security_methods",
                "no usable security method is left: rules using this action block the traffic their filters cover (fail closed)");
      }
      return;
    }
    const auto kind = std::string(name_of(action.kind));
    if (!action.security_methods.empty()) warning(object, "security_methods", "ignored: the action is " + kind);
    if (action.accept_unsecured) warning(object, "accept_unsecured", "ignored: the action is " + kind);
    if (action.fallback_to_unsecured) warning(object, "fallback_to_unsecured", "ignored: the action is " + kind);
    if (action.quick_mode_pfs) warning(object, "quick_mode_pfs", "ignored: the action is " + kind);
  }

  void check_rule(const Rule& rule) {
    const auto object = rule_object(rule);
    const FilterAction* action = policy_.find_filter_action(rule.filter_action);
    if (!action) error(object, "filter_action", "refers to " + rule.filter_action.to_string() + ", which is not a filter action of this policy");

    const FilterList* list = nullptr;
    if (rule.default_response) {
      if (rule.filter_list) error(object, "filter_list", "the default response rule has no filter list");
      if (action && action->kind != ActionKind::Negotiate) error(object, "filter_action", "the default response rule must negotiate");
      if (++default_response_rules_ == 2) error(object, "default_response", "a policy has at most one default response rule");
    } else if (!rule.filter_list) {
      error(object, "filter_list", "a rule needs a filter list");
    } else {
      list = policy_.find_filter_list(*rule.filter_list);
      if (!list) error(object, "filter_list", "refers to " + rule.filter_list->to_string() + ", which is not a filter list of this policy");
    }

    const bool negotiates = action && action->kind == ActionKind::Negotiate;
    if (negotiates && rule.auth_methods.empty()) error(object, "auth_methods", "a rule that negotiates needs at least one authentication method");
    for (std::size_t i = 0; i < rule.auth_methods.size(); ++i) {
      const auto& method = rule.auth_methods[i];
      const auto field = "auth_methods[" + std::to_string(i) + "]";
      if (method.kind == AuthKind::Certificate && method.ca_name.empty()) error(object, field + ".ca_name", "a certificate method needs the trusted CA's name");
      if (method.kind != AuthKind::Certificate && !method.ca_name.empty()) error(object, field + ".ca_name", "only certificate methods take a CA name");
      if (method.kind == AuthKind::PresharedKey) {
        if (method.preshared_key.empty()) error(object, field + ".preshared_key", "must not be empty");
        else if (method.preshared_key.size() < limits::kMinRecommendedPresharedKeyLength) {
          warning(object, field + ".preshared_key", "shorter than " + std::to_string(limits::kMinRecommendedPresharedKeyLength) + " characters");
        }
      } else if (!method.preshared_key.empty()) {
        error(object, field + ".preshared_key", "only preshared-key methods take a key");
      }
    }

    if (rule.tunnel_endpoint) {
      if (action && !negotiates) error(object, "tunnel_endpoint", "a tunnel needs a negotiate action");
      if (list) {
        for (std::size_t i = 0; i < list->filters.size(); ++i) {
          if (list->filters[i].mirrored) {
            error(object, "tunnel_endpoint", "tunnel rules need unmirrored filters, but filter list " + quoted(list->name) +
                                                 " filters[" + std::to_string(i) + "] is mirrored");
          }
        }
      }
    }
  }

  void check_references_used() {
    std::set<Guid> used_lists, used_actions;
    for (const auto& rule : policy_.rules) {
      if (rule.filter_list) used_lists.insert(*rule.filter_list);
      used_actions.insert(rule.filter_action);
    }
    for (const auto& list : policy_.filter_lists) {
      if (!used_lists.count(list.id)) warning("filter list " + quoted(list.name), "", "no rule uses it");
    }
    for (const auto& action : policy_.filter_actions) {
      if (!used_actions.count(action.id)) warning(action_object(action), "", "no rule uses it");
    }
  }

  const Policy& policy_;
  std::vector<Problem> problems_;
  int default_response_rules_ = 0;
};

}  // namespace

std::vector<Problem> validate(const Policy& policy) noexcept {
  try {
    return Checker(policy).run();
  } catch (const std::exception& e) {  // only allocation can throw here
    return {Problem{Severity::Error, "policy " + quoted(policy.name), "", std::string("validation aborted: ") + e.what()}};
  }
}

}  // namespace ward::model
