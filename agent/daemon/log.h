// wardd's log: one structured line per event on stderr, `level=info event=policy-applied key=value ...`.
// Values with blanks, quotes or '=' are double-quoted with \" and \\ escaped; control characters
// become spaces so one event is one line. Callers never pass secrets (preshared keys stay in the
// policy objects and are never a field).
//
// Under systemd (stderr is the journal's stream, as $JOURNAL_STREAM says) each event goes to the
// journal instead, through its native protocol (sd_journal_sendv), with fields a query can use:
//   MESSAGE       "policy-applied: policy=... source=..." (the line without its level)
//   PRIORITY      3 error, 4 warning, 6 info, 7 debug
//   MESSAGE_ID    a fixed 128-bit id per event name (journal_message_id), so
//                 `journalctl MESSAGE_ID=...` finds every policy-applied across restarts
//   SYSLOG_IDENTIFIER=wardd, WARD_EVENT=<event>, and WARD_<KEY>=<value> for each field
//                 (`journalctl -u wardd WARD_EVENT=ike-failure WARD_PEER=10.20.1.7`)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/config/config.h"

namespace ward::agent::daemon {

using LogField = std::pair<std::string_view, std::string>;

std::string format_log_line(config::LogLevel level, std::string_view event, std::span<const LogField> fields);
inline std::string format_log_line(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  return format_log_line(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}

// The journal fields of one event, each "NAME=value" (values verbatim: the journal's native
// protocol carries any bytes, newlines included).
std::vector<std::string> journal_fields(config::LogLevel level, std::string_view event, std::span<const LogField> fields);
inline std::vector<std::string> journal_fields(config::LogLevel level, std::string_view event,
                                               std::initializer_list<LogField> fields) {
  return journal_fields(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}
// 32 lowercase hex digits: the first 128 bits of SHA-256("ward/wardd/" + event).
std::string journal_message_id(std::string_view event);
// "peer" -> "WARD_PEER", "moved_to" -> "WARD_MOVED_TO"; other characters become '_'.
std::string journal_field_name(std::string_view key);
// An SPI as logs and wardctl show it: "0x" and eight hex digits.
std::string spi_text(std::uint32_t spi);

class Logger {
 public:
  explicit Logger(std::ostream& out, config::LogLevel threshold = config::LogLevel::Info) : out_(out), threshold_(threshold) {}
  void set_threshold(config::LogLevel threshold) noexcept { threshold_ = threshold; }

  // Sends events to the journal from now on when stderr is connected to it ($JOURNAL_STREAM
  // names stderr's device and inode); returns whether it does.
  bool use_journal_if_connected();

  // From now on every event at or above the threshold goes to `capture` instead (wardd's directory
  // fetcher hands its events to wardd, which logs them). Set before any other thread logs.
  using Capture = std::function<void(config::LogLevel level, std::string_view event, std::span<const LogField> fields)>;
  void capture_to(Capture capture) { capture_ = std::move(capture); }

  void log(config::LogLevel level, std::string_view event, std::span<const LogField> fields);
  void log(config::LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {}) {
    log(level, event, std::span<const LogField>(fields.begin(), fields.size()));
  }
  void error(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Error, event, fields); }
  void warning(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Warning, event, fields); }
  void info(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Info, event, fields); }
  void debug(std::string_view event, std::initializer_list<LogField> fields = {}) { log(config::LogLevel::Debug, event, fields); }

 private:
  std::ostream& out_;
  config::LogLevel threshold_;
  std::atomic<bool> journal_{false};
  Capture capture_;
  std::mutex mutex_;  // the dataplane's and the control server's threads log too
};

}  // namespace ward::agent::daemon
