// Fuzz target: the control socket's request parser (and the response encoder on what it accepts).
#include <string_view>

#include "agent/control/protocol.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto request = ward::agent::control::parse_request(line);
  if (request) {
    // What parses must encode and parse back to the same command.
    const auto encoded = ward::agent::control::encode_request(*request);
    auto again = ward::agent::control::parse_request(std::string_view(encoded).substr(0, encoded.size() - 1));
    if (!again || again->index() != request->index()) __builtin_trap();
  } else {
    (void)ward::agent::control::encode_error(ward::agent::control::ErrorCode::BadRequest, request.error());
  }
  return 0;
}
