// Talking to a Ward agent the way the Security Monitor, its fleet view and its two-host view do:
// through the agent's local control socket (agent/control) or its TLS monitor endpoint
// (agent/monitor), one connection per poll. Every function blocks: call it off the UI thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <QString>
#include <nlohmann/json.hpp>

#include "agent/control/protocol.h"
#include "agent/monitor/tls.h"
#include "common/expected.h"
#include "directory/model/compile.h"

namespace ward::gui {

inline constexpr std::chrono::milliseconds kAgentTimeout{2000};

// Where the agent is: a local socket path, or a remote monitor endpoint with its TLS files.
struct AgentTarget {
  QString address;  // socket path, or "host:port"
  std::optional<agent::monitor::TlsFiles> tls;  // set: the TLS monitor endpoint
};

// What `ward-editor --monitor ADDRESS [--cert F --key F --ca F]` names: a socket path (/...,
// no TLS files) or a TLS monitor endpoint host:port (all three files). The error says which is missing.
Expected<AgentTarget, QString> agent_target_from(const QString& address, const QString& certificate,
                                                 const QString& private_key, const QString& ca);

class AgentLink;

// Opens a connection; the error names the socket or endpoint and why.
Expected<std::unique_ptr<AgentLink>, QString> open_agent(const AgentTarget& target);
// One request; the error names the command ("show-sa refused (failed): ...").
Expected<nlohmann::json, QString> call_agent(AgentLink& link, const agent::control::Request& request);

// What one poll read. On failure `error` says what and where, and the rest is empty.
struct AgentSnapshot {
  QString error;
  nlohmann::json sa;                                   // show-sa's whole answer
  nlohmann::json policy;                               // show-policy's answer
  nlohmann::json filters = nlohmann::json::array();    // show-filters' "filters" (when asked)
  nlohmann::json events = nlohmann::json::array();     // show-events' "events" (when asked)
};
struct SnapshotRequest {
  bool filters = false;
  std::optional<std::int64_t> events_since;  // Unix seconds; nullopt: no events
};
// show-sa, show-policy and, as asked, show-filters and show-events over one connection.
AgentSnapshot read_agent(const AgentTarget& target, const SnapshotRequest& request);

// The agent's explanation of a 5-tuple as wardctl prints it (agent/explain), or why not.
QString explain_on_agent(const AgentTarget& target, const model::PacketTuple& packet);

}  // namespace ward::gui
