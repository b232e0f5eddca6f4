#include "directory/model/policy_json.h"

#include <functional>
#include <initializer_list>
#include <set>

#include <nlohmann/json.hpp>

#include "directory/model/names.h"

namespace ward::model {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// ---- export -----------------------------------------------------------------------------------

std::string protocol_name(std::uint8_t protocol) {
  switch (protocol) {
    case ip_protocol::kAny: return "any";
    case ip_protocol::kIcmp: return "icmp";
    case ip_protocol::kTcp: return "tcp";
    case ip_protocol::kUdp: return "udp";
    case ip_protocol::kIcmpV6: return "icmpv6";
    default: return {};
  }
}

ordered_json ports_to_json(const PortRange& ports) {
  if (ports.is_any()) return "any";
  if (ports.is_single()) return ports.first;
  return ports.to_string();
}

ordered_json address_to_json(const AddressSpec& spec) {
  ordered_json out;
  out["type"] = name_of(spec.kind);
  if (spec.kind == AddressKind::Host && spec.prefix) out["address"] = spec.prefix->address().to_string();
  if (spec.kind == AddressKind::Subnet && spec.prefix) out["address"] = spec.prefix->to_string();
  if (spec.kind == AddressKind::DnsName) out["name"] = spec.dns_name;
  return out;
}

ordered_json filter_to_json(const Filter& filter) {
  ordered_json out;
  out["id"] = filter.id.to_string();
  out["description"] = filter.description;
  out["source"] = address_to_json(filter.source);
  out["destination"] = address_to_json(filter.destination);
  const auto name = protocol_name(filter.protocol);
  if (name.empty()) out["protocol"] = filter.protocol;
  else out["protocol"] = name;
  out["source_ports"] = ports_to_json(filter.source_ports);
  out["destination_ports"] = ports_to_json(filter.destination_ports);
  out["mirrored"] = filter.mirrored;
  return out;
}

ordered_json method_to_json(const SecurityMethod& method) {
  ordered_json out;
  if (method.ah) out["ah"] = {{"integrity", name_of(method.ah->integrity)}};
  if (method.esp) out["esp"] = {{"cipher", name_of(method.esp->cipher)}, {"integrity", name_of(method.esp->integrity)}};
  out["lifetime_seconds"] = method.lifetime_seconds;
  out["lifetime_kilobytes"] = method.lifetime_kilobytes;
  return out;
}

ordered_json auth_to_json(const AuthMethod& method, SecretHandling secrets) {
  ordered_json out;
  out["type"] = name_of(method.kind);
  if (method.kind == AuthKind::Certificate) out["ca"] = method.ca_name;
  if (method.kind == AuthKind::PresharedKey) {
    out["key"] = secrets == SecretHandling::Include ? std::string(method.preshared_key.reveal()) : std::string("<redacted>");
  }
  return out;
}

// ---- import -----------------------------------------------------------------------------------

// Reads one JSON object, remembering its JSON pointer so that every problem says where it is.
class Reader {
 public:
  Reader(const json& value, std::string path, std::vector<Problem>& problems)
      : value_(value), path_(std::move(path)), problems_(problems) {
    if (!value_.is_object()) fail("", "must be an object");
  }

  void fail(const std::string& key, std::string message) const {
    problems_.push_back({Severity::Error, "JSON", key.empty() ? (path_.empty() ? "/" : path_) : path_ + "/" + key, std::move(message)});
  }

  const json* get(const std::string& key, bool required) {
    known_.insert(key);
    if (!value_.is_object()) return nullptr;
    const auto it = value_.find(key);
    if (it == value_.end() || it->is_null()) {
      if (required) fail(key, "is required");
      return nullptr;
    }
    return &*it;
  }

  std::string string(const std::string& key, bool required = false) {
    const json* v = get(key, required);
    if (!v) return {};
    if (!v->is_string()) {
      fail(key, "must be a string");
      return {};
    }
    return v->get<std::string>();
  }

