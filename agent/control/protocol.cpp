#include "agent/control/protocol.h"

#include <charconv>
#include <limits>

#include "common/overloaded.h"
#include "directory/model/table_text.h"

namespace ward::agent::control {

namespace {

using nlohmann::json;

using Args = json;  // an object
using ArgsParser = Expected<Request, std::string> (*)(const Args& args);

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// For echoing client text in an error: printable ASCII only, at most 64 characters.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  std::string out;
  for (char c : text.substr(0, kMaxShown)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return text.size() > kMaxShown ? out + "..." : out;
}

// Deep nesting costs the parser memory and time; requests are flat, so refuse early.
bool nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if ((c == '}' || c == ']') && depth > 0) --depth;
  }
  return true;
}

// Checks that `args` has only `allowed` keys.
std::optional<std::string> only_keys(const Args& args, std::initializer_list<std::string_view> allowed) {
  for (const auto& item : args.items()) {
    bool known = false;
    for (auto key : allowed) known = known || item.key() == key;
    if (!known) return "unknown argument '" + item.key() + "'";
  }
  return std::nullopt;
}

Expected<Request, std::string> no_args(const Args& args, Request request) {
  if (auto e = only_keys(args, {})) return unexpected(*e);
  return request;
}

Expected<IpAddress, std::string> address_arg(const Args& args, const char* key) {
  const auto it = args.find(key);
  if (it == args.end()) return unexpected(std::string("missing argument '") + key + "'");
  if (!it->is_string()) return unexpected(std::string("argument '") + key + "' must be a string");
  const auto address = IpAddress::parse(it->get_ref<const std::string&>());
  if (!address) return unexpected(std::string("argument '") + key + "': '" + printable(it->get_ref<const std::string&>()) + "' is not an IP address");
  return *address;
}

Expected<std::uint16_t, std::string> port_arg(const Args& args, const char* key) {
  const auto it = args.find(key);
  if (it == args.end()) return std::uint16_t{0};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 65535) {
    return unexpected(std::string("argument '") + key + "' must be a port number 0..65535");
  }
  return static_cast<std::uint16_t>(it->get<std::int64_t>());
}

Expected<Request, std::string> parse_explain(const Args& args) {
  if (auto e = only_keys(args, {"source", "destination", "protocol", "source_port", "destination_port"})) return unexpected(*e);
  auto source = address_arg(args, "source");
  if (!source) return unexpected(source.error());
  auto destination = address_arg(args, "destination");
  if (!destination) return unexpected(destination.error());
  if (source->family() != destination->family()) return unexpected(std::string("source and destination are of different IP families"));
  std::uint8_t protocol = model::ip_protocol::kAny;
  if (const auto it = args.find("protocol"); it != args.end()) {
    std::optional<std::uint8_t> parsed;
    if (it->is_string()) parsed = parse_protocol(it->get_ref<const std::string&>());
    else if (it->is_number_integer() && it->get<std::int64_t>() >= 0 && it->get<std::int64_t>() <= 255) {
      parsed = static_cast<std::uint8_t>(it->get<std::int64_t>());
    }
    if (!parsed) return unexpected(std::string("argument 'protocol' must be any, icmp, tcp, udp, icmpv6 or 0..255"));
    protocol = *parsed;
  }
  auto source_port = port_arg(args, "source_port");
  if (!source_port) return unexpected(source_port.error());
  auto destination_port = port_arg(args, "destination_port");
  if (!destination_port) return unexpected(destination_port.error());
  return Request(ExplainRequest{model::PacketTuple{*source, *destination, protocol, *source_port, *destination_port}});
}

Expected<Request, std::string> parse_show_filters(const Args& args) {
  if (auto e = only_keys(args, {"view"})) return unexpected(*e);
  ShowFiltersRequest request;
  if (const auto it = args.find("view"); it != args.end()) {
    if (*it == "specific") request.view = FilterView::Specific;
    else if (*it == "generic") request.view = FilterView::Generic;
    else return unexpected(std::string("argument 'view' must be \"specific\" or \"generic\""));
  }
  return Request(request);
}

Expected<Request, std::string> parse_show_events(const Args& args) {
  if (auto e = only_keys(args, {"since"})) return unexpected(*e);
  ShowEventsRequest request;
  if (const auto it = args.find("since"); it != args.end()) {
    if (!it->is_number_integer()) return unexpected(std::string("argument 'since' must be Unix seconds (an integer)"));
    request.since_unix = it->get<std::int64_t>();
  }
  return Request(request);
}

struct CommandSpec {
  Command command;
  ArgsParser parse;
};

// The registry: every command, the parser of its arguments. Dispatch to the handler is by the
// Request's type (std::visit in server.cpp), never by name.
constexpr std::array<CommandSpec, 7> kRegistry{{
    {Command::ShowPolicy, [](const Args& a) { return no_args(a, ShowPolicyRequest{}); }},
    {Command::ShowFilters, parse_show_filters},
    {Command::Explain, parse_explain},
    {Command::ShowSa, [](const Args& a) { return no_args(a, ShowSaRequest{}); }},
    {Command::ShowEvents, parse_show_events},
    {Command::Refresh, [](const Args& a) { return no_args(a, RefreshRequest{}); }},
    {Command::Flush, [](const Args& a) { return no_args(a, FlushRequest{}); }},
}};
static_assert(kRegistry.size() == kCommandNames.size());

std::string command_list() {
  std::string out;
  for (const auto& [command, name] : kCommandNames) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

}  // namespace

std::string_view name_of(Command command) noexcept {
  for (const auto& [value, name] : kCommandNames) {
    if (value == command) return name;
  }
  return "?";
}

