// The list of agents the helpdesk keeps for the fleet view: a text file, one agent a line,
//   ENDPOINT [NAME [ADDRESS]]
// ENDPOINT is a local control socket path (/run/ward/control.sock) or a TLS monitor endpoint
// (host:port, [v6]:port); NAME labels the row (default: the endpoint); ADDRESS is the host's
// IPsec address, which the two-host view uses to pick the SAs between two hosts. Blank lines and
// '#' comments are skipped. One set of TLS files (the helpdesk's certificate) serves every endpoint.
#pragma once

#include <vector>

#include <QString>

#include "common/expected.h"

namespace ward::gui {

struct FleetEntry {
  QString endpoint;
  QString name;
  QString address;  // may be empty
  bool tls = false;  // a host:port monitor endpoint (not a local socket)
};

// Errors name the line and what is wrong with it ("line 3: 'agent7' is neither ...").
Expected<std::vector<FleetEntry>, QString> parse_fleet_list(const QString& text);
QString format_fleet_list(const std::vector<FleetEntry>& entries);

// "host:port" / "[v6]:port" with a port 1..65535; false for anything else.
bool is_host_port(const QString& endpoint);

}  // namespace ward::gui