  bool boolean(const std::string& key, bool fallback) {
    const json* v = get(key, false);
    if (!v) return fallback;
    if (!v->is_boolean()) {
      fail(key, "must be true or false");
      return fallback;
    }
    return v->get<bool>();
  }

  std::uint32_t u32(const std::string& key, std::uint32_t fallback) {
    const json* v = get(key, false);
    if (!v) return fallback;
    if (!v->is_number_unsigned()) {
      fail(key, "must be a non-negative integer");
      return fallback;
    }
    const auto n = v->get<std::uint64_t>();
    if (n > UINT32_MAX) {
      fail(key, std::to_string(n) + " does not fit in 32 bits");
      return fallback;
    }
    return static_cast<std::uint32_t>(n);
  }

  Guid guid(const std::string& key) {
    const auto text = string(key, true);
    if (text.empty()) return {};
    const auto id = Guid::parse(text);
    if (!id) fail(key, "\"" + text + "\" is not a GUID like {6A1E5C3F-72B7-11D2-ACF0-0260B025CAFE}");
    return id.value_or(Guid{});
  }

  template <class E>
  E enumeration(const std::string& key, E fallback, bool required = false) {
    const auto text = string(key, required);
    if (text.empty()) return fallback;
    const auto value = from_name<E>(text);
    if (!value) {
      fail(key, "unknown value \"" + text + "\"; accepted: " + accepted_names<E>());
      return fallback;
    }
    return *value;
  }

  template <class Fn>
  void array(const std::string& key, Fn&& each) {
    const json* v = get(key, false);
    if (!v) return;
    if (!v->is_array()) {
      fail(key, "must be an array");
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) each((*v)[i], path_ + "/" + key + "/" + std::to_string(i));
  }

  std::optional<Reader> object(const std::string& key, bool required = false) {
    const json* v = get(key, required);
    if (!v) return std::nullopt;
    return Reader(*v, path_ + "/" + key, problems_);
  }

  // Call last: keys nobody asked for are typos or fields of another version.
  void reject_unknown_keys() const {
    if (!value_.is_object()) return;
    for (const auto& [key, ignored] : value_.items()) {
      if (!known_.count(key)) fail(key, "unknown key");
    }
  }

  const std::string& path() const { return path_; }
  Reader child(const json& value, std::string path) const { return Reader(value, std::move(path), problems_); }

