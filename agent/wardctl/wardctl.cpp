#include "agent/wardctl/wardctl.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "agent/control/client.h"
#include "agent/monitor/monitor_client.h"
#include "agent/explain/explain.h"

namespace ward::agent::wardctl {

namespace {

using nlohmann::json;
using control::ClientError;
using control::ErrorCode;

constexpr std::chrono::milliseconds kDefaultTimeout{30000};  // refresh may fetch from the directory

struct Options {
  std::string socket = kDefaultSocket;
  bool json_output = false;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  std::vector<std::string> words;  // the command and its operands
  std::optional<control::FilterView> view;
  std::optional<std::string> since;
  // --monitor: the agent's remote read-only TLS endpoint instead of the local socket.
  std::optional<std::string> monitor;
  monitor::TlsFiles tls;
};

struct UsageError {
  std::string message;
};

// ---- rendering helpers ------------------------------------------------------------------------

// A field as text: strings as they are, numbers and booleans printed, missing or null as "".
std::string text(const json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  return it->dump();
}

std::string time_text(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buffer) + " UTC";
}

std::string time_field(const json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object.at(key).is_number_integer()) {
    return time_text(object.at(key).get<std::int64_t>());
  }
  return text(object, key);
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

const json& array_field(const json& object, const char* key) {
  static const json kEmpty = json::array();
  if (!object.is_object()) return kEmpty;
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : kEmpty;
}

// How the directory decided: its kind, the site and where it came from, and every GPO in scope
// ("GPO Legal IPsec: not applied: security filtering denies Apply Group Policy to WARD\PC1$ ...").
std::string render_scope(const json& scope) {
  const json& site = scope.contains("site") ? scope.at("site") : json::object();
  std::string site_text = text(site, "dn").empty() ? "(none)" : text(site, "dn") + " (" + text(site, "from") + ")";
  std::string out = table({
      {"Directory:", text(scope, "directory")},
      {"Computer:", text(scope, "computer_dn") + (text(scope, "account").empty() ? "" : " (" + text(scope, "account") + ")")},
      {"Site:", site_text},
  });
  for (const auto& gpo : array_field(scope, "gpos")) {
    const std::string name = text(gpo, "name").empty() ? text(gpo, "dn") : text(gpo, "name");
    const bool applied = gpo.contains("applied") && gpo.at("applied").is_boolean() && gpo.at("applied").get<bool>();
    std::string line = "GPO " + name + ": " + (applied ? "applied" : "not applied");
    if (!text(gpo, "note").empty()) line += ": " + text(gpo, "note");
    out += line + " (linked at " + text(gpo, "som_dn") + ")\n";
  }
  return out;
}

// What the host leaves out of the policy's offers, the rules that block instead of negotiating,
// and the validation warnings not already said by those.
std::string render_offers(const json& result) {
  if (!result.contains("offers")) return "";
  const json& offers = result.at("offers");
  std::string out = "\nLegacy algorithms (3DES, MD5, DH group 2): " +
                    std::string(offers.value("legacy_algorithms", false) ? "used" : "not used") + "\n";
  std::vector<std::string> said;
  const auto& skipped = array_field(offers, "skipped");
  if (!skipped.empty()) {
    out += "\nSkipped offers:\n";
    for (const auto& s : skipped) {
      out += "  " + text(s, "object") + ": " + text(s, "offer") + "\n";
      said.push_back(text(s, "offer"));
    }
  }
  const auto& closed = array_field(offers, "fail_closed");
  if (!closed.empty()) {
    std::vector<std::vector<std::string>> rows{{"FAILS CLOSED (BLOCKS)", "BLOCKED PACKETS", "WHY"}};
    for (const auto& c : closed) rows.push_back({text(c, "rule"), text(c, "blocked_packets"), text(c, "reason")});
    out += "\n" + table(rows);
  }
  std::string others;
  for (const auto& w : array_field(result, "warnings")) {
    if (std::find(said.begin(), said.end(), text(w, "message")) != said.end()) continue;
    others += "  " + text(w, "object") + (text(w, "field").empty() ? "" : ", field " + text(w, "field")) + ": " + text(w, "message") + "\n";
  }
  if (!others.empty()) out += "\nWarnings:\n" + others;
  return out;
}

std::string render_policy(const json& result) {
  const json& policy = result.at("policy");
  const json& source = result.contains("source") ? result.at("source") : json::object();
  std::string out = table({
      {"Policy:", text(policy, "name") + " " + text(policy, "id")},
      {"State:", text(result, "state")},
      {"GPO:", text(source, "gpo_name") + (text(source, "gpo_dn").empty() ? "" : " (" + text(source, "gpo_dn") + ")")},
      {"Linked to:", text(source, "som_dn")},
      {"Policy DN:", text(source, "policy_dn")},
      {"Change stamp:", text(source, "change_stamp")},
      {"Fetched at:", time_field(source, "fetched_at")},
  });
  if (result.contains("dataplane") && result.at("dataplane").is_object()) {
    const json& dataplane = result.at("dataplane");
    out += table({{"Dataplane:", text(dataplane, "backend") + " (" + text(dataplane, "why") + ")"}});
  }
  const auto name_by_id = [&](const char* collection, const std::string& id) {
    for (const auto& item : array_field(policy, collection)) {
      if (text(item, "id") == id) return text(item, "name");
    }
    return id;
  };
  if (result.contains("scope") && result.at("scope").is_object()) out += render_scope(result.at("scope"));
  std::vector<std::vector<std::string>> rows{{"RULE", "FILTER LIST", "FILTER ACTION", "ACTION", "AUTHENTICATION", "ACTIVE"}};
  for (const auto& rule : array_field(policy, "rules")) {
    std::string auth;
    for (const auto& method : array_field(rule, "auth_methods")) {
      auth += (auth.empty() ? "" : ", ") + text(method, "type");  // never the key itself
    }
    std::string action;
    for (const auto& fa : array_field(policy, "filter_actions")) {
      if (text(fa, "id") == text(rule, "filter_action")) action = text(fa, "action");
    }
    const bool response = text(rule, "filter_list").empty();
    const auto display = [&](std::string name) { return name.empty() && response ? std::string("<default response>") : name; };
    rows.push_back({display(text(rule, "name")), response ? "(default response)" : name_by_id("filter_lists", text(rule, "filter_list")),
                    display(name_by_id("filter_actions", text(rule, "filter_action"))), action, auth, text(rule, "active")});
  }
  return out + "\n" + table(rows) + render_offers(result);
}

std::string render_filters(const json& result) {
  const bool generic = text(result, "view") == "generic";
  std::vector<std::vector<std::string>> rows;
  if (generic) {
    rows.push_back({"RULE", "FILTER LIST", "#", "SOURCE", "DESTINATION", "PROTO", "SPORT", "DPORT", "MIRRORED", "ACTION"});
    for (const auto& f : array_field(result, "filters")) {
      rows.push_back({text(f, "rule"), text(f, "filter_list"), text(f, "filter_index"), text(f, "source"), text(f, "destination"),
                      text(f, "protocol"), text(f, "source_ports"), text(f, "destination_ports"), text(f, "mirrored"),
                      text(f, "action")});
    }
  } else {
    rows.push_back({"#", "WEIGHT", "SOURCE", "DESTINATION", "PROTO", "SPORT", "DPORT", "ACTION", "DIR", "PACKETS", "RULE"});
    for (const auto& f : array_field(result, "filters")) {
      std::string rule = text(f, "rule");
      if (!text(f, "tunnel_endpoint").empty()) rule += " (tunnel to " + text(f, "tunnel_endpoint") + ")";
      if (!text(f, "note").empty()) rule += " (" + text(f, "note") + ")";
      rows.push_back({text(f, "position"), text(f, "weight"), text(f, "source"), text(f, "destination"), text(f, "protocol"),
                      text(f, "source_ports"), text(f, "destination_ports"), text(f, "action"),
                      text(f, "mirror") == "yes" ? "mirror" : "", text(f, "packets"), rule});
    }
  }
  if (rows.size() == 1) return "no filters\n";
  return table(rows);
}

// "3540s" for a number of seconds, "" when absent.
std::string seconds(const json& object, const char* key) {
  const std::string value = text(object, key);
  return value.empty() ? value : value + "s";
}

// "1234/56": a count in each direction, "-" for a direction the dataplane has no counters for.
std::string both_ways(const json& object, const char* in_key, const char* out_key) {
  const std::string in = text(object, in_key);
  const std::string out = text(object, out_key);
  return (in.empty() ? "-" : in) + "/" + (out.empty() ? "-" : out);
}

// Appends a table (a blank line between tables); nothing for no rows.
void add_table(std::string& out, const std::vector<std::vector<std::string>>& rows) {
  if (rows.size() <= 1) return;
  if (!out.empty()) out += "\n";
  out += table(rows);
}

// "IKEv1" or "IKEv2" (an IKEv2 IKE SA is listed with the main modes, its CHILD_SAs with the
// quick modes); a daemon from before the field: IKEv1.
std::string ike_version(const json& row) { return text(row, "ike_version") == "2" ? "IKEv2" : "IKEv1"; }

// Main mode and quick mode SAs as IKE negotiated them (with the dataplane's counters), quick modes
// under way, soft associations (no IPsec: the peer did not answer IKE), the dynamic filters of
// default response SAs and the failed negotiations; states in the helpdesk's words (the state
// machines' own names are in --json as internal_state). Without IKE (hand-installed SAs) the
// dataplane's own list.
std::string render_sas(const json& result) {
  std::string out;
  const auto& main_modes = array_field(result, "main_modes");
  const auto& quick_modes = array_field(result, "quick_modes");
  {
    std::vector<std::vector<std::string>> rows{
        {"MAIN MODE PEER", "IKE", "ROLE", "STATE", "AUTH", "CIPHER", "HASH", "DH GROUP", "LIFETIME LEFT", "QUICK MODES"}};
    for (const auto& mm : main_modes) {
      rows.push_back({text(mm, "peer"), ike_version(mm), text(mm, "role"), text(mm, "state"), text(mm, "auth_method"), text(mm, "cipher"),
                      text(mm, "hash"), text(mm, "dh_group"), seconds(mm, "lifetime_left"), text(mm, "quick_modes")});
    }
    add_table(out, rows);
  }
  {
    std::vector<std::vector<std::string>> rows{{"QUICK MODE PEER", "IKE", "STATE", "PROTO", "SPI IN", "SPI OUT", "CIPHER", "INTEGRITY", "PFS",
                                                "BYTES IN/OUT", "PACKETS IN/OUT", "LIFETIME LEFT", "RULE"}};
    for (const auto& qm : quick_modes) {
      const std::string pfs = text(qm, "pfs_group");
      std::string integrity = text(qm, "integrity");
      if (!text(qm, "ah_integrity").empty()) integrity = "AH " + text(qm, "ah_integrity") + (integrity == "-" ? "" : ", ESP " + integrity);
      std::string spi_in = text(qm, "spi_in"), spi_out = text(qm, "spi_out");
      if (!text(qm, "ah_spi_in").empty()) {
        spi_in += " (AH " + text(qm, "ah_spi_in") + ")";
        spi_out += " (AH " + text(qm, "ah_spi_out") + ")";
      }
      const std::string rule = text(qm, "rule") + (text(qm, "default_response") == "yes" ? " (dynamic filter)" : "");
      rows.push_back({text(qm, "peer"), ike_version(qm), text(qm, "state"), text(qm, "protocols"), spi_in, spi_out, text(qm, "cipher"), integrity,
                      pfs.empty() || pfs == "0" ? "no" : "group " + pfs, both_ways(qm, "bytes_in", "bytes_out"),
                      both_ways(qm, "packets_in", "packets_out"), seconds(qm, "lifetime_left"), rule});
    }
    add_table(out, rows);
  }
  {
    std::vector<std::vector<std::string>> rows{{"NEGOTIATING WITH", "ROLE", "STATE", "RULE"}};
    for (const auto& n : array_field(result, "negotiating")) {
      rows.push_back({text(n, "peer"), text(n, "role"), text(n, "state"), text(n, "rule")});
    }
    add_table(out, rows);
  }
  {
    std::vector<std::vector<std::string>> rows{{"SOFT ASSOCIATION PEER", "STATE", "PACKETS", "BYTES", "EXPIRES IN", "RULE"}};
    for (const auto& soft : array_field(result, "soft_associations")) {
      rows.push_back({text(soft, "peer"), text(soft, "state"), text(soft, "packets"), text(soft, "bytes"),
                      seconds(soft, "expires_in_seconds"), text(soft, "rule")});
    }
    add_table(out, rows);
  }
  {
    std::vector<std::vector<std::string>> rows{{"DYNAMIC FILTER", "LOCAL", "REMOTE", "PROTO", "LPORT", "RPORT", "SAS", "PACKETS", "RULE"}};
    for (const auto& d : array_field(result, "dynamic_filters")) {
      rows.push_back({text(d, "id"), text(d, "local"), text(d, "remote"), text(d, "protocol"), text(d, "local_port"),
                      text(d, "remote_port"), text(d, "sas"), text(d, "packets"), text(d, "rule")});
    }
    add_table(out, rows);
  }
  {
    std::vector<std::vector<std::string>> rows{{"FAILED WITH", "WHAT", "ROLE", "FAILURE", "AGO", "RULE"}};
    for (const auto& f : array_field(result, "failures")) {
      rows.push_back({text(f, "peer"), text(f, "what"), text(f, "role"), text(f, "failure"), seconds(f, "age_seconds"), text(f, "rule")});
    }
    add_table(out, rows);
  }
  if (!main_modes.empty() || !quick_modes.empty()) return out;
  std::vector<std::vector<std::string>> rows{{"PEER", "DIR", "SPI", "PROTO", "BYTES", "PACKETS", "DROPS", "RULE"}};
  for (const auto& sa : array_field(result, "sas")) {
    rows.push_back({text(sa, "peer"), text(sa, "direction"), text(sa, "spi"), text(sa, "protocol"), text(sa, "bytes"),
                    text(sa, "packets"), text(sa, "drops"), text(sa, "rule")});
  }
  if (rows.size() > 1) {
    add_table(out, rows);
    return out;
  }
  if (!out.empty()) return out;
  return "no security associations\n";
}

std::string render_events(const json& result) {
  std::vector<std::vector<std::string>> rows{{"TIME", "KIND", "PEER", "AUTH", "REASON"}};
  for (const auto& e : array_field(result, "events")) {
    std::string reason = text(e, "reason");
    // Aggregated repeats: "... (and 9,999 more like this until 10:42:07)".
    if (e.contains("count") && e["count"].is_number_unsigned() && e["count"].get<std::uint64_t>() > 1) {
      reason += " (and " + std::to_string(e["count"].get<std::uint64_t>() - 1) + " more like this until " +
                time_field(e, "last_time") + ")";
    }
    rows.push_back({time_field(e, "time"), text(e, "kind"), text(e, "peer"), text(e, "auth_method"), reason});
  }
  if (rows.size() == 1) return "no events\n";
  return table(rows);
}

// ---- command line -----------------------------------------------------------------------------

// "1800000000" (Unix seconds) or an age: "90m", "12h", "7d", "30s".
std::optional<std::int64_t> parse_since(const std::string& value, std::int64_t now) {
  if (value.empty()) return std::nullopt;
  const char unit = value.back();
  const bool relative = unit == 's' || unit == 'm' || unit == 'h' || unit == 'd';
  const std::string digits = relative ? value.substr(0, value.size() - 1) : value;
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || number < 0) return std::nullopt;
  if (!relative) return number;
  const std::int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
  if (number > (std::int64_t{1} << 40) / scale) return std::nullopt;
  return now - number * scale;
}

