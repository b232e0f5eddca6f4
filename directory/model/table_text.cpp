#include "directory/model/table_text.h"

#include <algorithm>
#include <array>
#include <vector>

#include "directory/model/filter_weight.h"
#include "directory/model/names.h"

namespace ward::model {

std::string protocol_text(std::uint8_t protocol) {
  switch (protocol) {
    case ip_protocol::kAny: return "any";
    case ip_protocol::kIcmp: return "icmp";
    case ip_protocol::kTcp: return "tcp";
    case ip_protocol::kUdp: return "udp";
    case ip_protocol::kIcmpV6: return "icmpv6";
    default: return std::to_string(protocol);
  }
}

namespace {

constexpr std::size_t kColumns = 10;
using Row = std::array<std::string, kColumns>;

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace

std::string format_compiled_table(const Policy& policy, const CompiledTable& table) {
  std::vector<Row> rows;
  rows.push_back({"#", "weight", "source", "destination", "proto", "sport", "dport", "action", "dir", "rule"});
  for (std::size_t i = 0; i < table.filters.size(); ++i) {
    const auto& f = table.filters[i];
    rows.push_back({std::to_string(i + 1), std::to_string(f.weight), f.source.to_string(), f.destination.to_string(),
                    protocol_text(f.protocol), f.source_ports.to_string(), f.destination_ports.to_string(),
                    std::string(name_of(f.action)), f.mirror ? "mirror" : "",
                    policy.rules[f.rule_index].name + (f.tunnel_endpoint ? " (tunnel to " + f.tunnel_endpoint->to_string() + ")" : "")});
  }
  std::array<std::size_t, kColumns> widths{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < kColumns; ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < kColumns; ++c) line += (c + 1 < kColumns ? pad(row[c], widths[c] + 2) : row[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const auto& problem : table.notes) out += problem.to_string() + "\n";
  return out;
}

}  // namespace ward::model
