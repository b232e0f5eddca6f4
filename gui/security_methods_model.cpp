#include "gui/security_methods_model.h"

#include "gui/enum_combo.h"

namespace ward::gui {

QStringList SecurityMethodsModel::headers() const {
  return {"Type", "AH integrity", "ESP encryption", "ESP integrity", "Lifetime (KB)", "Lifetime (s)"};
}

QString SecurityMethodsModel::text(const model::SecurityMethod& method, int column) const {
  switch (column) {
    case kType: return method.ah && method.esp ? "AH + ESP" : method.ah ? "AH" : method.esp ? "ESP" : "(none)";
    case kAhIntegrity: return method.ah ? enum_name(method.ah->integrity) : QString("-");
    case kEspCipher: return method.esp ? enum_name(method.esp->cipher) : QString("-");
    case kEspIntegrity: return method.esp ? enum_name(method.esp->integrity) : QString("-");
    case kLifetimeKilobytes: return QString::number(method.lifetime_kilobytes);
    case kLifetimeSeconds: return QString::number(method.lifetime_seconds);
    default: return {};
  }
}

}  // namespace ward::gui
