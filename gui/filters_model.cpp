#include "gui/filters_model.h"

#include "gui/display_text.h"

namespace ward::gui {

QStringList FiltersModel::headers() const {
  return {"Description", "Source", "Destination", "Protocol", "Source port", "Destination port", "Mirrored"};
}

QString FiltersModel::text(const model::Filter& filter, int column) const {
  switch (column) {
    case kDescription: return qs(filter.description);
    case kSource: return address_text(filter.source);
    case kDestination: return address_text(filter.destination);
    case kProtocol: return protocol_label(filter.protocol);
    case kSourcePorts: return ports_text(filter.source_ports);
    case kDestinationPorts: return ports_text(filter.destination_ports);
    case kMirrored: return filter.mirrored ? "Yes" : "No";
    default: return {};
  }
}

}  // namespace ward::gui
