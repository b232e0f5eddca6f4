// The control socket's protocol: newline-delimited JSON over a Unix stream socket.
//
//   request:  {"command": "explain", "args": {"source": "10.20.1.5", "destination": "10.20.1.7"}}\n
//   response: {"ok": true, "result": ...}\n   or   {"ok": false, "error": "why", "code": "bad-request"}\n
//
// Commands and their arguments (every argument optional unless marked):
//   show-policy                     -> {"policy": <ward-policy/1, preshared keys redacted>, "source": {...}, "state": "..."}
//   show-filters  view: "specific" | "generic"   -> {"view": "...", "filters": [...]}
//   explain       source*, destination*: IP; protocol: name or 0..255; source_port, destination_port: 0..65535
//                                   -> agent/explain's JSON (packet, winner, runners_up)
//   show-sa                         -> {"sas": [{"peer", "direction", "spi", "protocol", "mode", "cipher",
//                                       "integrity", "rule", "bytes", "packets", "age_seconds", "expires_in_seconds"}]}
//   show-events   since: Unix seconds -> {"events": [{"time", "kind", "peer", "auth_method", "reason"}]}
//   refresh                         -> {"message": "..."}   (fetch the policy from the directory now)
//   flush                           -> {"message": "..."}   (delete every SA; they are renegotiated on demand)
//
// Parsing is total: any byte string gives a typed Request or an error message, never an exception.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/expected.h"
#include "directory/model/compile.h"

namespace ward::agent::control {

inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;  // one request line, newline excluded
inline constexpr std::size_t kMaxJsonDepth = 16;            // requests are flat; refuse deep nesting early

enum class Command : std::uint8_t { ShowPolicy, ShowFilters, Explain, ShowSa, ShowEvents, Refresh, Flush };
inline constexpr std::array<std::pair<Command, std::string_view>, 7> kCommandNames{{
    {Command::ShowPolicy, "show-policy"},
    {Command::ShowFilters, "show-filters"},
    {Command::Explain, "explain"},
    {Command::ShowSa, "show-sa"},
    {Command::ShowEvents, "show-events"},
    {Command::Refresh, "refresh"},
    {Command::Flush, "flush"},
}};
static_assert(kCommandNames.size() == static_cast<std::size_t>(Command::Flush) + 1);
std::string_view name_of(Command command) noexcept;
// show-* and explain only read what the daemon enforces: they run concurrently with each other and
// with a refresh or flush, so a refresh that waits on a directory never holds them up.
bool is_read_only(Command command) noexcept;

enum class FilterView : std::uint8_t { Specific, Generic };

struct ShowPolicyRequest {};
struct ShowFiltersRequest { FilterView view = FilterView::Specific; };
struct ExplainRequest { model::PacketTuple packet; };
struct ShowSaRequest {};
struct ShowEventsRequest { std::optional<std::int64_t> since_unix; };
struct RefreshRequest {};
struct FlushRequest {};

using Request = std::variant<ShowPolicyRequest, ShowFiltersRequest, ExplainRequest, ShowSaRequest, ShowEventsRequest,
                             RefreshRequest, FlushRequest>;
Command command_of(const Request& request) noexcept;

// Why a request failed; sent as the response's "code" so clients need not read the text.
enum class ErrorCode : std::uint8_t { BadRequest, TooLarge, PermissionDenied, Busy, Failed, Internal };
inline constexpr std::array<std::pair<ErrorCode, std::string_view>, 6> kErrorCodeNames{{
    {ErrorCode::BadRequest, "bad-request"},
    {ErrorCode::TooLarge, "too-large"},
    {ErrorCode::PermissionDenied, "permission-denied"},
    {ErrorCode::Busy, "busy"},
    {ErrorCode::Failed, "failed"},
    {ErrorCode::Internal, "internal"},
}};
static_assert(kErrorCodeNames.size() == static_cast<std::size_t>(ErrorCode::Internal) + 1);
std::string_view name_of(ErrorCode code) noexcept;
std::optional<ErrorCode> error_code_from_name(std::string_view name) noexcept;

// One request line (without its newline).
Expected<Request, std::string> parse_request(std::string_view line) noexcept;
std::string encode_request(const Request& request);  // one line, newline included

struct Response {
  bool ok = false;
  nlohmann::json result;  // ok only
  ErrorCode code = ErrorCode::Failed;  // !ok only
  std::string error;      // !ok only
};

std::string encode_ok(const nlohmann::json& result);                   // one line, newline included
std::string encode_error(ErrorCode code, std::string_view message);    // one line, newline included
Expected<Response, std::string> parse_response(std::string_view line) noexcept;

// Protocol names shared with wardctl: "any", "icmp", "tcp", "udp", "icmpv6" or a number 0..255.
std::optional<std::uint8_t> parse_protocol(std::string_view text) noexcept;

}  // namespace ward::agent::control