std::optional<std::uint16_t> parse_port(const std::string& value) {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

Expected<Options, UsageError> parse_options(const std::vector<std::string>& args) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (arg == "--json") {
      options.json_output = true;
    } else if (arg == "--socket") {
      auto v = value();
      if (!v || v->empty()) return unexpected(UsageError{"--socket needs a path"});
      options.socket = *v;
    } else if (arg == "--timeout") {
      auto v = value();
      unsigned seconds = 0;
      if (!v || std::from_chars(v->data(), v->data() + v->size(), seconds).ec != std::errc{} || seconds == 0 || seconds > 3600) {
        return unexpected(UsageError{"--timeout needs 1..3600 seconds"});
      }
      options.timeout = std::chrono::seconds(seconds);
    } else if (arg == "--monitor" || arg == "--cert" || arg == "--key" || arg == "--ca") {
      auto v = value();
      if (!v || v->empty()) return unexpected(UsageError{arg + " needs a value"});
      if (arg == "--monitor") options.monitor = *v;
      else if (arg == "--cert") options.tls.certificate = *v;
      else if (arg == "--key") options.tls.private_key = *v;
      else options.tls.ca = *v;
    } else if (arg == "--specific") {
      options.view = control::FilterView::Specific;
    } else if (arg == "--generic") {
      options.view = control::FilterView::Generic;
    } else if (arg == "--since") {
      auto v = value();
      if (!v) return unexpected(UsageError{"--since needs a time"});
      options.since = *v;
    } else if (arg.rfind("--", 0) == 0) {
      return unexpected(UsageError{"unknown option " + arg});
    } else {
      options.words.push_back(arg);
    }
  }
  const bool any_tls = !options.tls.certificate.empty() || !options.tls.private_key.empty() || !options.tls.ca.empty();
  if (options.monitor && (options.tls.certificate.empty() || options.tls.private_key.empty() || options.tls.ca.empty())) {
    return unexpected(UsageError{"--monitor needs --cert, --key and --ca (the helpdesk certificate and the agent's CA)"});
  }
  if (!options.monitor && any_tls) return unexpected(UsageError{"--cert, --key and --ca go with --monitor"});
  return options;
}