 private:
  const json& value_;
  std::string path_;
  std::vector<Problem>& problems_;
  std::set<std::string> known_;
};

std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const auto n = std::stoul(text);
  if (n > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(n);
}

PortRange read_ports(Reader& in, const std::string& key) {
  const json* v = in.get(key, false);
  if (!v) return PortRange::any();
  if (v->is_number_unsigned()) {
    const auto n = v->get<std::uint64_t>();
    if (n <= 65535) return PortRange::single(static_cast<std::uint16_t>(n));
  } else if (v->is_string()) {
    const auto text = v->get<std::string>();
    if (text == "any") return PortRange::any();
    const auto dash = text.find('-');
    const auto first = parse_port(text.substr(0, dash));
    const auto last = dash == std::string::npos ? first : parse_port(text.substr(dash + 1));
    if (first && last) return PortRange{*first, *last};
  }
  in.fail(key, "must be \"any\", a port number 0-65535 or a range like \"1024-65535\"");
  return PortRange::any();
}

std::uint8_t read_protocol(Reader& in) {
  const json* v = in.get("protocol", false);
  if (!v) return ip_protocol::kAny;
  if (v->is_number_unsigned() && v->get<std::uint64_t>() <= 255) return static_cast<std::uint8_t>(v->get<std::uint64_t>());
  if (v->is_string()) {
    for (std::uint8_t p : {ip_protocol::kAny, ip_protocol::kIcmp, ip_protocol::kTcp, ip_protocol::kUdp, ip_protocol::kIcmpV6}) {
      if (protocol_name(p) == v->get<std::string>()) return p;
    }
  }
  in.fail("protocol", "must be a protocol number 0-255 or one of any, icmp, tcp, udp, icmpv6");
  return ip_protocol::kAny;
}

AddressSpec read_address(Reader& in) {
  AddressSpec spec;
  spec.kind = in.enumeration<AddressKind>("type", AddressKind::Any, true);
  if (spec.kind == AddressKind::Host || spec.kind == AddressKind::Subnet) {
    const auto text = in.string("address", true);
    if (!text.empty()) {
      if (spec.kind == AddressKind::Subnet) {
        spec.prefix = IpPrefix::parse(text);
      } else if (const auto address = IpAddress::parse(text)) {
        spec.prefix = IpPrefix::host(*address);
      }
      if (!spec.prefix) {
        in.fail("address", "\"" + text + (spec.kind == AddressKind::Host ? "\" is not an IP address" : "\" is not a prefix like 10.1.0.0/16 (host bits must be zero)"));
      }
    }
  }
  if (spec.kind == AddressKind::DnsName) spec.dns_name = in.string("name", true);
  in.reject_unknown_keys();
  return spec;
}

Filter read_filter(Reader& in) {
  Filter filter;
  filter.id = in.guid("id");
  filter.description = in.string("description");
  if (auto source = in.object("source", true)) filter.source = read_address(*source);
  if (auto destination = in.object("destination", true)) filter.destination = read_address(*destination);
  filter.protocol = read_protocol(in);
  filter.source_ports = read_ports(in, "source_ports");
  filter.destination_ports = read_ports(in, "destination_ports");
  filter.mirrored = in.boolean("mirrored", true);
  in.reject_unknown_keys();
  return filter;
}

SecurityMethod read_security_method(Reader& in) {
  SecurityMethod method;
  if (auto ah = in.object("ah")) {
    method.ah = AhTransform{ah->enumeration<Integrity>("integrity", Integrity::None, true)};
    ah->reject_unknown_keys();
  }
  if (auto esp = in.object("esp")) {
    method.esp = EspTransform{esp->enumeration<Cipher>("cipher", Cipher::None, true),
                              esp->enumeration<Integrity>("integrity", Integrity::None)};
    esp->reject_unknown_keys();
  }
  method.lifetime_seconds = in.u32("lifetime_seconds", method.lifetime_seconds);
  method.lifetime_kilobytes = in.u32("lifetime_kilobytes", method.lifetime_kilobytes);
  in.reject_unknown_keys();
  return method;
}

AuthMethod read_auth(Reader& in) {
  AuthMethod method;
  method.kind = in.enumeration<AuthKind>("type", AuthKind::Kerberos, true);
  if (method.kind == AuthKind::Certificate) method.ca_name = in.string("ca", true);
  if (method.kind == AuthKind::PresharedKey) method.preshared_key = Secret(in.string("key", true));
  in.reject_unknown_keys();
  return method;
}

// A rule refers to a filter list or action by GUID, or, in hand-written files, by its name.
template <class T>
std::optional<Guid> resolve_reference(Reader& in, const std::string& key, const std::vector<T>& candidates, bool required,
                                      const char* kind) {
  const auto text = in.string(key, required);
  if (text.empty()) return std::nullopt;
  if (const auto id = Guid::parse(text)) return id;
  for (const auto& candidate : candidates) {
    if (candidate.name == text) return candidate.id;
  }
  in.fail(key, "\"" + text + "\" is neither a GUID nor the name of a " + kind + " in this policy");
  return std::nullopt;
}

Policy read_policy(Reader& in) {
  Policy policy;
  const auto format = in.string("format", true);
  if (!format.empty() && format != kPolicyJsonFormat) {
    in.fail("format", "\"" + format + "\" is not " + std::string(kPolicyJsonFormat));
  }
  policy.id = in.guid("id");
  policy.name = in.string("name", true);
  policy.description = in.string("description");
  policy.polling_interval_minutes = in.u32("polling_interval_minutes", policy.polling_interval_minutes);
  policy.allow_legacy_algorithms = in.boolean("allow_legacy_algorithms", false);

  if (auto kx = in.object("key_exchange", true)) {
    auto& settings = policy.key_exchange;
    settings.id = kx->guid("id");
    settings.master_key_pfs = kx->boolean("master_key_pfs", false);
    settings.lifetime_minutes = kx->u32("lifetime_minutes", settings.lifetime_minutes);
    settings.quick_mode_limit = kx->u32("quick_mode_limit", settings.quick_mode_limit);
    kx->array("methods", [&](const json& value, const std::string& path) {
      Reader m = kx->child(value, path);
      KeyExchangeMethod method;
      method.cipher = m.enumeration<Cipher>("cipher", method.cipher, true);
      method.integrity = m.enumeration<Integrity>("integrity", method.integrity, true);
      method.dh_group = m.enumeration<DhGroup>("dh_group", method.dh_group, true);
      m.reject_unknown_keys();
      settings.methods.push_back(method);
    });
    kx->reject_unknown_keys();
  }

  in.array("filter_lists", [&](const json& value, const std::string& path) {
    Reader l = in.child(value, path);
    FilterList list;
    list.id = l.guid("id");
    list.name = l.string("name", true);
    list.description = l.string("description");
    l.array("filters", [&](const json& f, const std::string& filter_path) {
      Reader r = l.child(f, filter_path);
      list.filters.push_back(read_filter(r));
    });
    l.reject_unknown_keys();
    policy.filter_lists.push_back(std::move(list));
  });

  in.array("filter_actions", [&](const json& value, const std::string& path) {
    Reader a = in.child(value, path);
    FilterAction action;
    action.id = a.guid("id");
    action.name = a.string("name", true);
    action.description = a.string("description");
    action.kind = a.enumeration<ActionKind>("action", ActionKind::Negotiate, true);
    a.array("security_methods", [&](const json& m, const std::string& method_path) {
      Reader r = a.child(m, method_path);
      action.security_methods.push_back(read_security_method(r));
    });
    action.accept_unsecured = a.boolean("accept_unsecured", false);
    action.fallback_to_unsecured = a.boolean("fallback_to_unsecured", false);
    action.quick_mode_pfs = a.boolean("quick_mode_pfs", false);
    a.reject_unknown_keys();
    policy.filter_actions.push_back(std::move(action));
  });

  in.array("rules", [&](const json& value, const std::string& path) {
    Reader r = in.child(value, path);
    Rule rule;
    rule.id = r.guid("id");
    rule.name = r.string("name", true);
    rule.description = r.string("description");
    rule.default_response = r.boolean("default_response", false);
    rule.filter_list = resolve_reference(r, "filter_list", policy.filter_lists, !rule.default_response, "filter list");
    rule.filter_action = resolve_reference(r, "filter_action", policy.filter_actions, true, "filter action").value_or(Guid{});
    r.array("auth_methods", [&](const json& m, const std::string& method_path) {
      Reader a = r.child(m, method_path);
      rule.auth_methods.push_back(read_auth(a));
    });
    const auto tunnel = r.string("tunnel_endpoint");
    if (!tunnel.empty()) {
      rule.tunnel_endpoint = IpAddress::parse(tunnel);
      if (!rule.tunnel_endpoint) r.fail("tunnel_endpoint", "\"" + tunnel + "\" is not an IP address");
    }
    rule.connection_type = r.enumeration<ConnectionType>("connection_type", ConnectionType::All);
    rule.active = r.boolean("active", true);
    r.reject_unknown_keys();
    policy.rules.push_back(std::move(rule));
  });

  in.reject_unknown_keys();
  return policy;
}

}  // namespace

