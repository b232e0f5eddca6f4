#include "gui/agent_link.h"

#include <memory>

#include <QStringList>
#include <variant>

#include "agent/control/client.h"
#include "agent/explain/explain.h"
#include "agent/monitor/monitor_client.h"
#include "gui/fleet_list.h"

namespace ward::gui {

namespace control = agent::control;

// One open connection to an agent: its local control socket or its TLS monitor endpoint.
class AgentLink {
 public:
  explicit AgentLink(control::ControlClient client) : client_(std::move(client)) {}
  explicit AgentLink(agent::monitor::MonitorClient client) : client_(std::move(client)) {}
  Expected<control::Response, control::ClientError> call(const control::Request& request) {
    return std::visit([&](auto& client) { return client.call(request); }, client_);
  }

 private:
  std::variant<control::ControlClient, agent::monitor::MonitorClient> client_;
};

namespace {

QString connect_error(const QString& path, const control::ClientError& error) {
  QString why;
  switch (error.kind) {
    case control::ClientError::Kind::NoSocket: why = "no agent socket (is wardd running?)"; break;
    case control::ClientError::Kind::PermissionDenied: why = "permission denied (are you in the ward group?)"; break;
    default: why = "cannot connect"; break;
  }
  return path + ": " + why + ": " + QString::fromStdString(error.message);
}

}  // namespace

Expected<AgentTarget, QString> agent_target_from(const QString& address, const QString& certificate,
                                                 const QString& private_key, const QString& ca) {
  const bool any_file = !certificate.isEmpty() || !private_key.isEmpty() || !ca.isEmpty();
  if (address.startsWith('/')) {
    if (any_file) return unexpected(address + " is a control socket: --cert, --key and --ca are for a TLS monitor endpoint (host:port)");
    return AgentTarget{address, std::nullopt};
  }
  if (!is_host_port(address)) {
    return unexpected("'" + address + "' is neither a control socket path (/...) nor a monitor endpoint host:port");
  }
  QStringList missing;
  if (certificate.isEmpty()) missing << "--cert";
  if (private_key.isEmpty()) missing << "--key";
  if (ca.isEmpty()) missing << "--ca";
  if (!missing.isEmpty()) return unexpected(address + " is a TLS monitor endpoint: " + missing.join(", ") + " missing");
  return AgentTarget{address, agent::monitor::TlsFiles{certificate.toStdString(), private_key.toStdString(), ca.toStdString()}};
}

Expected<std::unique_ptr<AgentLink>, QString> open_agent(const AgentTarget& target) {
  if (target.tls) {
    auto client = agent::monitor::MonitorClient::connect(target.address.toStdString(), *target.tls, kAgentTimeout);
    if (!client) {
      return unexpected(target.address + ": cannot reach the TLS monitor endpoint: " +
                        QString::fromStdString(client.error().message));
    }
    return std::make_unique<AgentLink>(std::move(client).value());
  }
  auto client = control::ControlClient::connect(target.address.toStdString(), kAgentTimeout);
  if (!client) return unexpected(connect_error(target.address, client.error()));
  return std::make_unique<AgentLink>(std::move(client).value());
}

Expected<nlohmann::json, QString> call_agent(AgentLink& link, const control::Request& request) {
  const auto command = QString::fromUtf8(control::name_of(control::command_of(request)));
  auto response = link.call(request);
  if (!response) return unexpected(command + ": " + QString::fromStdString(response.error().message));
  if (!response->ok) {
    return unexpected(command + " refused (" + QString::fromUtf8(control::name_of(response->code)) +
                      "): " + QString::fromStdString(response->error));
  }
  return std::move(response->result);
}

AgentSnapshot read_agent(const AgentTarget& target, const SnapshotRequest& request) {
  AgentSnapshot snapshot;
  auto link = open_agent(target);
  if (!link) {
    snapshot.error = link.error();
    return snapshot;
  }
  auto sa = call_agent(**link, control::ShowSaRequest{});
  if (!sa) {
    snapshot.error = target.address + ": " + sa.error();
    return snapshot;
  }
  auto policy = call_agent(**link, control::ShowPolicyRequest{});
  if (!policy) {
    snapshot.error = target.address + ": " + policy.error();
    return snapshot;
  }
  if (request.filters) {
    auto filters = call_agent(**link, control::ShowFiltersRequest{control::FilterView::Specific});
    if (!filters) {
      snapshot.error = target.address + ": " + filters.error();
      return snapshot;
    }
    snapshot.filters = filters->value("filters", nlohmann::json::array());
  }
  if (request.events_since) {
    auto events = call_agent(**link, control::ShowEventsRequest{request.events_since});
    if (!events) {
      snapshot.error = target.address + ": " + events.error();
      return snapshot;
    }
    snapshot.events = events->value("events", nlohmann::json::array());
  }
  snapshot.sa = std::move(sa).value();
  snapshot.policy = std::move(policy).value();
  return snapshot;
}

QString explain_on_agent(const AgentTarget& target, const model::PacketTuple& packet) {
  auto link = open_agent(target);
  if (!link) return "Cannot explain: " + link.error();
  auto result = call_agent(**link, control::ExplainRequest{packet});
  if (!result) return "Cannot explain: " + result.error();
  try {
    return QString::fromStdString(agent::explain::render_explanation_text(nlohmann::ordered_json::parse(result->dump())));
  } catch (const nlohmann::json::exception& error) {
    return "Cannot explain: the agent's answer is not an explanation (" + QString::fromUtf8(error.what()) + ")";
  }
}

}  // namespace ward::gui
