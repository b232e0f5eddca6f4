#include "agent/daemon/log.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>

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

// syslog(3) priorities.
int priority_of(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::Error: return 3;
    case config::LogLevel::Warning: return 4;
    case config::LogLevel::Info: return 6;
    case config::LogLevel::Debug: return 7;
  }
  return 6;
}

// "event key=value ..." (format_log_line without "level=... " and the newline).
std::string message_of(std::string_view event, std::span<const LogField> fields) {
  std::string message = quoted_if_needed(event) + ":";
  for (const auto& [key, value] : fields) {
    message += ' ';
    message += key;
    message += '=';
    message += quoted_if_needed(value);
  }
  return message;
}

}  // namespace

std::string format_log_line(config::LogLevel level, std::string_view event, std::span<const LogField> fields) {
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

std::string journal_message_id(std::string_view event) {
  const std::string input = "ward/wardd/" + std::string(event);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 || length < 16) return {};
  std::string hex(32, '0');
  for (std::size_t i = 0; i < 16; ++i) std::snprintf(&hex[2 * i], 3, "%02x", digest[i]);
  return hex;
}

std::string spi_text(std::uint32_t spi) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", spi);
  return text;
}

std::string journal_field_name(std::string_view key) {
  std::string name = "WARD_";
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    name.push_back(std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_');
  }
  constexpr std::size_t kMaxFieldName = 64;  // the journal's limit
  if (name.size() > kMaxFieldName) name.resize(kMaxFieldName);
  return name;
}

std::vector<std::string> journal_fields(config::LogLevel level, std::string_view event, std::span<const LogField> fields) {
  std::vector<std::string> out;
  out.reserve(fields.size() + 5);
  out.push_back("MESSAGE=" + message_of(event, fields));
  out.push_back("PRIORITY=" + std::to_string(priority_of(level)));
  out.push_back("MESSAGE_ID=" + journal_message_id(event));
  out.push_back("SYSLOG_IDENTIFIER=wardd");
  out.push_back("WARD_EVENT=" + std::string(event));
  for (const auto& [key, value] : fields) out.push_back(journal_field_name(key) + "=" + value);
  return out;
}

bool Logger::use_journal_if_connected() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // "<device>:<inode>" of the journal's socket
  if (stream == nullptr) return false;
  struct stat err {};
  if (::fstat(STDERR_FILENO, &err) != 0) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  if (device != static_cast<unsigned long long>(err.st_dev) || inode != static_cast<unsigned long long>(err.st_ino)) return false;
  journal_ = true;
  return true;
}

void Logger::log(config::LogLevel level, std::string_view event, std::span<const LogField> fields) {
  if (static_cast<int>(level) > static_cast<int>(threshold_)) return;
  if (capture_) {
    capture_(level, event, fields);
    return;
  }
  if (journal_) {
    const auto entries = journal_fields(level, event, fields);
    std::vector<iovec> vectors;
    vectors.reserve(entries.size());
    for (const auto& entry : entries) vectors.push_back({const_cast<char*>(entry.data()), entry.size()});
    if (sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size())) >= 0) return;
    // The journal refused (gone, full): the line still goes to stderr below.
  }
  const std::string line = format_log_line(level, event, fields);
  std::lock_guard lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace ward::agent::daemon
