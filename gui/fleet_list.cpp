#include "gui/fleet_list.h"

#include <QRegularExpression>

#include "common/ip.h"
#include "gui/port_editor.h"

namespace ward::gui {

namespace {
constexpr int kMaxFields = 3;
}  // namespace

bool is_host_port(const QString& endpoint) {
  static const QRegularExpression kHostPort(R"(^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$)");
  const auto match = kHostPort.match(endpoint);
  if (!match.hasMatch()) return false;
  const int port = match.captured(2).toInt();
  return port >= 1 && port <= kMaxPort;
}

Expected<std::vector<FleetEntry>, QString> parse_fleet_list(const QString& text) {
  std::vector<FleetEntry> out;
  const auto lines = text.split('\n');
  for (int index = 0; index < lines.size(); ++index) {
    QString line = lines[index];
    if (const auto hash = line.indexOf('#'); hash >= 0) line.truncate(hash);
    const auto fields = line.split(QRegularExpression(R"(\s+)"), Qt::SkipEmptyParts);
    if (fields.isEmpty()) continue;
    const QString where = QString("line %1: ").arg(index + 1);
    if (fields.size() > kMaxFields) {
      return unexpected(where + "expected ENDPOINT [NAME [ADDRESS]], found " + QString::number(fields.size()) + " fields");
    }
    FleetEntry entry;
    entry.endpoint = fields[0];
    entry.tls = !entry.endpoint.startsWith('/');
    if (entry.tls && !is_host_port(entry.endpoint)) {
      return unexpected(where + "'" + entry.endpoint + "' is neither a control socket path (/...) nor a monitor endpoint host:port");
    }
    entry.name = fields.value(1, entry.endpoint);
    entry.address = fields.value(2);
    if (!entry.address.isEmpty() && !IpAddress::parse(entry.address.toStdString())) {
      return unexpected(where + "address '" + entry.address + "' is not an IP address");
    }
    for (const auto& other : out) {
      if (other.endpoint == entry.endpoint) return unexpected(where + "'" + entry.endpoint + "' is listed twice");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

QString format_fleet_list(const std::vector<FleetEntry>& entries) {
  QString out = "# Ward agents for the Security Monitor's fleet view: ENDPOINT [NAME [ADDRESS]]\n";
  for (const auto& entry : entries) {
    out += entry.endpoint;
    if (entry.name != entry.endpoint || !entry.address.isEmpty()) out += " " + entry.name;
    if (!entry.address.isEmpty()) out += " " + entry.address;
    out += "\n";
  }
  return out;
}

}  // namespace ward::gui
