// How the editor shows model values: labels for the enumerations a person picks from, and one-line
// summaries of addresses, ports, methods. Algorithm names are the model's own (names.h).
#pragma once

#include <string>

#include <QString>

#include "directory/model/policy.h"

namespace ward::gui {

inline QString qs(const std::string& text) { return QString::fromStdString(text); }

QString label(model::AddressKind kind);
QString label(model::AuthKind kind);
QString label(model::ConnectionType type);
QString label(model::ActionKind kind);

QString address_text(const model::AddressSpec& spec);
QString ports_text(const model::PortRange& ports);
QString protocol_label(std::uint8_t protocol);
QString key_exchange_method_text(const model::KeyExchangeMethod& method);
QString security_method_text(const model::SecurityMethod& method);
QString auth_method_text(const model::AuthMethod& method);  // never shows a preshared key
QString auth_methods_text(const std::vector<model::AuthMethod>& methods);

}  // namespace ward::gui