bool is_read_only(Command command) noexcept {
  switch (command) {
    case Command::ShowPolicy:
    case Command::ShowFilters:
    case Command::Explain:
    case Command::ShowSa:
    case Command::ShowEvents: return true;
    case Command::Refresh:
    case Command::Flush: return false;
  }
  return false;
}

std::string_view name_of(ErrorCode code) noexcept {
  for (const auto& [value, name] : kErrorCodeNames) {
    if (value == code) return name;
  }
  return "?";
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept {
  for (const auto& [value, candidate] : kErrorCodeNames) {
    if (candidate == name) return value;
  }
  return std::nullopt;
}

Command command_of(const Request& request) noexcept {
  return std::visit(Overloaded{
                        [](const ShowPolicyRequest&) { return Command::ShowPolicy; },
                        [](const ShowFiltersRequest&) { return Command::ShowFilters; },
                        [](const ExplainRequest&) { return Command::Explain; },
                        [](const ShowSaRequest&) { return Command::ShowSa; },
                        [](const ShowEventsRequest&) { return Command::ShowEvents; },
                        [](const RefreshRequest&) { return Command::Refresh; },
                        [](const FlushRequest&) { return Command::Flush; },
                    },
                    request);
}

std::optional<std::uint8_t> parse_protocol(std::string_view text) noexcept {
  for (std::uint8_t p : {model::ip_protocol::kAny, model::ip_protocol::kIcmp, model::ip_protocol::kTcp,
                         model::ip_protocol::kUdp, model::ip_protocol::kIcmpV6}) {
    try {
      if (model::protocol_text(p) == text) return p;
    } catch (...) {
      return std::nullopt;  // allocation failure only
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || value > 255) return std::nullopt;
  return static_cast<std::uint8_t>(value);
}

Expected<Request, std::string> parse_request(std::string_view line) noexcept {
  try {
    if (line.size() > kMaxRequestBytes) {
      return unexpected("request is " + std::to_string(line.size()) + " bytes; the limit is " + std::to_string(kMaxRequestBytes));
    }
    if (!nesting_within(line, kMaxJsonDepth)) {
      return unexpected("request nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    const json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) return unexpected(std::string("request is not valid JSON"));
    if (!request.is_object()) return unexpected(std::string("request must be a JSON object"));
    for (const auto& item : request.items()) {
      if (item.key() != "command" && item.key() != "args") return unexpected("unknown request key '" + item.key() + "'");
    }
    const auto command = request.find("command");
    if (command == request.end() || !command->is_string()) {
      return unexpected(std::string("request needs \"command\" (a string)"));
    }
    static const json kNoArgs = json::object();
    const json* args = &kNoArgs;
    if (const auto it = request.find("args"); it != request.end()) {
      if (!it->is_object()) return unexpected(std::string("\"args\" must be a JSON object"));
      args = &*it;
    }
    const auto& name = command->get_ref<const std::string&>();
    for (const auto& [value, candidate] : kCommandNames) {
      if (candidate != name) continue;
      for (const auto& spec : kRegistry) {
        if (spec.command != value) continue;
        auto parsed = spec.parse(*args);
        if (!parsed) return unexpected(std::string(candidate) + ": " + parsed.error());
        return parsed;
      }
    }
    return unexpected("unknown command '" + printable(name) + "'; known: " + command_list());
  } catch (const std::exception& e) {
    return unexpected(std::string("cannot parse request: ") + e.what());
  }
}

std::string encode_request(const Request& request) {
  json args = json::object();
  std::visit(Overloaded{
                 [](const ShowPolicyRequest&) {},
                 [&](const ShowFiltersRequest& r) { args["view"] = r.view == FilterView::Generic ? "generic" : "specific"; },
                 [&](const ExplainRequest& r) {
                   args["source"] = r.packet.source.to_string();
                   args["destination"] = r.packet.destination.to_string();
                   args["protocol"] = r.packet.protocol;
                   args["source_port"] = r.packet.source_port;
                   args["destination_port"] = r.packet.destination_port;
                 },
                 [](const ShowSaRequest&) {},
                 [&](const ShowEventsRequest& r) {
                   if (r.since_unix) args["since"] = *r.since_unix;
                 },
                 [](const RefreshRequest&) {},
                 [](const FlushRequest&) {},
             },
             request);
  return dump(json{{"command", name_of(command_of(request))}, {"args", args}}) + "\n";
}

std::string encode_ok(const nlohmann::json& result) { return dump(json{{"ok", true}, {"result", result}}) + "\n"; }

std::string encode_error(ErrorCode code, std::string_view message) {
  return dump(json{{"ok", false}, {"error", message}, {"code", name_of(code)}}) + "\n";
}

Expected<Response, std::string> parse_response(std::string_view line) noexcept {
  try {
    const json response = json::parse(line, nullptr, false);
    if (response.is_discarded() || !response.is_object()) return unexpected(std::string("response is not a JSON object"));
    const auto ok = response.find("ok");
    if (ok == response.end() || !ok->is_boolean()) return unexpected(std::string("response has no boolean \"ok\""));
    Response out;
    out.ok = ok->get<bool>();
    if (out.ok) {
      const auto result = response.find("result");
      out.result = result == response.end() ? json(nullptr) : *result;
      return out;
    }
    const auto error = response.find("error");
    out.error = error != response.end() && error->is_string() ? error->get<std::string>() : "unspecified error";
    const auto code = response.find("code");
    if (code != response.end() && code->is_string()) out.code = error_code_from_name(code->get<std::string>()).value_or(ErrorCode::Failed);
    return out;
  } catch (const std::exception& e) {
    return unexpected(std::string("cannot parse response: ") + e.what());
  }
}

}  // namespace ward::agent::control
