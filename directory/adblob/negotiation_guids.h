// Values of iPSECNegotiationPolicyType and iPSECNegotiationPolicyAction (MS-GPIPSEC 2.2.1.4.1),
// stored as curly-braced GUID strings; compare them case-insensitively (parse, then compare).
#pragma once

#include "directory/adblob/guid_layout.h"

namespace ward::adblob {

namespace negotiation_type {
inline const model::Guid kStandard = known_guid("{62F49E10-6C37-11D1-864C-14A300000000}");
inline const model::Guid kDefaultResponse = known_guid("{62F49E13-6C37-11D1-864C-14A300000000}");
}  // namespace negotiation_type

namespace negotiation_action {
inline const model::Guid kBlock = known_guid("{3F91A819-7647-11D1-864D-D46A00000000}");
inline const model::Guid kPermit = known_guid("{8A171DD2-77E3-11D1-8659-A04F00000000}");
inline const model::Guid kSecure = known_guid("{8A171DD3-77E3-11D1-8659-A04F00000000}");
inline const model::Guid kInboundPassThrough = known_guid("{3F91A81A-7647-11D1-864D-D46A00000000}");
}  // namespace negotiation_action

}  // namespace ward::adblob
