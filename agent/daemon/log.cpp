#include "agent/daemon/log.h"

#include <algorithm>

namespace ward::agent::daemon {
namespace {

std::string quoted_if_needed(std::string_view value) {
  std::string clean;
  clean.reserve(value.size());
  for (char c : value) clean.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  const bool plain = !clean.empty() && std::none_of(clean.begin(), clean.end(), [](char c) {
    return c == ' ' || c == '"' || c == '=' || c == '\\';
  });
  if (plain) return clean;
  std::string out = "\"";
  for (char c : clean) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string format_log_line(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  std::string line = "level=";
  line += config::name_of(level);
  line += " event=";
  line += quoted_if_needed(event);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    line += quoted_if_needed(value);
  }
  line += '\n';
  return line;
}

void Logger::log(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) > static_cast<int>(threshold_)) return;
  const std::string line = format_log_line(level, event, fields);
  std::lock_guard lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace ward::agent::daemon
