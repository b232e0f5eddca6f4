#include "gui/display_text.h"

#include <QStringList>

#include "directory/model/names.h"
#include "directory/model/table_text.h"

namespace ward::gui {

namespace {
template <class E>
QString name(E value) {
  return QString::fromUtf8(model::name_of(value).data(), static_cast<qsizetype>(model::name_of(value).size()));
}
}  // namespace

QString label(model::AddressKind kind) {
  switch (kind) {
    case model::AddressKind::MyAddress: return "My IP address";
    case model::AddressKind::Any: return "Any IP address";
    case model::AddressKind::Host: return "A specific IP address";
    case model::AddressKind::Subnet: return "A specific IP subnet";
    case model::AddressKind::DnsName: return "A specific DNS name";
    case model::AddressKind::DnsServers: return "DNS servers";
    case model::AddressKind::WinsServers: return "WINS servers";
    case model::AddressKind::DhcpServer: return "DHCP server";
    case model::AddressKind::DefaultGateway: return "Default gateway";
  }
  return "?";
}

QString label(model::AuthKind kind) {
  switch (kind) {
    case model::AuthKind::Kerberos: return "Kerberos";
    case model::AuthKind::Certificate: return "Certificate";
    case model::AuthKind::PresharedKey: return "Preshared key";
  }
  return "?";
}

QString label(model::ConnectionType type) {
  switch (type) {
    case model::ConnectionType::All: return "All network connections";
    case model::ConnectionType::Lan: return "Local area network (LAN)";
    case model::ConnectionType::RemoteAccess: return "Remote access";
  }
  return "?";
}

QString label(model::ActionKind kind) {
  switch (kind) {
    case model::ActionKind::Permit: return "Permit";
    case model::ActionKind::Block: return "Block";
    case model::ActionKind::Negotiate: return "Negotiate security";
  }
  return "?";
}

QString address_text(const model::AddressSpec& spec) {
  switch (spec.kind) {
    case model::AddressKind::MyAddress: return "my address";
    case model::AddressKind::Any: return "any";
    case model::AddressKind::Host: return spec.prefix ? qs(spec.prefix->address().to_string()) : "host (unset)";
    case model::AddressKind::Subnet: return spec.prefix ? qs(spec.prefix->to_string()) : "subnet (unset)";
    case model::AddressKind::DnsName: return qs(spec.dns_name);
    default: return label(spec.kind);
  }
}

QString ports_text(const model::PortRange& ports) { return ports.is_any() ? "any" : qs(ports.to_string()); }

QString protocol_label(std::uint8_t protocol) { return qs(model::protocol_text(protocol)); }

QString key_exchange_method_text(const model::KeyExchangeMethod& method) {
  return name(method.cipher) + " / " + name(method.integrity) + " / " + name(method.dh_group);
}

QString security_method_text(const model::SecurityMethod& method) {
  QStringList parts;
  if (method.ah) parts << "AH " + name(method.ah->integrity);
  if (method.esp) parts << "ESP " + name(method.esp->cipher) + "/" + name(method.esp->integrity);
  if (parts.isEmpty()) parts << "(none)";
  return parts.join(" + ");
}

QString auth_method_text(const model::AuthMethod& method) {
  switch (method.kind) {
    case model::AuthKind::Kerberos: return "Kerberos";
    case model::AuthKind::Certificate: return "Certificate (CA: " + qs(method.ca_name) + ")";
    case model::AuthKind::PresharedKey: return method.preshared_key.empty() ? "Preshared key (not set)" : "Preshared key";
  }
  return "?";
}

QString auth_methods_text(const std::vector<model::AuthMethod>& methods) {
  QStringList parts;
  for (const auto& method : methods) parts << label(method.kind);
  return parts.join(", ");
}

}  // namespace ward::gui
