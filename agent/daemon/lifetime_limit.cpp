#include "agent/daemon/lifetime_limit.h"

#include <algorithm>

namespace ward::agent::daemon {

namespace {

constexpr int kSoftNumerator = 2;  // the soft expiry at two thirds of the limit
constexpr int kSoftDenominator = 3;

std::chrono::seconds at_most(std::chrono::seconds value, std::chrono::seconds limit) {
  return value.count() == 0 ? limit : std::min(value, limit);
}

}  // namespace

driver::SaLifetime limit_lifetime(const driver::SaLifetime& negotiated, std::chrono::seconds limit) {
  if (limit.count() <= 0) return negotiated;
  auto out = negotiated;
  out.hard_time = at_most(negotiated.hard_time, limit);
  out.soft_time = at_most(negotiated.soft_time, std::max(std::chrono::seconds(1), limit * kSoftNumerator / kSoftDenominator));
  out.soft_time = std::min(out.soft_time, out.hard_time);
  return out;
}

}  // namespace ward::agent::daemon