Expected<control::Request, UsageError> build_request(const Options& o, std::int64_t now) {
  const auto& w = o.words;
  const auto is = [&](std::initializer_list<const char*> words) {
    if (w.size() < words.size()) return false;
    std::size_t i = 0;
    for (const char* word : words) {
      if (w[i++] != word) return false;
    }
    return true;
  };
  const auto no_more = [&](std::size_t used, const char* command) -> std::optional<UsageError> {
    if (w.size() > used) return UsageError{std::string(command) + ": unexpected '" + w[used] + "'"};
    return std::nullopt;
  };
  if (o.view && !is({"show", "filters"})) return unexpected(UsageError{"--specific and --generic go with 'show filters'"});
  if (o.since && !is({"show", "events"})) return unexpected(UsageError{"--since goes with 'show events'"});
  if (w.empty()) return unexpected(UsageError{"no command given"});
  if (is({"show", "policy"})) {
    if (auto e = no_more(2, "show policy")) return unexpected(*e);
    return control::Request(control::ShowPolicyRequest{});
  }
  if (is({"show", "filters"})) {
    if (auto e = no_more(2, "show filters")) return unexpected(*e);
    return control::Request(control::ShowFiltersRequest{o.view.value_or(control::FilterView::Specific)});
  }
  if (is({"show", "sa"})) {
    if (auto e = no_more(2, "show sa")) return unexpected(*e);
    return control::Request(control::ShowSaRequest{});
  }
  if (is({"show", "events"})) {
    if (auto e = no_more(2, "show events")) return unexpected(*e);
    control::ShowEventsRequest request;
    if (o.since) {
      request.since_unix = parse_since(*o.since, now);
      if (!request.since_unix) {
        return unexpected(UsageError{"--since '" + *o.since + "' is neither Unix seconds nor an age like 90m, 12h, 7d"});
      }
    }
    return control::Request(request);
  }
  if (is({"refresh"})) {
    if (auto e = no_more(1, "refresh")) return unexpected(*e);
    return control::Request(control::RefreshRequest{});
  }
  if (is({"flush"})) {
    if (auto e = no_more(1, "flush")) return unexpected(*e);
    return control::Request(control::FlushRequest{});
  }
  if (is({"explain"})) {
    if (w.size() < 3 || w.size() > 6) return unexpected(UsageError{"explain needs SRC DST [PROTO [SPORT [DPORT]]]"});
    model::PacketTuple packet;
    const auto source = IpAddress::parse(w[1]);
    const auto destination = IpAddress::parse(w[2]);
    if (!source) return unexpected(UsageError{"explain: '" + w[1] + "' is not an IP address"});
    if (!destination) return unexpected(UsageError{"explain: '" + w[2] + "' is not an IP address"});
    if (source->family() != destination->family()) return unexpected(UsageError{"explain: source and destination are of different IP families"});
    packet.source = *source;
    packet.destination = *destination;
    if (w.size() > 3) {
      const auto protocol = control::parse_protocol(w[3]);
      if (!protocol) return unexpected(UsageError{"explain: protocol '" + w[3] + "' is not any, icmp, tcp, udp, icmpv6 or 0..255"});
      packet.protocol = *protocol;
    }
    if (w.size() > 4) {
      const auto port = parse_port(w[4]);
      if (!port) return unexpected(UsageError{"explain: source port '" + w[4] + "' is not 0..65535"});
      packet.source_port = *port;
    }
    if (w.size() > 5) {
      const auto port = parse_port(w[5]);
      if (!port) return unexpected(UsageError{"explain: destination port '" + w[5] + "' is not 0..65535"});
      packet.destination_port = *port;
    }
    return control::Request(control::ExplainRequest{packet});
  }
  std::string given;
  for (const auto& word : w) given += (given.empty() ? "" : " ") + word;
  return unexpected(UsageError{"unknown command '" + given + "'"});
}