std::string policy_to_json(const Policy& policy, SecretHandling secrets) {
  ordered_json out;
  out["format"] = kPolicyJsonFormat;
  out["id"] = policy.id.to_string();
  out["name"] = policy.name;
  out["description"] = policy.description;
  out["polling_interval_minutes"] = policy.polling_interval_minutes;
  out["allow_legacy_algorithms"] = policy.allow_legacy_algorithms;

  const auto& kx = policy.key_exchange;
  ordered_json key_exchange;
  key_exchange["id"] = kx.id.to_string();
  key_exchange["master_key_pfs"] = kx.master_key_pfs;
  key_exchange["lifetime_minutes"] = kx.lifetime_minutes;
  key_exchange["quick_mode_limit"] = kx.quick_mode_limit;
  key_exchange["methods"] = ordered_json::array();
  for (const auto& m : kx.methods) {
    key_exchange["methods"].push_back(
        ordered_json{{"cipher", name_of(m.cipher)}, {"integrity", name_of(m.integrity)}, {"dh_group", name_of(m.dh_group)}});
  }
  out["key_exchange"] = key_exchange;

  out["filter_lists"] = ordered_json::array();
  for (const auto& list : policy.filter_lists) {
    ordered_json l;
    l["id"] = list.id.to_string();
    l["name"] = list.name;
    l["description"] = list.description;
    l["filters"] = ordered_json::array();
    for (const auto& filter : list.filters) l["filters"].push_back(filter_to_json(filter));
    out["filter_lists"].push_back(l);
  }

  out["filter_actions"] = ordered_json::array();
  for (const auto& action : policy.filter_actions) {
    ordered_json a;
    a["id"] = action.id.to_string();
    a["name"] = action.name;
    a["description"] = action.description;
    a["action"] = name_of(action.kind);
    a["security_methods"] = ordered_json::array();
    for (const auto& method : action.security_methods) a["security_methods"].push_back(method_to_json(method));
    a["accept_unsecured"] = action.accept_unsecured;
    a["fallback_to_unsecured"] = action.fallback_to_unsecured;
    a["quick_mode_pfs"] = action.quick_mode_pfs;
    out["filter_actions"].push_back(a);
  }

  out["rules"] = ordered_json::array();
  for (const auto& rule : policy.rules) {
    ordered_json r;
    r["id"] = rule.id.to_string();
    r["name"] = rule.name;
    r["description"] = rule.description;
    if (rule.filter_list) r["filter_list"] = rule.filter_list->to_string();
    r["filter_action"] = rule.filter_action.to_string();
    r["auth_methods"] = ordered_json::array();
    for (const auto& method : rule.auth_methods) r["auth_methods"].push_back(auth_to_json(method, secrets));
    if (rule.tunnel_endpoint) r["tunnel_endpoint"] = rule.tunnel_endpoint->to_string();
    r["connection_type"] = name_of(rule.connection_type);
    r["active"] = rule.active;
    r["default_response"] = rule.default_response;
    out["rules"].push_back(r);
  }
  return out.dump(2) + "\n";
}

Expected<Policy, std::vector<Problem>> policy_from_json(std::string_view text) noexcept {
  std::vector<Problem> problems;
  try {
    const json document = json::parse(text.begin(), text.end());
    Reader root(document, "", problems);
    Policy policy = read_policy(root);
    if (!problems.empty()) return unexpected(std::move(problems));
    return policy;
  } catch (const json::parse_error& e) {
    problems.push_back({Severity::Error, "JSON", "byte offset " + std::to_string(e.byte == 0 ? 0 : e.byte - 1), "not valid JSON: " + std::string(e.what())});
  } catch (const std::exception& e) {
    problems.push_back({Severity::Error, "JSON", "", std::string("import failed: ") + e.what()});
  }
  return unexpected(std::move(problems));
}

}  // namespace ward::model
