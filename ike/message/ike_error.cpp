#include "ike/message/ike_error.h"

namespace ward::ike {

IkeError refusal(NotifyMessageType type, std::string_view detail) {
  return IkeError{type, std::string(name(type)) + ": " + std::string(detail)};
}

std::ostream& operator<<(std::ostream& out, const IkeError& error) { return out << error.text; }

}  // namespace ward::ike
