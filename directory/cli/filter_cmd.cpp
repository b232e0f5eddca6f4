// ward-dir filter add | delete: edit one filter list's filters through the model.
#include <charconv>

#include "directory/cli/filter_spec.h"

namespace ward::dircli {
namespace {

Expected<model::AddressSpec, std::string> parse_address(const std::string& option, const std::string& text) {
  if (text == "me") return model::AddressSpec::my_address();
  if (text == "any") return model::AddressSpec::any();
  if (text.rfind("dns:", 0) == 0) return model::AddressSpec::dns(text.substr(4));
  if (text.find('/') != std::string::npos) {
    if (const auto prefix = IpPrefix::parse(text)) return model::AddressSpec::subnet(*prefix);
  } else if (const auto address = IpAddress::parse(text)) {
    return model::AddressSpec::host(*address);
  }
  return unexpected("--" + option + " '" + text + "': want me, any, an address, a prefix or dns:<name>");
}

Expected<std::uint32_t, std::string> parse_number(const std::string& option, const std::string& text,
                                                  std::uint32_t max) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    return unexpected("--" + option + " '" + text + "': want a number up to " + std::to_string(max));
  }
  return value;
}

constexpr std::uint32_t kMaxPort = 65535;
constexpr std::uint32_t kMaxProtocol = 255;

Expected<PortRange, std::string> parse_ports(const std::string& option, const std::string& text) {
  const auto dash = text.find('-');
  auto first = parse_number(option, text.substr(0, dash), kMaxPort);
  if (!first) return unexpected(first.error());
  auto last = dash == std::string::npos ? first : parse_number(option, text.substr(dash + 1), kMaxPort);
  if (!last) return unexpected(last.error());
  return PortRange{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)};
}

}  // namespace

Expected<model::Filter, std::string> parse_filter(const Args& args) {
  if (!args.value("src") || !args.value("dst")) return unexpected(std::string("a filter needs --src and --dst"));
  model::Filter filter;
  filter.id = model::Guid::random();
  filter.description = args.value("description").value_or("");
  auto source = parse_address("src", *args.value("src"));
  if (!source) return unexpected(source.error());
  auto destination = parse_address("dst", *args.value("dst"));
  if (!destination) return unexpected(destination.error());
  filter.source = *source;
  filter.destination = *destination;
  if (const auto protocol = args.value("protocol")) {
    if (*protocol == "tcp") {
      filter.protocol = model::ip_protocol::kTcp;
    } else if (*protocol == "udp") {
      filter.protocol = model::ip_protocol::kUdp;
    } else if (*protocol == "icmp") {
      filter.protocol = model::ip_protocol::kIcmp;
    } else {
      auto number = parse_number("protocol", *protocol, kMaxProtocol);
      if (!number) return unexpected(number.error());
      filter.protocol = static_cast<std::uint8_t>(*number);
    }
  }
  if (const auto ports = args.value("srcport")) {
    auto range = parse_ports("srcport", *ports);
    if (!range) return unexpected(range.error());
    filter.source_ports = *range;
  }
  if (const auto ports = args.value("dstport")) {
    auto range = parse_ports("dstport", *ports);
    if (!range) return unexpected(range.error());
    filter.destination_ports = *range;
  }
  filter.mirrored = !args.flag("no-mirror");
  return filter;
}

int run_filter(Context& context, const std::vector<std::string>& words) {
  const Args args(words, {"src", "dst", "protocol", "srcport", "dstport", "description"});
  if (const auto bad = args.unknown(kFilterOptions); !bad.empty()) return usage(bad);
  const auto& pos = args.positional();
  if (pos.size() < 3) return usage("filter add <policy> <filterlist> ... | filter delete <policy> <filterlist> <index>");
  const std::string& verb = pos[0];
  if (verb == "add") {
    auto filter = parse_filter(args);
    if (!filter) return usage(filter.error());
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      auto* list = find_filter_list(policy, pos[2]);
      if (list == nullptr) return "policy '" + policy.name + "': no filter list '" + pos[2] + "'";
      list->filters.push_back(*filter);
      return {};
    });
  }
  if (verb == "delete") {
    if (pos.size() != 4) return usage("filter delete <policy> <filterlist> <index>");
    auto index = parse_number("index", pos[3], kMaxPort);
    if (!index) return usage(index.error());
    return edit_policy(context, pos[1], [&](model::Policy& policy) -> std::string {
      auto* list = find_filter_list(policy, pos[2]);
      if (list == nullptr) return "policy '" + policy.name + "': no filter list '" + pos[2] + "'";
      if (*index >= list->filters.size()) {
        return "filter list '" + list->name + "': filters[" + pos[3] + "] does not exist (" +
               std::to_string(list->filters.size()) + " filters)";
      }
      list->filters.erase(list->filters.begin() + *index);
      return {};
    });
  }
  return usage("unknown filter subcommand '" + verb + "'");
}

}  // namespace ward::dircli
