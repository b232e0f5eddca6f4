#include "gui/key_exchange_methods_model.h"

#include "gui/enum_combo.h"

namespace ward::gui {

QStringList KeyExchangeMethodsModel::headers() const { return {"Encryption", "Integrity", "Diffie-Hellman group"}; }

QString KeyExchangeMethodsModel::text(const model::KeyExchangeMethod& method, int column) const {
  switch (column) {
    case kCipher: return enum_name(method.cipher);
    case kIntegrity: return enum_name(method.integrity);
    case kDhGroup: return enum_name(method.dh_group) + " (group " + QString::number(static_cast<int>(method.dh_group)) + ")";
    default: return {};
  }
}

}  // namespace ward::gui
