// wardd's log: one structured line per event on stderr, `level=info event=policy-applied key=value ...`.
// Values with blanks, quotes or '=' are double-quoted with \" and \\ escaped; control characters
// become spaces so one event is one line. Callers never pass secrets (preshared keys stay in the
// policy objects and are never a field).
#pragma once

#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "agent/config/config.h"

namespace ward::agent::daemon {

using LogField = std::pair<std::string_view, std::string>;

std::string format_log_line(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields);

class Logger {
 public:
  explicit Logger(std::ostream& out, config::LogLevel threshold = config::LogLevel::Info) : out_(out), threshold_(threshold) {}
  void set_threshold(config::LogLevel threshold) noexcept { threshold_ = threshold; }

  void log(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
  void error(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Error, event, fields); }
  void warning(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Warning, event, fields); }
  void info(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Info, event, fields); }
  void debug(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Debug, event, fields); }

 private:
  std::ostream& out_;
  config::LogLevel threshold_;
  std::mutex mutex_;  // the dataplane's and the control server's threads log too
};

}  // namespace ward::agent::daemon
