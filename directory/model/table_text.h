// Text rendering of a compiled filter table, for the demo and the helpdesk CLI.
#pragma once

#include <string>

#include "directory/model/compile.h"

namespace ward::model {

std::string protocol_text(std::uint8_t protocol);
std::string format_compiled_table(const Policy& policy, const CompiledTable& table);

}  // namespace ward::model
