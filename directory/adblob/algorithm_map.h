// The model's algorithms <-> the Windows numbers in ISAKMP security methods and quick mode
// offers. What Windows cannot express gives nullopt on the way out (the Ward extension carries
// it); unknown Windows numbers are errors on the way in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "directory/adblob/isakmp_blob.h"
#include "directory/adblob/negotiation_blob.h"
#include "directory/model/policy.h"

namespace ward::adblob {

struct MainModeLimits {
  std::uint32_t lifetime_seconds = 0;
  std::uint32_t quick_mode_limit = 0;
};

std::optional<IsakmpSecurityMethod> windows_main_mode_method(const model::KeyExchangeMethod& method,
                                                             const MainModeLimits& limits);
Expected<model::KeyExchangeMethod, std::string> model_main_mode_method(const IsakmpSecurityMethod& method);
// The methods New-DH-1..4 offer (before the listed ones); stops at the first 0.
Expected<std::vector<model::KeyExchangeMethod>, std::string> new_dh_methods(const std::array<std::uint8_t, 4>& new_dh);

std::optional<NegotiationOffer> windows_offer(const model::SecurityMethod& method, bool quick_mode_pfs);
// An offer of no security (algorithm count 0) means "fall back to clear": not a method.
Expected<model::SecurityMethod, std::string> model_security_method(const NegotiationOffer& offer);

bool uses_legacy_algorithm(const model::KeyExchangeMethod& method);
bool uses_legacy_algorithm(const model::SecurityMethod& method);
// What allow_legacy_algorithms must be for this policy to validate; the AD form stores the flag
// (in the Ward extension of the ipsecPolicy blob) only when it differs from this.
bool uses_legacy_algorithms(const model::Policy& policy);

}  // namespace ward::adblob