std::string render(control::Command command, const json& result) {
  switch (command) {
    case control::Command::ShowPolicy: return render_policy(result);
    case control::Command::ShowFilters: return render_filters(result);
    case control::Command::Explain: return explain::render_explanation_text(result);
    case control::Command::ShowSa: return render_sas(result);
    case control::Command::ShowEvents: return render_events(result);
    case control::Command::Refresh:
    case control::Command::Flush: return text(result, "message") + "\n";
  }
  return result.dump(2) + "\n";
}

}  // namespace

std::string usage_text() {
  return "usage: wardctl [--socket PATH | --monitor HOST:PORT --cert F --key F --ca F] [--json] [--timeout SECONDS] COMMAND\n"
         "\n"
         "Commands:\n"
         "  show policy                          the applied policy and where it came from (keys redacted)\n"
         "  show filters [--specific|--generic]  the compiled filter table (default) or the policy's filters\n"
         "  explain SRC DST [PROTO [SPORT [DPORT]]]\n"
         "                                       which filter applies to a packet, and why the others lost\n"
         "  show sa                              active security associations\n"
         "  show events [--since T]              the event log; T is Unix seconds or an age (90m, 12h, 7d)\n"
         "  refresh                              fetch the policy from the directory now\n"
         "  flush                                delete all SAs (renegotiated on demand)\n"
         "\n"
         "Options:\n"
         "  --socket PATH    control socket (default " + std::string(kDefaultSocket) + ")\n"
         "  --monitor HOST:PORT  the agent's read-only TLS monitor endpoint ([monitor] in ward.conf);\n"
         "                   --cert/--key: your client certificate, --ca: the CA of the agent's certificate.\n"
         "                   refresh and flush are refused there\n"
         "  --json           print the agent's JSON result as it is\n"
         "  --timeout SECS   how long to wait for the agent (default 30)\n"
         "  --help           this text\n"
         "\n"
         "Exit codes:\n"
         "  0  success\n"
         "  1  the agent answered with an error\n"
         "  2  usage error\n"
         "  3  no agent: the socket is missing or refuses connections (is wardd running?)\n"
         "  4  permission denied: run as root or as a member of group ward\n"
         "  5  communication error: I/O failure, timeout, or an unreadable answer\n";
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::int64_t now_unix) {
  try {
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
      out << usage_text();
      return kExitOk;
    }
    auto options = parse_options(args);
    if (!options) {
      err << "wardctl: " << options.error().message << "\n\n" << usage_text();
      return kExitUsage;
    }
    auto request = build_request(*options, now_unix);
    if (!request) {
      err << "wardctl: " << request.error().message << "\n\n" << usage_text();
      return kExitUsage;
    }
    auto no_agent = [&](const ClientError& error) {
      err << "wardctl: " << error.message << "\n";
      switch (error.kind) {
        case ClientError::Kind::NoSocket:
        case ClientError::Kind::Connect: return kExitNoAgent;
        case ClientError::Kind::PermissionDenied: return kExitPermissionDenied;
        case ClientError::Kind::Io:
        case ClientError::Kind::Protocol: return kExitProtocol;
      }
      return kExitProtocol;
    };
    Expected<control::Response, ClientError> response = unexpected(ClientError{});
    if (options->monitor) {
      auto client = monitor::MonitorClient::connect(*options->monitor, options->tls, options->timeout);
      if (!client) return no_agent(client.error());
      response = client->call(*request);
    } else {
      auto client = control::ControlClient::connect(options->socket, options->timeout);
      if (!client) return no_agent(client.error());
      response = client->call(*request);
    }
    if (!response) {
      err << "wardctl: " << response.error().message << "\n";
      return kExitProtocol;
    }
    if (!response->ok) {
      err << "wardctl: " << response->error << "\n";
      return response->code == ErrorCode::PermissionDenied ? kExitPermissionDenied : kExitCommandFailed;
    }
    if (options->json_output) {
      out << response->result.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    try {
      out << render(control::command_of(*request), response->result);
    } catch (const json::exception& e) {
      err << "wardctl: cannot read the agent's answer (" << e.what() << "); try --json\n";
      return kExitProtocol;
    }
    return kExitOk;
  } catch (const std::exception& e) {
    err << "wardctl: " << e.what() << "\n";
    return kExitProtocol;
  }
}

}  // namespace ward::agent::wardctl
