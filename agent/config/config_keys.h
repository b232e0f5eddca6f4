// ward.conf's keys: for each [section] key, whether it may repeat and how its value is checked
// and stored in Config. parse_config (config.cpp) reads the lines; this table says what they mean.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"

namespace ward::agent::config::detail {

using Setter = std::function<std::optional<std::string>(Config&, std::string_view)>;  // error or nothing

struct KeySpec {
  std::string_view section;
  std::string_view key;
  bool repeatable;
  Setter set;
};

const std::vector<KeySpec>& key_table();
bool known_section(std::string_view section);
std::string_view trim(std::string_view s);

}  // namespace ward::agent::config::detail
