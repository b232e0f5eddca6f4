#include "agent/control/protocol.h"

#include <gtest/gtest.h>

namespace ward::agent::control {
namespace {

std::string error_of(std::string_view line) {
  auto parsed = parse_request(line);
  EXPECT_FALSE(parsed.has_value()) << line;
  return parsed ? std::string() : parsed.error();
}

TEST(ControlProtocol, ParsesEveryCommand) {
  for (const auto& [command, name] : kCommandNames) {
    if (command == Command::Explain) continue;
    auto parsed = parse_request("{\"command\": \"" + std::string(name) + "\"}");
    ASSERT_TRUE(parsed.has_value()) << name << ": " << parsed.error();
    EXPECT_EQ(command_of(*parsed), command);
  }
}

TEST(ControlProtocol, ExplainArguments) {
  auto parsed = parse_request(
      R"({"command": "explain", "args": {"source": "10.20.1.5", "destination": "10.20.1.7", "protocol": "tcp", "source_port": 40000, "destination_port": 445}})");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  const auto& packet = std::get<ExplainRequest>(*parsed).packet;
  EXPECT_EQ(packet.source.to_string(), "10.20.1.5");
  EXPECT_EQ(packet.protocol, 6);
  EXPECT_EQ(packet.destination_port, 445);
  auto numeric = parse_request(R"({"command": "explain", "args": {"source": "::1", "destination": "::2", "protocol": 50}})");
  ASSERT_TRUE(numeric.has_value()) << numeric.error();
  EXPECT_EQ(std::get<ExplainRequest>(*numeric).packet.protocol, 50);
}

TEST(ControlProtocol, RoundTrip) {
  const Request requests[] = {ShowPolicyRequest{}, ShowFiltersRequest{FilterView::Generic},
                              ExplainRequest{{*IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.0.0.2"), 17, 53, 5353}},
                              ShowSaRequest{}, ShowEventsRequest{1800000000}, RefreshRequest{}, FlushRequest{}};
  for (const auto& request : requests) {
    const auto line = encode_request(request);
    ASSERT_EQ(line.back(), '\n');
    auto parsed = parse_request(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(parsed.has_value()) << line << parsed.error();
    EXPECT_EQ(command_of(*parsed), command_of(request));
  }
}

TEST(ControlProtocol, MalformedRequestsGetClearErrors) {
  EXPECT_EQ(error_of("{"), "request is not valid JSON");
  EXPECT_EQ(error_of("[1]"), "request must be a JSON object");
  EXPECT_EQ(error_of("{}"), "request needs \"command\" (a string)");
  EXPECT_EQ(error_of(R"({"command": 7})"), "request needs \"command\" (a string)");
  EXPECT_EQ(error_of(R"({"command": "reboot"})"),
            "unknown command 'reboot'; known: show-policy, show-filters, explain, show-sa, show-events, refresh, flush");
  EXPECT_EQ(error_of(R"({"command": "show-sa", "args": []})"), "\"args\" must be a JSON object");
  EXPECT_EQ(error_of(R"({"command": "show-sa", "verbose": true})"), "unknown request key 'verbose'");
  EXPECT_EQ(error_of(R"({"command": "show-sa", "args": {"all": 1}})"), "show-sa: unknown argument 'all'");
  EXPECT_EQ(error_of(R"({"command": "explain", "args": {"source": "10.0.0.1"}})"), "explain: missing argument 'destination'");
  EXPECT_EQ(error_of(R"({"command": "explain", "args": {"source": "10.0.0.300", "destination": "10.0.0.1"}})"),
            "explain: argument 'source': '10.0.0.300' is not an IP address");
  EXPECT_EQ(error_of(R"({"command": "explain", "args": {"source": "::1", "destination": "10.0.0.1"}})"),
            "explain: source and destination are of different IP families");
  EXPECT_EQ(error_of(R"({"command": "explain", "args": {"source": "10.0.0.1", "destination": "10.0.0.2", "destination_port": 70000}})"),
            "explain: argument 'destination_port' must be a port number 0..65535");
  EXPECT_EQ(error_of(R"({"command": "explain", "args": {"source": "10.0.0.1", "destination": "10.0.0.2", "protocol": "sctp"}})"),
            "explain: argument 'protocol' must be any, icmp, tcp, udp, icmpv6 or 0..255");
  EXPECT_EQ(error_of(R"({"command": "show-filters", "args": {"view": "both"}})"),
            "show-filters: argument 'view' must be \"specific\" or \"generic\"");
  EXPECT_EQ(error_of(R"({"command": "show-events", "args": {"since": "yesterday"}})"),
            "show-events: argument 'since' must be Unix seconds (an integer)");
  EXPECT_EQ(error_of(std::string(100, '[') + std::string(100, ']')), "request nests deeper than 16 levels");
  EXPECT_EQ(error_of(std::string(kMaxRequestBytes + 1, ' ')), "request is 65537 bytes; the limit is 65536");
  EXPECT_EQ(error_of("{\"command\": \"\x01\xff\"}"), "request is not valid JSON");  // invalid UTF-8
  EXPECT_EQ(error_of("{\"command\": \"a\\u0001b\"}"),
            "unknown command 'a?b'; known: show-policy, show-filters, explain, show-sa, show-events, refresh, flush");
}

TEST(ControlProtocol, Responses) {
  auto ok = parse_response(encode_ok({{"message", "done"}}));
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->result["message"], "done");
  auto error = parse_response(encode_error(ErrorCode::PermissionDenied, "no"));
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(error->ok);
  EXPECT_EQ(error->code, ErrorCode::PermissionDenied);
  EXPECT_EQ(error->error, "no");
  EXPECT_FALSE(parse_response("hello").has_value());
  EXPECT_FALSE(parse_response("{\"ok\": 1}").has_value());
  // Invalid UTF-8 in a message is replaced, never thrown.
  EXPECT_NO_THROW((void)encode_error(ErrorCode::Failed, "bad \xff byte"));
}

}  // namespace
}  // namespace ward::agent::control
