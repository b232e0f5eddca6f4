#include "ike/service/phase1_renewal.h"

#include <algorithm>

namespace ward::ike::service {

std::chrono::milliseconds renewal_margin(std::chrono::seconds lifetime, auth::Role role) noexcept {
  const auto tenth = std::chrono::duration_cast<std::chrono::milliseconds>(lifetime) / 10;
  const auto margin = std::min<std::chrono::milliseconds>(tenth, kMaxRenewalMargin);
  return role == auth::Role::Initiator ? margin : margin / 2;
}

sa::TimePoint renewal_time(sa::TimePoint established, std::chrono::seconds lifetime, auth::Role role) noexcept {
  return established + lifetime - renewal_margin(lifetime, role);
}

}  // namespace ward::ike::service
