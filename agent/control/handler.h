// ControlHandler: what the control socket asks of the daemon. wardd implements it; tests use a fake.
//
// The server serializes refresh and flush, but calls the read-only methods (show_*, explain)
// concurrently with each other and with a refresh or flush: an implementation reads immutable
// snapshots or locks what it reads. Results are the JSON documented in protocol.h; a failure is a
// message for the helpdesk (never a secret).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "agent/control/protocol.h"
#include "common/expected.h"
#include "directory/model/compile.h"

namespace ward::agent::control {

using HandlerResult = Expected<nlohmann::json, std::string>;

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  // Must redact secrets: ward::model::policy_to_json(policy, SecretHandling::Redact).
  virtual HandlerResult show_policy() = 0;
  virtual HandlerResult show_filters(FilterView view) = 0;
  virtual HandlerResult explain(const model::PacketTuple& packet) = 0;
  virtual HandlerResult show_sa() = 0;
  virtual HandlerResult show_events(std::optional<std::int64_t> since_unix) = 0;
  virtual HandlerResult refresh() = 0;
  virtual HandlerResult flush() = 0;
};

// Calls the handler method the request's type names.
HandlerResult dispatch(ControlHandler& handler, const Request& request);

}  // namespace ward::agent::control
