// The model uses the common IP value types; this keeps the model's names for them.
#pragma once

#include "common/ip.h"

namespace ward::model {
using ward::IpAddress;
using ward::IpFamily;
using ward::IpPrefix;
using ward::PortRange;
}  // namespace ward::model
