// ward-demo: Ward's main job until the agent exists. Loads a policy (by default the Legal
// department example from the Windows Server 2003 IPsec white paper), validates it, compiles it for
// a host and prints the filter table with each filter's weight, then shows which rule wins for a
// few packets.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "directory/model/compile.h"
#include "directory/model/names.h"
#include "directory/model/policy_json.h"
#include "directory/model/table_text.h"
#include "directory/model/validation.h"

namespace {

using namespace ward::model;

#ifndef WARD_SOURCE_DIR
#define WARD_SOURCE_DIR "."
#endif

struct Options {
  std::string policy_path = WARD_SOURCE_DIR "/schemas/examples/legal-policy.json";
  std::vector<IpAddress> host_addresses;
  std::vector<PacketTuple> packets;
};

void usage() {
  std::cerr << "usage: ward-demo [--policy FILE] [--host ADDRESS]... [--packet SRC DST [PROTO SPORT DPORT]]...\n";
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--policy") {
      const char* value = next();
      if (!value) return false;
      options.policy_path = value;
    } else if (arg == "--host") {
      const char* value = next();
      const auto address = value ? IpAddress::parse(value) : std::nullopt;
      if (!address) {
        std::cerr << "ward-demo: --host needs an IP address\n";
        return false;
      }
      options.host_addresses.push_back(*address);
    } else if (arg == "--packet") {
      const char* source = next();
      const char* destination = next();
      const auto s = source ? IpAddress::parse(source) : std::nullopt;
      const auto d = destination ? IpAddress::parse(destination) : std::nullopt;
      if (!s || !d) {
        std::cerr << "ward-demo: --packet needs two IP addresses\n";
        return false;
      }
      PacketTuple packet{*s, *d, ip_protocol::kAny, 0, 0};
      if (i + 3 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
        packet.protocol = static_cast<std::uint8_t>(std::stoul(argv[++i]));
        packet.source_port = static_cast<std::uint16_t>(std::stoul(argv[++i]));
        packet.destination_port = static_cast<std::uint16_t>(std::stoul(argv[++i]));
      }
      options.packets.push_back(packet);
    } else {
      return false;
    }
  }
  return true;
}

std::string packet_text(const PacketTuple& p) {
  std::string text = p.source.to_string() + " -> " + p.destination.to_string() + " " + protocol_text(p.protocol);
  if (p.protocol == ip_protocol::kTcp || p.protocol == ip_protocol::kUdp) {
    text += ' ';  // not " " + std::to_string(...): GCC 12 at -O3 warns falsely (-Wrestrict) on it
    text += std::to_string(p.source_port) + " -> " + std::to_string(p.destination_port);
  }
  return text;
}

std::string action_text(const Policy& policy, const Rule& rule) {
  const FilterAction* action = policy.find_filter_action(rule.filter_action);
  std::string text = std::string(name_of(action->kind)) + " (\"" + action->name + "\"";
  if (action->kind == ActionKind::Negotiate && !action->security_methods.empty()) {
    const auto& first = action->security_methods.front();
    text += ", first offer:";
    if (first.ah) text += " AH " + std::string(name_of(first.ah->integrity));
    if (first.esp) text += " ESP " + std::string(name_of(first.esp->cipher)) + "/" + std::string(name_of(first.esp->integrity));
  }
  return text + ")";
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) {
    usage();
    return 2;
  }
  std::ifstream in(options.policy_path);
  if (!in) {
    std::cerr << "ward-demo: cannot read " << options.policy_path << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();

  auto policy = policy_from_json(text.str());
  if (!policy) {
    for (const auto& problem : policy.error()) std::cerr << options.policy_path << ": " << problem.to_string() << "\n";
    return 1;
  }
  const auto problems = validate(*policy);
  for (const auto& problem : problems) std::cerr << options.policy_path << ": " << problem.to_string() << "\n";
  if (has_errors(problems)) return 1;

  // The embedded default: a computer in OU=Legal on the Legal subnet, talking to a Legal peer and to
  // a computer in Sales.
  if (options.host_addresses.empty()) options.host_addresses = {*IpAddress::parse("10.20.1.10")};
  if (options.packets.empty()) {
    const auto me = options.host_addresses.front();
    const auto legal_peer = *IpAddress::parse("10.20.1.20");
    const auto sales_peer = *IpAddress::parse("10.20.2.30");
    options.packets = {{me, legal_peer, ip_protocol::kTcp, 49152, 445},
                       {legal_peer, me, ip_protocol::kTcp, 445, 49152},
                       {me, sales_peer, ip_protocol::kIcmp, 0, 0},
                       {sales_peer, me, ip_protocol::kTcp, 51000, 80}};
  }

  HostContext host;
  host.addresses = options.host_addresses;
  const auto table = compile(*policy, host);

  std::cout << "Policy \"" << policy->name << "\" " << policy->id.to_string() << "\n";
  std::cout << "  " << policy->rules.size() << " rules, " << policy->filter_lists.size() << " filter lists, "
            << policy->filter_actions.size() << " filter actions; polling every " << policy->polling_interval_minutes
            << " minutes\n";
  std::cout << "Compiled for host";
  for (const auto& address : options.host_addresses) std::cout << " " << address.to_string();
  std::cout << ": " << table.filters.size() << " filters, most specific first\n\n";
  std::cout << format_compiled_table(*policy, table);
  std::cout << "weight = 256 x address specificity (prefix bits, IPv4 x4) + 128 if a protocol is named + port "
               "specificity\n\n";

  std::cout << "Which rule applies:\n";
  for (const auto& packet : options.packets) {
    const auto index = first_match(table, packet);
    std::cout << "  " << packet_text(packet) << "\n";
    if (!index) {
      std::cout << "    no filter matches: the packet passes without IPsec\n";
      continue;
    }
    const auto& filter = table.filters[*index];
    const Rule& rule = policy->rules[filter.rule_index];
    std::cout << "    filter #" << (*index + 1) << " (weight " << filter.weight << ") of rule \"" << rule.name << "\": "
              << action_text(*policy, rule) << "\n";
  }
  return 0;
}
