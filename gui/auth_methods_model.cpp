#include "gui/auth_methods_model.h"

#include "gui/display_text.h"

namespace ward::gui {

QStringList AuthMethodsModel::headers() const { return {"Method", "Details"}; }

QString AuthMethodsModel::text(const model::AuthMethod& method, int column) const {
  if (column == kMethod) return label(method.kind);
  if (column != kDetails) return {};
  switch (method.kind) {
    case model::AuthKind::Kerberos: return "Active Directory default (Kerberos V5)";
    case model::AuthKind::Certificate: return "CA: " + qs(method.ca_name);
    case model::AuthKind::PresharedKey:
      return method.preshared_key.empty() ? QString("key not set") : QString("key set (hidden)");
  }
  return {};
}

}  // namespace ward::gui
