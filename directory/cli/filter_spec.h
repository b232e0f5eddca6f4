// Parsing of the filter options shared by `filter add` and `filterlist add`.
#pragma once

#include <string>

#include "common/expected.h"
#include "directory/cli/cli.h"

namespace ward::dircli {

// --src/--dst: me | any | <address> | <prefix> | dns:<name>; --protocol N|tcp|udp|icmp;
// --srcport/--dstport P or P-Q; --no-mirror.
Expected<model::Filter, std::string> parse_filter(const Args& args);
inline const std::vector<std::string> kFilterOptions{"src", "dst", "protocol", "srcport", "dstport", "no-mirror",
                                                     "description"};

}  // namespace ward::dircli
